package controllers

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// testTenant returns a Tenant with only the required fields.
func testTenant() *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", UID: "uid-1"},
		Spec:       silov1.TenantSpec{App: silov1.AppSpec{Image: "registry.example.com/shop/app:1.4.2"}},
	}
}

// testCredentials are what the reconciler would have read for every managed component.
func testCredentials() map[string]map[string][]byte {
	return map[string]map[string][]byte{
		QueueName:    {"username": []byte("app"), "password": []byte("qpass")},
		CacheName:    {"username": []byte("default"), "password": []byte("cpass")},
		DatabaseName: {"username": []byte("app"), "password": []byte("dpass")},
	}
}

// testContext returns a build context for t with the default configuration,
// credentials for every managed component, and the connection settings they give.
func testContext(t *silov1.Tenant) *buildContext {
	cfg := DefaultConfig()
	cfg.RegionStorageClasses = map[string]string{"eu-west-1": "fast-eu"}
	bc := &buildContext{Tenant: t, Config: &cfg, Credentials: testCredentials(), External: map[string]map[string][]byte{},
		QueueReloadPassword: "rpass"}
	return bc.withSettings()
}

// typed converts built apply configurations into typed objects by "Kind/name", as the
// API server would decode what Silo sends.
func typed(tb testing.TB, objs []runtime.ApplyConfiguration) map[string]client.Object {
	tb.Helper()
	scheme := NewScheme()
	out := map[string]client.Object{}
	for _, ac := range objs {
		raw, err := json.Marshal(ac)
		if err != nil {
			tb.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil {
			tb.Fatal(err)
		}
		o, err := scheme.New(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind))
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(raw, o); err != nil {
			tb.Fatal(err)
		}
		obj := o.(client.Object)
		key := tm.Kind + "/" + obj.GetName()
		if _, dup := out[key]; dup {
			tb.Fatalf("%s built twice", key)
		}
		out[key] = obj
	}
	return out
}

// keys returns the sorted keys of a typed map.
func keys(m map[string]client.Object) []string { return sortedKeys(m) }

// checkRestricted fails unless the pod spec meets the restricted Pod Security
// Standard, carries no service account token and has readiness probes.
func checkRestricted(tb testing.TB, name string, p *corev1.PodSpec, uid int64) {
	tb.Helper()
	sc := p.SecurityContext
	switch {
	case sc == nil:
		tb.Fatalf("%s: no pod security context", name)
	case !ptr.Deref(sc.RunAsNonRoot, false):
		tb.Errorf("%s: runAsNonRoot is not true", name)
	case ptr.Deref(sc.RunAsUser, 0) != uid:
		tb.Errorf("%s: runAsUser = %v, want %d", name, sc.RunAsUser, uid)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		tb.Errorf("%s: seccomp profile is not RuntimeDefault", name)
	}
	if !ptr.Equal(p.AutomountServiceAccountToken, ptr.To(false)) {
		tb.Errorf("%s: automountServiceAccountToken is not false", name)
	}
	for _, c := range p.Containers {
		csc := c.SecurityContext
		if csc == nil {
			tb.Fatalf("%s/%s: no container security context", name, c.Name)
		}
		if !ptr.Equal(csc.AllowPrivilegeEscalation, ptr.To(false)) {
			tb.Errorf("%s/%s: allowPrivilegeEscalation is not false", name, c.Name)
		}
		if !ptr.Equal(csc.ReadOnlyRootFilesystem, ptr.To(true)) {
			tb.Errorf("%s/%s: readOnlyRootFilesystem is not true", name, c.Name)
		}
		if csc.Capabilities == nil || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" || len(csc.Capabilities.Add) > 0 {
			tb.Errorf("%s/%s: capabilities are %v, want drop ALL", name, c.Name, csc.Capabilities)
		}
		if c.ReadinessProbe == nil {
			tb.Errorf("%s/%s: no readiness probe", name, c.Name)
		}
	}
}

// qty parses a quantity.
func qty(s string) resource.Quantity { return resource.MustParse(s) }

// fullTestTenant returns a Tenant with every component managed by Silo.
func fullTestTenant() *silov1.Tenant {
	t := testTenant()
	t.Spec.App.Replicas = ptr.To(int32(2))
	t.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.example.com"}
	t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
	t.Spec.Queue = &silov1.QueueSpec{}
	t.Spec.Cache = &silov1.CacheSpec{}
	t.Spec.Database = &silov1.DatabaseSpec{}
	t.Spec.Storage = &silov1.StorageSpec{Size: qty("20Gi")}
	return t
}

// allObjects is what one reconcile builds for the workloads.
func allObjects(bc *buildContext) []runtime.ApplyConfiguration { return buildWorkloads(bc) }

// roundTrip decodes an apply configuration into T, as the API server would.
func roundTrip[T any](tb testing.TB, ac any) T {
	tb.Helper()
	var out T
	raw, err := json.Marshal(ac)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// podSpecs returns the pod spec of every workload by "Kind/name".
func podSpecs(objs map[string]client.Object) map[string]*corev1.PodSpec {
	out := map[string]*corev1.PodSpec{}
	for k, o := range objs {
		switch w := o.(type) {
		case *appsv1.Deployment:
			out[k] = &w.Spec.Template.Spec
		case *appsv1.StatefulSet:
			out[k] = &w.Spec.Template.Spec
		}
	}
	return out
}

// claimSpecs returns every volume claim spec, standalone or templated, by name.
func claimSpecs(objs map[string]client.Object) map[string]*corev1.PersistentVolumeClaimSpec {
	out := map[string]*corev1.PersistentVolumeClaimSpec{}
	for k, o := range objs {
		switch w := o.(type) {
		case *corev1.PersistentVolumeClaim:
			out[k] = &w.Spec
		case *appsv1.StatefulSet:
			for i := range w.Spec.VolumeClaimTemplates {
				out[k+"/"+w.Spec.VolumeClaimTemplates[i].Name] = &w.Spec.VolumeClaimTemplates[i].Spec
			}
		}
	}
	return out
}

// tenant returns a Tenant named name with a short image, changed by mutate.
func tenant(name string, mutate ...func(*silov1.Tenant)) *silov1.Tenant {
	t := &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1"}},
	}
	for _, m := range mutate {
		m(t)
	}
	return t
}

// credentialsFixture returns the database credentials Secret of tn, as the
// reconciler creates it.
func credentialsFixture(tn *silov1.Tenant, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "database-credentials", Namespace: NamespaceFor(tn),
			Labels: componentLabels(tn, DatabaseName),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "silo.dev/v1alpha1", Kind: "Tenant", Name: tn.Name,
				UID: tn.UID, Controller: ptrTo(true)}}},
		Data: map[string][]byte{"username": []byte("app"), "password": []byte(password)},
	}
}

// newFakeReconciler returns a reconciler on a fake client holding t, whose writes go
// through funcs.
func newFakeReconciler(t *silov1.Tenant, funcs interceptor.Funcs) (*TenantReconciler, client.Client) {
	scheme := NewScheme()
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(t).WithStatusSubresource(&silov1.Tenant{}).
		WithInterceptorFuncs(funcs).Build()
	return &TenantReconciler{Client: c, APIReader: c, Scheme: scheme, Config: DefaultConfig()}, c
}
