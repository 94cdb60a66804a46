package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestReconcileReportsAFailedApplyAsDegraded(t *testing.T) {
	tn := tenant("acme")
	r, c := newFakeReconciler(tn, interceptor.Funcs{
		Apply: func(ctx context.Context, cl client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "app", errors.New("etcd is on fire"))
		},
	})
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "acme"}})
	if err == nil || !strings.Contains(err.Error(), "etcd is on fire") {
		t.Fatalf("Reconcile error = %v, want the apply error", err)
	}
	got := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, got); err != nil {
		t.Fatal(err)
	}
	d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
	if d == nil || d.Status != "True" || d.Reason != silov1.ReconcileFailedReason || !strings.Contains(d.Message, "etcd is on fire") {
		t.Errorf("Degraded condition = %+v, want True/ReconcileFailed naming the error", d)
	}
	if got.Status.Phase != silov1.PhaseDegraded {
		t.Errorf("phase = %s, want Degraded", got.Status.Phase)
	}
	if got.Status.ObservedGeneration == got.Generation && got.Generation != 0 {
		t.Errorf("a failed pass must not mark the generation observed")
	}
	if !containsString(got.Finalizers, silov1.TenantFinalizer) {
		t.Errorf("finalizer not added: %v", got.Finalizers)
	}
}

func TestReconcileTreatsAStatusConflictAsQuiet(t *testing.T) {
	tn := tenant("acme")
	r, _ := newFakeReconciler(tn, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return apierrors.NewConflict(schema.GroupResource{Group: "silo.dev", Resource: "tenants"}, "acme", errors.New("modified"))
		},
	})
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "acme"}})
	if err != nil {
		t.Fatalf("a conflict must requeue quietly, got error %v", err)
	}
	if res.RequeueAfter == 0 {
		t.Errorf("a conflict must requeue")
	}
}

func TestReconcileIgnoresAGoneTenant(t *testing.T) {
	r, _ := newFakeReconciler(tenant("other"), interceptor.Funcs{})
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "gone"}}); err != nil {
		t.Fatalf("a deleted Tenant is not an error: %v", err)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
