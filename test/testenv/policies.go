package testenv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
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
// that no operator reconciles, and remove them afterwards.
func InstallPolicies(ctx context.Context, c client.Client, dir string) error {
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
		if err := waitEnforced(ctx, c, p); err != nil {
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

// createProbeObjects creates a tenant namespace with a node pool and an image
// allow-list, and a Tenant with deletion protection, for the probes.
func createProbeObjects(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: probeName,
		Labels: map[string]string{
			silov1.TenantLabel:            probeName,
			silov1.NamespaceNodePoolLabel: "probe-pool",
		},
		Annotations: map[string]string{
			silov1.AllowedRegistriesAnnotation:  "probe.invalid/",
			silov1.ServiceAccountKeysAnnotation: "eks.amazonaws.com/role-arn",
			silov1.ClusterIssuersAnnotation:     "probe-issuer",
			silov1.VolumeTypesAnnotation:        "configMap",
			// The probe of silo-tenant-ingress-hosts claims probe.invalid, which this
			// host does not cover; the cluster issuers' probe claims this one.
			silov1.IngressHostAnnotation: "issuer.probe.invalid",
		},
	}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating probe namespace: %w", err)
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
	return errors.Join(
		client.IgnoreNotFound(c.Delete(ctx, t)),
		client.IgnoreNotFound(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeName}})),
	)
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
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "probe.invalid"}}},
		}
		return c.Create(ctx, ing, dryRun)
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
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName,
				Annotations: map[string]string{"cert-manager.io/cluster-issuer": "another-issuer"}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "issuer.probe.invalid"}}},
		}
		return c.Create(ctx, ing, dryRun)
	},
	"silo-tenant-route-hosts": func(ctx context.Context, c client.Client) error {
		route := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probeName},
			Spec:       gatewayv1.HTTPRouteSpec{Hostnames: []gatewayv1.Hostname{"probe.invalid"}},
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
