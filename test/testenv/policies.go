package testenv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// PoliciesDir is where Silo's ValidatingAdmissionPolicies live.
func PoliciesDir() string { return filepath.Join(RepoRoot(), "config", "policies") }

// probeName names the namespace and Tenant InstallPolicies probes the policies with.
const probeName = "silo-policy-probe"

// InstallPolicies creates the ValidatingAdmissionPolicies and bindings of dir (every
// .yaml file but kustomization.yaml) with the admin client c, and returns once the
// API server enforces every one of them: the API server loads a new policy a moment
// after it is stored, so each policy is probed with a dry-run request it must refuse.
// Call it before the operator starts: the probes use a tenant namespace and a Tenant
// that no operator reconciles, and remove them afterwards. It grants the operator its
// generated RBAC, since the probe of silo-operator-scope is a request of the
// operator's identity that RBAC allows and only that policy refuses.
func (e *Env) InstallPolicies(ctx context.Context, dir string) error {
	c := e.Client
	if err := GrantOperatorRBAC(ctx, c); err != nil {
		return err
	}
	opCfg, err := e.OperatorConfig()
	if err != nil {
		return err
	}
	operator, err := client.New(opCfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	var policies []string
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		fileObjs, err := ReadObjects(f)
		if err != nil {
			return err
		}
		for _, o := range fileObjs {
			if o.GetKind() == "ValidatingAdmissionPolicy" {
				policies = append(policies, o.GetName())
			}
		}
		objs = append(objs, fileObjs...)
	}
	if len(policies) == 0 {
		return fmt.Errorf("no ValidatingAdmissionPolicy in %s", dir)
	}
	sort.Strings(policies)
	for _, p := range policies {
		if probes[p] == nil {
			return fmt.Errorf("policy %s has no probe in test/testenv/policies.go: add one, so tests know when it is enforced", p)
		}
	}
	if err := createProbeObjects(ctx, c); err != nil {
		return err
	}
	for _, o := range objs {
		if err := createOrReplace(ctx, c, o); err != nil {
			return fmt.Errorf("creating %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	for _, p := range policies {
		probeClient := c
		if p == operatorScopePolicy {
			probeClient = operator
		}
		if err := waitEnforced(ctx, probeClient, p); err != nil {
			return err
		}
	}
	return deleteProbeObjects(ctx, c)
}

// waitEnforced waits until the probe of policy is refused by that policy.
func waitEnforced(ctx context.Context, c client.Client, policy string) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = probes[policy](ctx, c)
		return last != nil && strings.Contains(last.Error(), "ValidatingAdmissionPolicy '"+policy+"'"), nil
	})
	if err != nil {
		return fmt.Errorf("policy %s is not enforced after a minute (last probe: %v)", policy, last)
	}
	return nil
}

// Names of the probe objects besides probeName.
const (
	// probePlainNS is a tenant namespace without an ingress class.
	probePlainNS = probeName + "-plain"
	// probeProtectedNS is a namespace marked deletion-protected (not a tenant's, so
	// the mark can be lifted again).
	probeProtectedNS = probeName + "-protected"
	// probeClass names the probe PriorityClass and IngressClass, which no tenant
	// namespace allows.
	probeClass = probeName
	// probeHost is the ingress host of the probe namespaces.
	probeHost = "probe.invalid"
	// probeIngressClass is the ingress class of the probe namespace.
	probeIngressClass = "probe-class"
)

// createProbeObjects creates tenant namespaces with a node pool, an image
// allow-list, an ingress host and class; a namespace marked deletion-protected; a
// Tenant with deletion protection; and a PriorityClass and an IngressClass, for the
// probes.
func createProbeObjects(ctx context.Context, c client.Client) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: probeName,
			Labels: map[string]string{
				silov1.TenantLabel:            probeName,
				silov1.NamespaceNodePoolLabel: "probe-pool",
			},
			Annotations: map[string]string{
				silov1.AllowedRegistriesAnnotation:  "probe.invalid/",
				silov1.IngressHostAnnotation:        probeHost,
				silov1.IngressClassAnnotation:       probeIngressClass,
				silov1.ServiceAccountKeysAnnotation: "eks.amazonaws.com/role-arn",
				silov1.ClusterIssuersAnnotation:     "probe-issuer",
				silov1.VolumeTypesAnnotation:        "configMap",
				// cert-manager's annotations pass silo-tenant-ingress-annotations, so the
				// cluster issuers' probe is refused by that policy alone.
				silov1.AllowedIngressAnnotationsAnnotation: "cert-manager.io/",
			},
		}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:        probePlainNS,
			Labels:      map[string]string{silov1.TenantLabel: probePlainNS},
			Annotations: map[string]string{silov1.IngressHostAnnotation: probeHost},
		}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:        probeProtectedNS,
			Annotations: map[string]string{silov1.DeletionProtectionAnnotation: "true"},
		}},
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: probeClass}, Value: 1},
		&networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: probeClass},
			Spec:       networkingv1.IngressClassSpec{Controller: "silo.dev/probe"},
		},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating probe %T %s: %w", o, o.GetName(), err)
		}
	}
	t := &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: probeName},
		Spec: silov1.TenantSpec{
			App:                silov1.AppSpec{Image: "probe.invalid/app:1"},
			DeletionProtection: true,
		},
	}
	if err := c.Create(ctx, t); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating probe Tenant: %w", err)
	}
	return nil
}

// deleteProbeObjects lifts the probe Tenant's deletion protection and deletes it and
// the probe namespace.
func deleteProbeObjects(ctx context.Context, c client.Client) error {
	t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: probeName}}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"deletionProtection":false}}`))
	if err := c.Patch(ctx, t, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("lifting the probe Tenant's deletion protection: %w", err)
	}
	unmark := client.RawPatch(types.MergePatchType,
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, silov1.DeletionProtectionAnnotation)))
	protected := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeProtectedNS}}
	if err := c.Patch(ctx, protected, unmark); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("lifting the probe namespace's deletion protection: %w", err)
	}
	return errors.Join(
		client.IgnoreNotFound(c.Delete(ctx, t)),
		client.IgnoreNotFound(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeName}})),
		client.IgnoreNotFound(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probePlainNS}})),
		client.IgnoreNotFound(c.Delete(ctx, protected)),
		client.IgnoreNotFound(c.Delete(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: probeClass}})),
		client.IgnoreNotFound(c.Delete(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: probeClass}})),
	)
}

// probeIngress returns an Ingress for namespace that every policy admits: the
// namespace's host, no annotations, and the probe namespace's class when in it.
func probeIngress(namespace string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: namespace},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: probeHost}}},
	}
	if namespace == probeName {
		ing.Spec.IngressClassName = ptr.To(probeIngressClass)
	}
	return ing
}

// probePod returns a pod for the probe namespace that every policy admits: an
// allowed image on the namespace's node pool.
func probePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{silov1.NodePoolLabel: "probe-pool"},
			Containers:   []corev1.Container{{Name: "c", Image: "probe.invalid/app:1"}},
		},
	}
}

var dryRun = client.DryRunAll

// operatorScopePolicy is probed with a request of the operator's identity.
const operatorScopePolicy = "silo-operator-scope"

// probes are, per policy, a dry-run request that policy must refuse.
var probes = map[string]func(context.Context, client.Client) error{
	"silo-tenant-service-exposure": func(ctx context.Context, c client.Client) error {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			Spec: corev1.ServiceSpec{
				Type:  corev1.ServiceTypeNodePort,
				Ports: []corev1.ServicePort{{Port: 80}},
			},
		}
		return c.Create(ctx, svc, dryRun)
	},
	"silo-tenant-managed-objects": func(ctx context.Context, c client.Client) error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "probe", Namespace: probeName,
			Labels: map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue},
		}}
		return c.Create(ctx, cm, dryRun)
	},
	"silo-tenant-managed-label": func(ctx context.Context, c client.Client) error {
		pod := probePod()
		pod.Labels = map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue}
		return c.Create(ctx, pod, dryRun)
	},
	"silo-tenant-self-service": func(ctx context.Context, c client.Client) error {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "silo-tenant-owner"},
		}
		return c.Create(ctx, rb, dryRun)
	},
	// Sent as the operator: a Secret outside tenant namespaces, which its RBAC allows.
	operatorScopePolicy: func(ctx context.Context, c client.Client) error {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: metav1.NamespaceDefault}}
		return c.Create(ctx, s, dryRun)
	},
	"silo-tenant-namespace": func(ctx context.Context, c client.Client) error {
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: probeName}, ns); err != nil {
			return err
		}
		ns.Labels[silov1.TenantLabel] = "someone-else"
		return c.Update(ctx, ns, dryRun)
	},
	"silo-tenant-deletion-protection": func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: probeName}}, dryRun)
	},
	"silo-tenant-ingress-hosts": func(ctx context.Context, c client.Client) error {
		ing := probeIngress(probeName)
		ing.Spec.Rules[0].Host = "elsewhere.invalid"
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-ingress-annotations": func(ctx context.Context, c client.Client) error {
		ing := probeIngress(probeName)
		ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/server-alias": "elsewhere.invalid"}
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-ingress-class": func(ctx context.Context, c client.Client) error {
		ing := probeIngress(probeName)
		ing.Spec.IngressClassName = ptr.To(probeClass)
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-ingress-default-class": func(ctx context.Context, c client.Client) error {
		ing := probeIngress(probePlainNS)
		ing.Spec.IngressClassName = ptr.To(probeClass)
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-priority-class": func(ctx context.Context, c client.Client) error {
		pod := probePod()
		pod.Spec.PriorityClassName = probeClass
		return c.Create(ctx, pod, dryRun)
	},
	"silo-tenant-managed-scale": func(ctx context.Context, c client.Client) error {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "app"},
				MaxReplicas:    2,
			},
		}
		return c.Create(ctx, hpa, dryRun)
	},
	"silo-tenant-namespace-deletion": func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeProtectedNS}}, dryRun)
	},
	"silo-tenant-image-registries": func(ctx context.Context, c client.Client) error {
		pod := probePod()
		pod.Spec.Containers[0].Image = "elsewhere.invalid/app:1"
		return c.Create(ctx, pod, dryRun)
	},
	"silo-tenant-service-accounts": func(ctx context.Context, c client.Client) error {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName,
			Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/probe"}}}
		return c.Create(ctx, sa, dryRun)
	},
	"silo-tenant-cluster-issuers": func(ctx context.Context, c client.Client) error {
		ing := probeIngress(probeName)
		ing.Annotations = map[string]string{"cert-manager.io/cluster-issuer": "another-issuer"}
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-route-hosts": func(ctx context.Context, c client.Client) error {
		route := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			Spec:       gatewayv1.HTTPRouteSpec{Hostnames: []gatewayv1.Hostname{"elsewhere.invalid"}},
		}
		return c.Create(ctx, route, dryRun)
	},
	"silo-tenant-volumes": func(ctx context.Context, c client.Client) error {
		pod := probePod()
		pod.Spec.Volumes = []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "198.51.100.7", Path: "/export"}}}}
		return c.Create(ctx, pod, dryRun)
	},
	"silo-tenant-placement": func(ctx context.Context, c client.Client) error {
		pod := probePod()
		pod.Spec.NodeSelector = nil
		return c.Create(ctx, pod, dryRun)
	},
}

// createOrReplace creates obj, or replaces the stored object of its name with it.
func createOrReplace(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	err := c.Create(ctx, obj.DeepCopy())
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return err
	}
	update := obj.DeepCopy()
	update.SetResourceVersion(live.GetResourceVersion())
	return c.Update(ctx, update)
}
