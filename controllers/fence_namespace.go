package controllers

import (
	"sort"
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Pod Security admission labels.
const (
	podSecurityEnforce = "pod-security.kubernetes.io/enforce"
	podSecurityAudit   = "pod-security.kubernetes.io/audit"
	podSecurityWarn    = "pod-security.kubernetes.io/warn"
)

// podSecurityLevel returns the Tenant's Pod Security level, restricted by default.
func podSecurityLevel(t *silov1.Tenant) string {
	if t.Spec.Isolation.PodSecurity == "" {
		return string(silov1.PodSecurityRestricted)
	}
	return string(t.Spec.Isolation.PodSecurity)
}

// buildNamespace returns the tenant namespace: labelled with its Tenant and the Pod
// Security level that admission enforces on every pod in it, and carrying the
// isolation settings (node pool, region, runtime class, image registries, ingress
// host and class, deletion protection) and the platform's allow-lists (also the
// namespaces whose ServiceAccounts owners may bind) that Silo's
// admission policies enforce, since a policy can read an object's namespace but
// neither its Tenant nor the operator's flags.
func buildNamespace(t *silov1.Tenant, cfg *Config) *corev1ac.NamespaceApplyConfiguration {
	level := podSecurityLevel(t)
	labels := commonLabels(t)
	labels[podSecurityEnforce] = level
	labels[podSecurityAudit] = level
	labels[podSecurityWarn] = level
	if pool := t.Spec.Isolation.NodePool; pool != "" {
		labels[silov1.NamespaceNodePoolLabel] = pool
	}
	if region := t.Spec.Placement.Region; region != "" {
		labels[silov1.NamespaceRegionLabel] = region
	}
	ns := corev1ac.Namespace(NamespaceFor(t)).
		WithLabels(labels).
		WithOwnerReferences(ownerRef(t))
	annotations := map[string]string{}
	if rc := t.Spec.Isolation.RuntimeClassName; rc != "" {
		annotations[silov1.RuntimeClassAnnotation] = rc
	}
	if ing := t.Spec.App.Ingress; ing != nil && ing.Host != "" {
		annotations[silov1.IngressHostAnnotation] = ing.Host
	}
	platformNamespaceAnnotations(&cfg.Platform, annotations)
	if allowed := allowedImagePrefixes(t, cfg); len(allowed) > 0 {
		annotations[silov1.AllowedRegistriesAnnotation] = strings.Join(allowed, ",")
	}
	for key, list := range map[string][]string{
		silov1.AllowedPriorityClassesAnnotation:              allowedPriorityClasses(cfg),
		silov1.AllowedTolerationsAnnotation:                  allowedTolerations(t, cfg),
		silov1.AllowedIngressAnnotationsAnnotation:           cfg.Guardrails.IngressAnnotations,
		silov1.RoleBindingServiceAccountNamespacesAnnotation: cfg.Guardrails.RoleBindingServiceAccountNamespaces,
	} {
		if len(list) > 0 {
			annotations[key] = strings.Join(list, ",")
		}
	}
	if ing := t.Spec.App.Ingress; ing != nil && ing.ClassName != "" {
		annotations[silov1.IngressClassAnnotation] = ing.ClassName
	}
	if t.Spec.DeletionProtection {
		annotations[silov1.DeletionProtectionAnnotation] = "true"
	}
	if len(annotations) > 0 {
		ns.WithAnnotations(annotations)
	}
	return ns
}

// allowedImagePrefixes returns the image prefixes pods in the tenant namespace may
// use, or nil when the Tenant sets no allow-list (any image). The repositories of the
// operator's own component images are always allowed (any tag, since a Tenant may
// pick a component version), or a Tenant with an allow-list could not run its
// managed queue, cache or database.
func allowedImagePrefixes(t *silov1.Tenant, cfg *Config) []string {
	if len(t.Spec.Isolation.AllowedRegistries) == 0 {
		return nil
	}
	out := append([]string(nil), t.Spec.Isolation.AllowedRegistries...)
	seen := make(map[string]bool, len(out))
	for _, r := range out {
		seen[r] = true
	}
	platform := []string{}
	for _, img := range []string{cfg.Images.NATS, cfg.Images.Valkey, cfg.Images.Postgres} {
		if repo := imageRepository(img); repo != "" && !seen[repo] {
			seen[repo] = true
			platform = append(platform, repo)
		}
	}
	sort.Strings(platform)
	return append(out, platform...)
}

// allowedPriorityClasses returns the PriorityClasses pods in a tenant namespace may
// name (besides the cluster's globalDefault class, which the policy reads from the
// PriorityClasses themselves): the platform's list and the managed workloads' class.
func allowedPriorityClasses(cfg *Config) []string {
	return sortedSet(append(cfg.Guardrails.PriorityClasses, cfg.Guardrails.DefaultPriorityClass))
}

// allowedTolerations returns the taint keys pods in a tenant namespace may tolerate
// besides node.kubernetes.io/* and the tenant's own pool: the platform's list, and
// the extended resources the Tenant is granted, since nodes offering one (GPU nodes)
// are usually tainted with its name to keep other pods off them.
func allowedTolerations(t *silov1.Tenant, cfg *Config) []string {
	keys := append([]string(nil), cfg.Guardrails.Tolerations...)
	for name, q := range t.Spec.Quota.Extended {
		if q.Sign() > 0 {
			keys = append(keys, name)
		}
	}
	return sortedSet(keys)
}

// sortedSet returns the non-empty entries of list, sorted and without repeats.
func sortedSet(list []string) []string {
	set := make(map[string]bool, len(list))
	for _, e := range list {
		if e != "" {
			set[e] = true
		}
	}
	return sortedKeys(set)
}

// imageRepository returns image without its tag or digest.
func imageRepository(image string) string {
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		image = image[:colon]
	}
	return image
}
