package controllers

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestEnsureCredentials(t *testing.T) {
	tn := testTenant()
	db := &components[4]
	writes := func(n *int) interceptor.Funcs {
		return interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				*n++
				return c.Create(ctx, obj, opts...)
			},
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
				*n++
				return c.Patch(ctx, obj, p, opts...)
			},
		}
	}

	t.Run("existing credentials are used as they are, with no write", func(t *testing.T) {
		var n int
		c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(credentialsFixture(tn, "kept")).
			WithInterceptorFuncs(writes(&n)).Build()
		r := &TenantReconciler{Client: c, Scheme: c.Scheme()}
		got, err := r.ensureCredentials(context.Background(), tn, db)
		if err != nil {
			t.Fatal(err)
		}
		if string(got["password"]) != "kept" || n != 0 {
			t.Errorf("password %q after %d writes, want the existing one and none", got["password"], n)
		}
	})

	t.Run("missing credentials are generated once, into an immutable Secret", func(t *testing.T) {
		c := fake.NewClientBuilder().WithScheme(NewScheme()).Build()
		r := &TenantReconciler{Client: c, Scheme: c.Scheme()}
		first, err := r.ensureCredentials(context.Background(), tn, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(first["password"]) != 2*passwordBytes || string(first["username"]) != "app" {
			t.Errorf("generated %q / %q", first["username"], first["password"])
		}
		again, err := r.ensureCredentials(context.Background(), tn, db)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("credentials changed on the second pass:\n%s", diff)
		}
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: NamespaceFor(tn), Name: "database-credentials"}, s); err != nil {
			t.Fatal(err)
		}
		if s.Immutable == nil || !*s.Immutable || s.Labels[silov1.ManagedByLabel] != "silo" || metav1.GetControllerOf(s) == nil {
			t.Errorf("secret is not immutable, labelled and owned: %+v", s.ObjectMeta)
		}
	})

	t.Run("a stale cache loses the race: the Secret another pass created wins", func(t *testing.T) {
		apiServer := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(credentialsFixture(tn, "first")).Build()
		staleCache := fake.NewClientBuilder().WithScheme(NewScheme()).WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
				return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, obj.GetName())
			},
		}).Build()
		r := &TenantReconciler{Client: staleCache, APIReader: apiServer, Scheme: staleCache.Scheme()}
		got, err := r.ensureCredentials(context.Background(), tn, db)
		if err != nil {
			t.Fatal(err)
		}
		if string(got["password"]) != "first" {
			t.Errorf("password = %q, want the one created first", got["password"])
		}
	})

	t.Run("retained credentials are adopted, their data untouched", func(t *testing.T) {
		orphan := credentialsFixture(tn, "retained")
		orphan.OwnerReferences = nil
		c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(orphan).Build()
		r := &TenantReconciler{Client: c, Scheme: c.Scheme()}
		got, err := r.ensureCredentials(context.Background(), tn, db)
		if err != nil {
			t.Fatal(err)
		}
		s := &corev1.Secret{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(orphan), s); err != nil {
			t.Fatal(err)
		}
		if string(got["password"]) != "retained" || string(s.Data["password"]) != "retained" {
			t.Errorf("password changed to %q", got["password"])
		}
		if ref := metav1.GetControllerOf(s); ref == nil || ref.UID != tn.UID {
			t.Errorf("not adopted: %v", s.OwnerReferences)
		}
	})

	t.Run("credentials without a password are refused, not replaced", func(t *testing.T) {
		broken := credentialsFixture(tn, "")
		c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(broken).Build()
		r := &TenantReconciler{Client: c, Scheme: c.Scheme()}
		if _, err := r.ensureCredentials(context.Background(), tn, db); err == nil {
			t.Error("no error for a credentials Secret without a password")
		}
	})
}

func TestReadWiringBlocksOnAMissingExternalSecret(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "acme-db"}}
	tn.Spec.Cache = &silov1.CacheSpec{External: &silov1.ExternalService{SecretName: "acme-cache"}}
	cache := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "acme-cache", Namespace: "silo-system",
		Labels: map[string]string{silov1.TenantLabel: tn.Name}},
		Data: map[string][]byte{"REDIS_URL": []byte("redis://x")}}
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(cache).Build()
	r := &TenantReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Config: DefaultConfig()}
	bc := &buildContext{Tenant: tn, Config: &r.Config}
	obs := &observation{}
	if err := r.readWiring(context.Background(), bc, obs); err != nil {
		t.Fatal(err)
	}
	if obs.blocked == nil || obs.blocked.reason != silov1.ExternalSecretMissingReason {
		t.Fatalf("blocked = %+v", obs.blocked)
	}
	want := "the Secret silo-system/acme-db of the external database is missing: create it in the operator's namespace " +
		"with the service's connection settings as keys (for example DATABASE_URL), labelled silo.dev/tenant=acme"
	if obs.blocked.message != want {
		t.Errorf("message = %q\nwant %q", obs.blocked.message, want)
	}
	if string(bc.External[CacheName]["REDIS_URL"]) != "redis://x" {
		t.Errorf("the present Secret was not read: %v", bc.External)
	}
}

func TestCacheOptionsHoldOnlySecretsLabelledForATenant(t *testing.T) {
	cfg := DefaultConfig()
	opts := CacheOptions(&cfg)
	var secrets []cache.ByObject
	for obj, by := range opts.ByObject {
		if _, ok := obj.(*corev1.Secret); ok {
			secrets = append(secrets, by)
		}
	}
	if len(secrets) != 1 {
		t.Fatalf("%d cache settings for Secrets, want exactly one", len(secrets))
	}
	ns := secrets[0].Namespaces
	if got := ns[cfg.OperatorNamespace].LabelSelector.String(); got != silov1.TenantLabel {
		t.Errorf("operator namespace Secrets are selected by %q, want only those labelled %s (for a Tenant)", got, silov1.TenantLabel)
	}
	if got := ns[cache.AllNamespaces].LabelSelector.String(); got != "app.kubernetes.io/managed-by=silo" {
		t.Errorf("other namespaces' Secrets selected by %q, want Silo's only", got)
	}
}

func TestResumeAutoscaling(t *testing.T) {
	tests := map[string]struct {
		autoscaling *silov1.AutoscalingSpec
		suspend     bool
		live        int32
		want        int32
	}{
		"autoscaled app at zero goes back to minReplicas": {
			autoscaling: &silov1.AutoscalingSpec{MinReplicas: ptrTo(int32(3)), MaxReplicas: 5}, live: 0, want: 3},
		"autoscaled app already running is the autoscaler's": {
			autoscaling: &silov1.AutoscalingSpec{MaxReplicas: 5}, live: 4, want: 4},
		"suspended app stays at zero": {
			autoscaling: &silov1.AutoscalingSpec{MaxReplicas: 5}, suspend: true, live: 0, want: 0},
		"without autoscaling the spec's replicas are applied, not this": {live: 0, want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.App.Autoscaling = tc.autoscaling
			tn.Spec.Suspend = tc.suspend
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: AppName, Namespace: NamespaceFor(tn)},
				Spec: appsv1.DeploymentSpec{Replicas: ptrTo(tc.live)}}
			var writes int
			c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(d).WithInterceptorFuncs(interceptor.Funcs{
				Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
					writes++
					return c.Patch(ctx, obj, p, opts...)
				},
			}).Build()
			r := &TenantReconciler{Client: c, Scheme: c.Scheme()}
			if err := r.resumeAutoscaling(context.Background(), tn); err != nil {
				t.Fatal(err)
			}
			got := &appsv1.Deployment{}
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(d), got); err != nil {
				t.Fatal(err)
			}
			if *got.Spec.Replicas != tc.want {
				t.Errorf("replicas = %d, want %d", *got.Spec.Replicas, tc.want)
			}
			if wantWrites := map[bool]int{true: 1, false: 0}[tc.want != tc.live]; writes != wantWrites {
				t.Errorf("%d writes, want %d", writes, wantWrites)
			}
		})
	}
}
