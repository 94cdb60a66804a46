package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// deletionPolicy returns the Tenant's deletion policy, Retain by default.
func deletionPolicy(t *silov1.Tenant) silov1.DeletionPolicy {
	if t.Spec.DeletionPolicy == "" {
		return silov1.DeletionPolicyRetain
	}
	return t.Spec.DeletionPolicy
}

// reconcileDelete runs the deletion policy, then lets the Tenant go.
func (r *TenantReconciler) reconcileDelete(ctx context.Context, t *silov1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(t, silov1.TenantFinalizer) {
		return ctrl.Result{}, nil
	}
	ns := &corev1.Namespace{}
	err := r.Get(ctx, client.ObjectKey{Name: NamespaceFor(t)}, ns)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("reading namespace of %s: %w", klog.KObj(t), err)
	case ns.Labels[silov1.TenantLabel] != t.Name:
		// Not ours (the Tenant never got it): leave it alone.
	case deletionPolicy(t) == silov1.DeletionPolicyDelete:
		if ns.DeletionTimestamp.IsZero() {
			if err := r.releaseSnapshots(ctx, t); err != nil {
				return ctrl.Result{}, err
			}
			if err := r.Delete(ctx, ns, client.Preconditions{UID: &ns.UID}); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
			}
			r.event(t, corev1.EventTypeNormal, "NamespaceDeleted", "Delete", "deleted namespace %s (deletionPolicy Delete)", ns.Name)
		}
	default:
		if err := r.retain(ctx, t, ns); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := t.DeepCopy()
	controllerutil.RemoveFinalizer(t, silov1.TenantFinalizer)
	if err := r.Patch(ctx, t, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("removing finalizer of %s: %w", klog.KObj(t), err))
	}
	r.applier().versions.forgetNamespace(NamespaceFor(t))
	r.written.forget(t.Name)
	ctrl.LoggerFrom(ctx).Info("tenant deleted", "deletionPolicy", deletionPolicy(t))
	return ctrl.Result{}, nil
}

// retain keeps the tenant namespace and its data after the Tenant goes: every child
// loses its owner reference (so garbage collection leaves it), workloads scale to
// zero, the owners lose their binding, and the namespace is marked retained, to be
// adopted by a later Tenant of the same name.
func (r *TenantReconciler) retain(ctx context.Context, t *silov1.Tenant, ns *corev1.Namespace) error {
	var errs []error
	for _, obj := range ownedTypes() {
		gvk, err := apiutil.GVKForObject(obj, r.Scheme)
		if err != nil {
			return err
		}
		items, err := r.listChildren(ctx, t, ns.Name, gvk)
		if err != nil {
			return err
		}
		for _, item := range items {
			errs = append(errs, r.retainChild(ctx, gvk.Kind, item))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retaining namespace %s: %w", ns.Name, err)
	}
	// The Tenant could only be deleted with its protection off, so the namespace's
	// copy of it goes too (it may be stale if the operator never saw the change).
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":null,"annotations":{%q:%q,%q:null}}}`,
		silov1.RetainedAnnotation, time.Now().UTC().Format(time.RFC3339), silov1.DeletionProtectionAnnotation)
	if err := r.Patch(ctx, ns, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("marking namespace %s retained: %w", ns.Name, err)
	}
	r.event(t, corev1.EventTypeNormal, "NamespaceRetained", "Delete",
		"kept namespace %s with its volumes and credentials (deletionPolicy Retain); a new Tenant named %s adopts it", ns.Name, t.Name)
	return nil
}

// retainChild orphans one child, scaling it to zero or removing it where keeping it
// running or granting would be wrong after the Tenant is gone.
func (r *TenantReconciler) retainChild(ctx context.Context, kind string, obj client.Object) error {
	var patch string
	switch kind {
	case "RoleBinding", "HorizontalPodAutoscaler":
		// Owners lose access with their Tenant; an autoscaler would undo the scale-down.
		return client.IgnoreNotFound(r.Delete(ctx, obj))
	case "Deployment", "StatefulSet":
		patch = `{"metadata":{"ownerReferences":null},"spec":{"replicas":0}}`
	default:
		if len(obj.GetOwnerReferences()) == 0 {
			return nil
		}
		patch = `{"metadata":{"ownerReferences":null}}`
	}
	err := r.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner))
	return client.IgnoreNotFound(err)
}
