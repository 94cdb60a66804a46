package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// TestReadWiringUsesOnlyExternalSecretsLabelledForTheTenant proves the guard against
// a confused deputy: a Tenant names a Secret of the operator's namespace, and Silo
// copies its keys only when the platform labelled it for that Tenant.
func TestReadWiringUsesOnlyExternalSecretsLabelledForTheTenant(t *testing.T) {
	label := "kubectl label secret -n silo-system victim-db silo.dev/tenant=acme"
	tests := map[string]struct {
		labels    map[string]string
		used      bool
		wantInMsg string
	}{
		"unlabelled (another tenant's database, a Helm release)": {wantInMsg: label},
		"labelled for another Tenant":                            {labels: map[string]string{silov1.TenantLabel: "other"}, wantInMsg: label},
		"labelled for this Tenant":                               {labels: map[string]string{silov1.TenantLabel: "acme"}, used: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "victim-db"}}
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "victim-db", Namespace: "silo-system", Labels: tc.labels},
				Data:       map[string][]byte{"DATABASE_URL": []byte("postgres://victim@db/victim")},
			}
			c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(s).Build()
			r := &TenantReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Config: DefaultConfig()}
			bc := &buildContext{Tenant: tn, Config: &r.Config}
			obs := &observation{}
			if err := r.readWiring(context.Background(), bc, obs); err != nil {
				t.Fatal(err)
			}
			_, copied := bc.External[DatabaseName]
			if copied != tc.used {
				t.Errorf("keys copied = %v, want %v", copied, tc.used)
			}
			if tc.used {
				if obs.blocked != nil {
					t.Errorf("blocked: %+v", obs.blocked)
				}
				return
			}
			if obs.blocked == nil || obs.blocked.reason != silov1.ExternalSecretNotLabelledReason || !strings.Contains(obs.blocked.message, tc.wantInMsg) {
				t.Errorf("blocked = %+v, want %s saying %q", obs.blocked, silov1.ExternalSecretNotLabelledReason, tc.wantInMsg)
			}
		})
	}
}

// plantedSecret is an empty Secret an owner created at the name of a component's
// credentials before the component was enabled.
func plantedSecret(tn *silov1.Tenant, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: NamespaceFor(tn)}}
}

func TestReadWiringNeverAdoptsPlantedCredentials(t *testing.T) {
	tn := testTenant()
	tn.Spec.Cache = &silov1.CacheSpec{}
	planted := plantedSecret(tn, "cache-credentials")
	var writes int
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(planted).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			writes++
			return cl.Patch(ctx, obj, p, opts...)
		},
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			writes++
			return cl.Update(ctx, obj, opts...)
		},
	}).Build()
	r := &TenantReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Config: DefaultConfig()}
	bc := &buildContext{Tenant: tn, Config: &r.Config}
	obs := &observation{}
	err := r.readWiring(context.Background(), bc, obs)
	if err != nil {
		t.Fatalf("a planted Secret must not stop the pass: %v", err)
	}
	if _, ok := bc.Credentials[CacheName]; ok {
		t.Errorf("the planted Secret's data was taken as credentials")
	}
	if writes != 0 {
		t.Errorf("%d writes to the planted Secret, want none", writes)
	}
	st := computeStatus(tn, obs, err)
	d := meta.FindStatusCondition(st.Conditions, silov1.DegradedCondition)
	if d == nil || d.Status != metav1.ConditionTrue || d.Reason != silov1.ChildConflictReason ||
		!strings.Contains(d.Message, "Secret cache-credentials") || !strings.Contains(d.Message, "delete it") {
		t.Errorf("Degraded = %+v, want True/ChildConflict naming the Secret and what to do", d)
	}
}

// TestReconcileLeavesAPlantedObjectAloneAndGoesOn proves an unlabelled object at a
// managed name (invisible to the label-filtered cache) is read from the API server,
// never applied over, and blocks neither the fences nor the other children.
func TestReconcileLeavesAPlantedObjectAloneAndGoesOn(t *testing.T) {
	tn := readyTenant()
	tn.Spec.App.Replicas = ptrTo(int32(2)) // wants a PodDisruptionBudget "app"
	tn.Spec.Quota.CPU = ptrTo(qty("3"))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-acme", Labels: commonLabels(tn)}}
	planted := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: AppName, Namespace: "tenant-acme"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptrTo(intstr.FromInt32(5))},
	}
	apiServer := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(planted).Build()
	var appliedKinds []string
	r, c, _ := fakeWithRecorder(interceptor.Funcs{
		Apply: func(ctx context.Context, cl client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			appliedKinds = append(appliedKinds, kindOf(obj))
			return nil // the fake client's server-side apply is not what is under test
		},
	}, tn, ns)
	// The cache holds only labelled objects: the planted one is only on the API server.
	r.APIReader = apiServer
	res, err := reconcileAcme(r)
	if err != nil {
		t.Fatalf("a planted object must not fail the pass: %v", err)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("no requeue: the planted object's deletion is not watched, so the Tenant would never look again")
	}
	for _, k := range appliedKinds {
		if k == "PodDisruptionBudget" {
			t.Errorf("Silo applied over the planted PodDisruptionBudget")
		}
	}
	if !containsString(appliedKinds, "ResourceQuota") || !containsString(appliedKinds, "Deployment") {
		t.Errorf("the fences and the other children were not applied: %v", appliedKinds)
	}
	got := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, got); err != nil {
		t.Fatal(err)
	}
	d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
	if d == nil || d.Reason != silov1.ChildConflictReason || !strings.Contains(d.Message, "PodDisruptionBudget app") {
		t.Errorf("Degraded = %+v, want ChildConflict naming PodDisruptionBudget app", d)
	}
}

// kindOf returns the kind of an apply configuration.
func kindOf(ac runtime.ApplyConfiguration) string {
	if u, ok := ac.(interface{ GetKind() string }); ok {
		return u.GetKind()
	}
	return ""
}

// TestTheFirstPassReadsNothingPastTheCacheAndGrantsLast proves that building a new
// Tenant costs no read: in the namespace the pass has just created, nothing can sit at
// a child's name, because the owners are granted access only after every child.
func TestTheFirstPassReadsNothingPastTheCacheAndGrantsLast(t *testing.T) {
	tn := readyTenant()
	tn.Status = silov1.TenantStatus{}
	tn.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: "acme-admins"}}
	tn.Spec.Cache = &silov1.CacheSpec{}
	var applied []string
	r, _, _ := fakeWithRecorder(interceptor.Funcs{
		Apply: func(ctx context.Context, cl client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			applied = append(applied, kindOf(obj))
			return nil // the fake client's server-side apply is not what is under test
		},
	}, tn)
	var reads int
	r.APIReader = interceptor.NewClient(fake.NewClientBuilder().WithScheme(NewScheme()).Build(), interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			reads++
			return cl.Get(ctx, key, obj, opts...)
		},
	})
	if _, err := reconcileAcme(r); err != nil {
		t.Fatal(err)
	}
	if reads != 0 {
		t.Errorf("%d reads past the cache while building a new Tenant, want none", reads)
	}
	if len(applied) == 0 || applied[len(applied)-1] != "RoleBinding" {
		t.Errorf("applied %v: the owners' RoleBinding must come last in the pass that creates the namespace", applied)
	}
}

func TestRecheckAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	degradedSince := func(reason string, ago time.Duration) *silov1.Tenant {
		tn := testTenant()
		tn.Status.Conditions = []metav1.Condition{{Type: silov1.DegradedCondition, Status: metav1.ConditionTrue,
			Reason: reason, LastTransitionTime: metav1.NewTime(now.Add(-ago))}}
		return tn
	}
	tests := map[string]struct {
		tenant *silov1.Tenant
		want   time.Duration
	}{
		"a new conflict: soon":              {testTenant(), recheckMin},
		"a conflict of 40s: in 40s":         {degradedSince(silov1.ChildConflictReason, 40*time.Second), 40 * time.Second},
		"a conflict of a day: at most":      {degradedSince(silov1.ChildConflictReason, 24*time.Hour), recheckMax},
		"degraded for another reason: soon": {degradedSince(silov1.ExternalSecretMissingReason, time.Hour), recheckMin},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := recheckAfter(tc.tenant, silov1.ChildConflictReason, now); got != tc.want {
				t.Errorf("recheckAfter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadWiringReadsTheQueueConfig(t *testing.T) {
	tn := testTenant()
	tn.Spec.Queue = &silov1.QueueSpec{}
	ours := func(name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: NamespaceFor(tn),
			Labels: componentLabels(tn, QueueName)}, Data: data}
	}
	creds := ours("queue-credentials", map[string][]byte{"username": []byte("app"), "password": []byte("qpass")})
	staging := ours("queue-credentials-next", map[string][]byte{"username": []byte("app_b"), "password": []byte("new")})
	for name, tc := range map[string]struct {
		objs []client.Object
		// apiOnly are on the API server, not yet in the cache.
		apiOnly     []client.Object
		wantReload  string // "" = newly generated
		wantStaging bool
		wantHeld    bool
	}{
		"no configuration Secret yet: a reload password is generated": {objs: []client.Object{creds}},
		"Silo's configuration Secret: its reload password is read back, never generated again": {
			objs: []client.Object{creds, ours("queue-config", map[string][]byte{reloadPasswordKey: []byte("kept")})}, wantReload: "kept"},
		"Silo's configuration Secret the cache has not seen yet: read back from the API server": {
			objs: []client.Object{creds}, apiOnly: []client.Object{ours("queue-config", map[string][]byte{reloadPasswordKey: []byte("kept")})},
			wantReload: "kept"},
		"a rotation's staging Secret is read, for the configuration's users": {
			objs: []client.Object{creds, staging}, wantStaging: true},
		"a Secret an owner planted at its name: never used, the queue is held back": {
			objs: []client.Object{creds, plantedSecret(tn, "queue-config")}, wantHeld: true},
	} {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(tc.objs...).Build()
			api := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(append(tc.objs, tc.apiOnly...)...).Build()
			r := &TenantReconciler{Client: c, APIReader: api, Scheme: c.Scheme(), Config: DefaultConfig()}
			bc := &buildContext{Tenant: tn, Config: &r.Config}
			obs := &observation{}
			if err := r.readWiring(context.Background(), bc, obs); err != nil {
				t.Fatal(err)
			}
			if bc.Held[QueueName] != tc.wantHeld {
				t.Fatalf("held = %v, want %v", bc.Held[QueueName], tc.wantHeld)
			}
			if tc.wantHeld {
				d := meta.FindStatusCondition(computeStatus(tn, obs, nil).Conditions, silov1.DegradedCondition)
				if d == nil || d.Reason != silov1.ChildConflictReason || !strings.Contains(d.Message, "Secret queue-config") {
					t.Errorf("Degraded = %+v, want ChildConflict naming Secret queue-config", d)
				}
				return
			}
			switch {
			case tc.wantReload != "" && bc.QueueReloadPassword != tc.wantReload:
				t.Errorf("reload password = %q, want %q", bc.QueueReloadPassword, tc.wantReload)
			case tc.wantReload == "" && len(bc.QueueReloadPassword) != 2*passwordBytes:
				t.Errorf("reload password = %q, want a generated one", bc.QueueReloadPassword)
			}
			if got := bc.QueueStaging != nil; got != tc.wantStaging {
				t.Errorf("staging read = %v, want %v", got, tc.wantStaging)
			}
		})
	}
}
