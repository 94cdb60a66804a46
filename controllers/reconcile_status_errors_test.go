package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// readyTenant returns a Tenant whose last pass found everything ready: its status
// holds components, endpoints, usage and Ready=True.
func readyTenant() *silov1.Tenant {
	tn := tenant("acme")
	tn.Generation = 3
	tn.Finalizers = []string{silov1.TenantFinalizer}
	since := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tn.Status = silov1.TenantStatus{
		Phase:              silov1.PhaseReady,
		Namespace:          "tenant-acme",
		ObservedGeneration: 2,
		Components:         []silov1.ComponentStatus{{Name: "app", Ready: true, Replicas: 2, ReadyReplicas: 2}},
		ComponentsReady:    "1/1",
		Endpoints:          map[string]string{"app": "http://app.tenant-acme.svc:8080"},
		Usage:              corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")},
		Conditions: []metav1.Condition{
			{Type: silov1.ReadyCondition, Status: metav1.ConditionTrue, Reason: silov1.ReadyReason, Message: "every component is ready", ObservedGeneration: 2, LastTransitionTime: since},
			{Type: silov1.ProgressingCondition, Status: metav1.ConditionFalse, Reason: silov1.ReconcileSucceededReason, Message: "the environment matches the spec", ObservedGeneration: 2, LastTransitionTime: since},
			{Type: silov1.DegradedCondition, Status: metav1.ConditionFalse, Reason: silov1.AsExpectedReason, ObservedGeneration: 2, LastTransitionTime: since},
		},
	}
	return tn
}

var (
	timeout   = apierrors.NewServerTimeout(schema.GroupResource{Group: "apps", Resource: "deployments"}, "patch", 1)
	forbidden = apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "app",
		errors.New("refused by a policy"))
)

// TestStatusOnFailedPasses proves what status says when a pass fails: an error the
// operator retries by itself keeps what was last observed and does not flip Ready; an
// error a person must fix says so; a blocked pass names why in Progressing too.
func TestStatusOnFailedPasses(t *testing.T) {
	type cond struct {
		status metav1.ConditionStatus
		reason string
	}
	tests := map[string]struct {
		obs                          observation
		err                          error
		phase                        silov1.TenantPhase
		ready, progressing, degraded cond
		msg                          string // in the condition that explains (Progressing or Degraded)
	}{
		"a transient error keeps Ready and what was observed, and is retried": {
			err:   timeout,
			phase: silov1.PhaseReady,
			ready: cond{"True", silov1.ReadyReason}, progressing: cond{"True", silov1.RetryingReason},
			degraded: cond{"False", silov1.AsExpectedReason}, msg: "the operator retries",
		},
		"a conflict is transient too": {
			err:   apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "x", errors.New("modified")),
			phase: silov1.PhaseReady,
			ready: cond{"True", silov1.ReadyReason}, progressing: cond{"True", silov1.RetryingReason},
			degraded: cond{"False", silov1.AsExpectedReason}, msg: "modified",
		},
		"an error a person must fix is Degraded, and Progressing says it stopped": {
			err:   forbidden,
			phase: silov1.PhaseDegraded,
			ready: cond{"False", silov1.ReconcileFailedReason}, progressing: cond{"False", silov1.ReconcileFailedReason},
			degraded: cond{"True", silov1.ReconcileFailedReason}, msg: "refused by a policy",
		},
		"a blocked pass names its reason in Progressing, not success": {
			obs:   observation{blocked: &blockage{reason: silov1.NamespaceConflictReason, message: "namespace tenant-acme already exists"}},
			phase: silov1.PhaseDegraded,
			ready: cond{"False", silov1.NamespaceConflictReason}, progressing: cond{"False", silov1.NamespaceConflictReason},
			degraded: cond{"True", silov1.NamespaceConflictReason}, msg: "already exists",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := readyTenant()
			st := computeStatus(tn, &tc.obs, tc.err)
			got := func(typ string) cond {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil {
					t.Fatalf("no %s condition", typ)
				}
				return cond{c.Status, c.Reason}
			}
			if st.Phase != tc.phase {
				t.Errorf("phase = %s, want %s", st.Phase, tc.phase)
			}
			for typ, want := range map[string]cond{silov1.ReadyCondition: tc.ready, silov1.ProgressingCondition: tc.progressing, silov1.DegradedCondition: tc.degraded} {
				if g := got(typ); g != want {
					t.Errorf("%s = %+v, want %+v", typ, g, want)
				}
			}
			explains := meta.FindStatusCondition(st.Conditions, silov1.DegradedCondition)
			if tc.degraded.status != "True" {
				explains = meta.FindStatusCondition(st.Conditions, silov1.ProgressingCondition)
			}
			if !strings.Contains(explains.Message, tc.msg) {
				t.Errorf("%s message %q does not contain %q", explains.Type, explains.Message, tc.msg)
			}
			// Nothing was observed this pass: the last observation stands, never 0/0.
			want := tn.Status
			if diff := cmp.Diff([]any{want.Components, want.ComponentsReady, want.Endpoints, want.Usage},
				[]any{st.Components, st.ComponentsReady, st.Endpoints, st.Usage}); diff != "" {
				t.Errorf("the last observation was lost (-want +got):\n%s", diff)
			}
			if st.ObservedGeneration != 2 {
				t.Errorf("observedGeneration = %d after a pass that did not finish, want 2", st.ObservedGeneration)
			}
		})
	}
}

// fakeWithRecorder returns a reconciler on a fake client holding objs, with an event
// recorder whose events the test can read.
func fakeWithRecorder(funcs interceptor.Funcs, objs ...client.Object) (*TenantReconciler, client.Client, *events.FakeRecorder) {
	scheme := NewScheme()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&silov1.Tenant{}).WithInterceptorFuncs(funcs).Build()
	rec := events.NewFakeRecorder(20)
	return &TenantReconciler{Client: c, APIReader: c, Scheme: scheme, Config: DefaultConfig(), Recorder: rec}, c, rec
}

func reconcileAcme(r *TenantReconciler) (ctrl.Result, error) {
	return r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "acme"}})
}

func TestATransientErrorNeitherFlipsReadyNorWarns(t *testing.T) {
	// The API server times out on Deployments: Silo can neither check the app's
	// Deployment nor read its readiness.
	r, c, rec := fakeWithRecorder(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*appsv1.Deployment); ok {
				return timeout
			}
			return cl.Get(ctx, key, obj, opts...)
		},
		Apply: func(ctx context.Context, cl client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return nil // the fake client's server-side apply is not what is under test
		},
	}, readyTenant())
	if _, err := reconcileAcme(r); err == nil {
		t.Fatal("a failed pass must return its error, so it is retried with back-off")
	}
	got := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, got); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, silov1.ReadyCondition) {
		t.Errorf("Ready flipped on a timeout: %+v", meta.FindStatusCondition(got.Status.Conditions, silov1.ReadyCondition))
	}
	if got.Status.ComponentsReady != "1/1" || len(got.Status.Components) != 1 {
		t.Errorf("components lost: %q %v", got.Status.ComponentsReady, got.Status.Components)
	}
	// The fake's Apply stores nothing, so every pass reports the children it
	// "created" (a Normal event); a transient error itself must not warn.
	for len(rec.Events) > 0 {
		if e := <-rec.Events; strings.HasPrefix(e, corev1.EventTypeWarning) {
			t.Errorf("warning on a transient error: %s", e)
		}
	}
}

func TestANamespaceConflictIsRetriedNotTerminal(t *testing.T) {
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-acme"}}
	r, c, _ := fakeWithRecorder(interceptor.Funcs{}, readyTenant(), foreign)
	res, err := reconcileAcme(r)
	if errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("a conflict that resolves itself when the namespace goes must not be terminal: %v", err)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("RequeueAfter = %v: nothing would look again (foreign namespaces are not watched)", res.RequeueAfter)
	}
	got := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, got); err != nil {
		t.Fatal(err)
	}
	d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
	if d == nil || d.Status != metav1.ConditionTrue || d.Reason != silov1.NamespaceConflictReason {
		t.Errorf("Degraded = %+v, want True/NamespaceConflict", d)
	}
}

func TestDeletingIsShownWhileTheFinalizerCannotFinish(t *testing.T) {
	tn := readyTenant()
	tn.DeletionTimestamp = ptrTo(metav1.Now())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-acme", Labels: commonLabels(tn)}}
	r, c, _ := fakeWithRecorder(interceptor.Funcs{
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			if _, isNS := obj.(*corev1.Namespace); isNS {
				return forbidden
			}
			return cl.Patch(ctx, obj, p, opts...)
		},
	}, tn, ns)
	if _, err := reconcileAcme(r); err == nil {
		t.Fatal("want the retain error")
	}
	got := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != silov1.PhaseDeleting {
		t.Errorf("phase = %q while the finalizer works, want Deleting", got.Status.Phase)
	}
	rc := meta.FindStatusCondition(got.Status.Conditions, silov1.ReadyCondition)
	if rc == nil || rc.Status != metav1.ConditionFalse || rc.Reason != silov1.DeletingReason || !strings.Contains(rc.Message, "refused by a policy") {
		t.Errorf("Ready = %+v, want False/Deleting naming what holds the deletion", rc)
	}
}
