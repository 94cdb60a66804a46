package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// resumeAutoscaling puts an autoscaled app found at zero replicas (scaled down when an
// earlier Tenant of the same name was deleted with Retain, or by hand) back at its
// minimum: a HorizontalPodAutoscaler never scales its target up from zero, and Silo
// does not send the replica count it leaves to the autoscaler. It writes nothing in
// any other case.
func (r *TenantReconciler) resumeAutoscaling(ctx context.Context, t *silov1.Tenant) error {
	if t.Spec.App.Autoscaling == nil || t.Spec.Suspend {
		return nil
	}
	d := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: AppName}, d); err != nil {
		return client.IgnoreNotFound(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
		return nil
	}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, appSpread(t))
	if err := r.Patch(ctx, d, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("handing app of %s back to its autoscaler: %w", klog.KObj(t), err)
	}
	ctrl.LoggerFrom(ctx).Info("app was at zero replicas: handed back to its autoscaler", "replicas", appSpread(t))
	return nil
}
