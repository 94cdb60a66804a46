package controllers

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
)

// FieldOwner is the server-side apply field manager for everything Silo writes.
const FieldOwner = "silo"

// Config is the operator's configuration: what builders need besides the Tenant.
// It comes from flags (and so from Helm values) and never changes while running.
type Config struct {
	// OperatorNamespace is where the operator runs; external service Secrets live here.
	OperatorNamespace string
	// Images are the pinned default images of managed components.
	Images Images
	// Platform are the platform's settings for what a tenant's app may ask for.
	Platform Platform
	// RegionStorageClasses maps a region to the StorageClass of its volumes.
	RegionStorageClasses map[string]string
	// IngressNamespace is the namespace of the ingress controller allowed to reach apps.
	IngressNamespace string
	// DNSNamespace is the namespace of cluster DNS (kube-system).
	DNSNamespace string
	// DefaultQuota is the hard quota for fields a Tenant leaves unset.
	DefaultQuota corev1.ResourceList
	// DefaultLimits and DefaultRequests are the namespace LimitRange's defaults for
	// containers that set none (cpu, memory, ephemeral-storage).
	DefaultLimits, DefaultRequests corev1.ResourceList
	// Clock tells the time for rollout deadlines and soaks; nil is the real clock.
	// Tests set a fake one.
	Clock clock.PassiveClock
	// Guardrails are the platform's allow-lists that Silo's admission policies
	// enforce in every tenant namespace.
	Guardrails Guardrails
}

// Guardrails are the platform's allow-lists. The operator copies them onto every
// tenant namespace as silo.dev/ annotations, which the admission policies read (a
// policy on a pod can read the pod's namespace, not the operator's flags), so they
// hold while the operator is stopped.
type Guardrails struct {
	// PriorityClasses are the PriorityClasses tenant pods may name, besides the
	// cluster's globalDefault class. Empty by default: pod priority decides whom the
	// scheduler evicts, across tenants.
	PriorityClasses []string
	// DefaultPriorityClass, when set, is the PriorityClass of every managed workload
	// (app, workers, queue, cache, database); tenant pods may name it too.
	DefaultPriorityClass string
	// Tolerations are the taint keys tenant pods may tolerate besides
	// node.kubernetes.io/* and their own node pool; an entry ending in "/" is a prefix.
	Tolerations []string
	// ExtendedResources are the extended resources (GPUs, say) capped at 0 in every
	// tenant's quota unless its Tenant grants them (spec.quota.extended).
	ExtendedResources []string
	// IngressAnnotations are the annotation keys tenant Ingresses may carry; an entry
	// ending in "/" is a prefix. Snippets, server-alias, auth-url, auth-signin and
	// mirror-* are refused whatever this says.
	IngressAnnotations []string
	// RoleBindingServiceAccountNamespaces are the namespaces (besides the tenant's
	// own) whose ServiceAccounts owners may name in their own RoleBindings: a
	// platform's CI or monitoring, say. Empty by default.
	RoleBindingServiceAccountNamespaces []string
}

// Images are the default images of the managed components, pinned by tag.
type Images struct {
	NATS     string
	Valkey   string
	Postgres string
	// ExportUploader uploads exports to object storage: it needs a shell and curl
	// (it PUTs to presigned URLs, it holds no credentials).
	ExportUploader string
}

// DefaultConfig returns the configuration the operator's flags default to.
func DefaultConfig() Config {
	return Config{
		OperatorNamespace: "silo-system",
		Images: Images{
			NATS:     "docker.io/library/nats:2.11.6-alpine",
			Valkey:   "docker.io/valkey/valkey:8.1.3-alpine",
			Postgres: "docker.io/library/postgres:17.5-alpine",
			// Runs as a non-root user, has busybox sh; about 10 MB.
			ExportUploader: "docker.io/curlimages/curl:8.14.1",
		},
		RegionStorageClasses: map[string]string{},
		Platform:             defaultPlatform(),
		IngressNamespace:     "ingress-nginx",
		DNSNamespace:         "kube-system",
		DefaultQuota: corev1.ResourceList{
			corev1.ResourceCPU:                    resource.MustParse("4"),
			corev1.ResourceMemory:                 resource.MustParse("8Gi"),
			corev1.ResourceEphemeralStorage:       resource.MustParse("20Gi"),
			corev1.ResourceRequestsStorage:        resource.MustParse("50Gi"),
			corev1.ResourcePods:                   resource.MustParse("50"),
			corev1.ResourceServices:               resource.MustParse("20"),
			corev1.ResourceSecrets:                resource.MustParse("50"),
			corev1.ResourceConfigMaps:             resource.MustParse("50"),
			corev1.ResourcePersistentVolumeClaims: resource.MustParse("20"),
		},
		// Small enough that a pod without resources still fits the quota, large
		// enough to start a typical process.
		DefaultLimits: corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse("500m"),
			corev1.ResourceMemory:           resource.MustParse("512Mi"),
			corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
		},
		DefaultRequests: corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse("100m"),
			corev1.ResourceMemory:           resource.MustParse("128Mi"),
			corev1.ResourceEphemeralStorage: resource.MustParse("100Mi"),
		},
		Guardrails: Guardrails{
			ExtendedResources:  []string{"amd.com/gpu", "nvidia.com/gpu"},
			IngressAnnotations: []string{"cert-manager.io/"},
		},
	}
}

// ParseResourceList overrides entries of base with "name=quantity" pairs, as given
// to --default-quota, --default-container-limit and --default-container-request;
// names must be among base's.
func ParseResourceList(pairs []string, base corev1.ResourceList) (corev1.ResourceList, error) {
	out := base.DeepCopy()
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		q, err := resource.ParseQuantity(value)
		if !ok || err != nil || q.Sign() <= 0 {
			return nil, fmt.Errorf("invalid resource %q: want name=quantity with a positive quantity, for example cpu=4 or memory=8Gi", p)
		}
		if _, known := base[corev1.ResourceName(name)]; !known {
			return nil, fmt.Errorf("unknown resource %q in %q: want one of %s", name, p, strings.Join(sortedKeys(resourceNames(base)), ", "))
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}

func resourceNames(l corev1.ResourceList) map[string]bool {
	out := make(map[string]bool, len(l))
	for k := range l {
		out[string(k)] = true
	}
	return out
}

// StorageClassFor returns the StorageClass for volumes in region, or "" for the
// cluster default.
func (c *Config) StorageClassFor(region string) string {
	if region == "" {
		return ""
	}
	return c.RegionStorageClasses[region]
}

// ParseRegionStorageClasses parses "region=class" pairs, as given to
// --region-storage-class.
func ParseRegionStorageClasses(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		region, class, ok := strings.Cut(p, "=")
		if !ok || region == "" || class == "" {
			return nil, fmt.Errorf("invalid region storage class %q: want region=storageclass, for example eu-west-1=fast-eu", p)
		}
		if prev, dup := out[region]; dup && prev != class {
			return nil, fmt.Errorf("region %q is given two storage classes, %q and %q", region, prev, class)
		}
		out[region] = class
	}
	return out, nil
}

// SplitList splits a comma-separated flag value into its non-empty, trimmed entries.
func SplitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Validate reports every entry of the allow-lists that could never work or that
// would open a fence, each with what to write instead.
func (g *Guardrails) Validate() error {
	var errs []error
	for _, c := range append(append([]string(nil), g.PriorityClasses...), g.DefaultPriorityClass) {
		if c == "" {
			continue
		}
		if msgs := validation.IsDNS1123Subdomain(c); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("priority class %q is not a PriorityClass name: %s", c, strings.Join(msgs, "; ")))
		}
	}
	for _, k := range g.Tolerations {
		if err := validKeyOrPrefix(k); err != nil {
			errs = append(errs, fmt.Errorf("toleration %q: %w", k, err))
		} else if strings.HasPrefix(k, "silo.dev/") {
			errs = append(errs, fmt.Errorf("toleration %q: silo.dev/ taints are Silo's own (silo.dev/node-pool "+
				"keeps one tenant's dedicated nodes to itself) and cannot be allowed to every tenant", k))
		}
	}
	for _, r := range g.ExtendedResources {
		if err := validExtendedResource(r); err != nil {
			errs = append(errs, fmt.Errorf("extended resource %q: %w", r, err))
		}
	}
	for _, k := range g.IngressAnnotations {
		if err := validKeyOrPrefix(k); err != nil {
			errs = append(errs, fmt.Errorf("ingress annotation %q: %w", k, err))
		} else if neverIngressAnnotation(k) {
			errs = append(errs, fmt.Errorf("ingress annotation %q is never allowed: snippets, server-alias, auth-url, "+
				"auth-signin and mirror-* make the shared ingress controller serve or send requests for other tenants", k))
		}
	}
	for _, ns := range g.RoleBindingServiceAccountNamespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("ServiceAccount namespace %q is not a namespace name: %s", ns, strings.Join(msgs, "; ")))
		}
	}
	return errors.Join(errs...)
}

// validKeyOrPrefix accepts a label-style key (example.com/name) or a prefix of keys
// ending in "/" (example.com/).
func validKeyOrPrefix(k string) error {
	if domain, ok := strings.CutSuffix(k, "/"); ok {
		if msgs := validation.IsDNS1123Subdomain(domain); len(msgs) > 0 {
			return fmt.Errorf("a prefix must be a DNS domain followed by \"/\", such as example.com/: %s", strings.Join(msgs, "; "))
		}
		return nil
	}
	if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
		return fmt.Errorf("want a key such as example.com/name, or a prefix such as example.com/: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// validExtendedResource accepts what the API server accepts as an extended resource
// name: <domain>/<name>, outside the kubernetes.io domain.
func validExtendedResource(r string) error {
	domain, _, ok := strings.Cut(r, "/")
	switch {
	case !ok:
		return errors.New("want <domain>/<name>, for example nvidia.com/gpu")
	case domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io"):
		return errors.New("kubernetes.io resources are Kubernetes' own; the quota's other fields cap them")
	}
	if msgs := validation.IsQualifiedName(string(corev1.DefaultResourceRequestsPrefix) + r); len(msgs) > 0 {
		return fmt.Errorf("not a valid resource name: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// neverIngressAnnotation reports an ingress annotation (or prefix) that no platform
// list may allow; the policy silo-tenant-ingress-annotations refuses the same keys.
func neverIngressAnnotation(k string) bool {
	_, name, _ := strings.Cut(k, "/")
	return strings.Contains(name, "snippet") || name == "server-alias" || name == "auth-url" ||
		name == "auth-signin" || strings.HasPrefix(name, "mirror-")
}

// sortedKeys returns the keys of m in order, so builders iterate deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
