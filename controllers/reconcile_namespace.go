package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// reconcileNamespace makes sure the tenant namespace exists and is this Tenant's. It
// returns done=true when the rest of the pass must wait (the namespace is still
// terminating from an earlier deletion).
func (r *TenantReconciler) reconcileNamespace(ctx context.Context, t *silov1.Tenant, obs *observation) (done bool, err error) {
	ns := &corev1.Namespace{}
	switch err := r.Get(ctx, client.ObjectKey{Name: NamespaceFor(t)}, ns); {
	case apierrors.IsNotFound(err):
		// The cache holds only Silo's namespaces, so a miss may still be someone
		// else's namespace: create (never apply, which would take it over).
		return r.createNamespace(ctx, t, obs)
	case err != nil:
		return false, fmt.Errorf("reading namespace of %s: %w", klog.KObj(t), err)
	default:
		if ns.Labels[silov1.TenantLabel] != t.Name {
			namespaceConflict(ns, obs)
			return true, nil
		}
		if !ns.DeletionTimestamp.IsZero() {
			obs.blocked = &blockage{
				reason:  silov1.NamespaceTerminatingReason,
				message: fmt.Sprintf("namespace %s is still being deleted from an earlier Tenant; waiting for it to go", ns.Name),
				waiting: true,
			}
			obs.requeueAfter = namespaceRequeue
			return true, nil
		}
		if _, retained := ns.Annotations[silov1.RetainedAnnotation]; retained {
			// A Tenant of the same name was deleted with deletionPolicy Retain: adopt
			// its namespace, data and credentials.
			patch := client.RawPatch(types.MergePatchType,
				[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, silov1.RetainedAnnotation)))
			if err := r.Patch(ctx, ns, patch, client.FieldOwner(FieldOwner)); err != nil {
				return false, fmt.Errorf("adopting retained namespace %s: %w", ns.Name, err)
			}
			r.event(t, corev1.EventTypeNormal, "Adopted", "Adopt", "adopted retained namespace %s and its data", ns.Name)
		}
	}
	d, err := newDesiredChild(buildNamespace(t, &r.Config))
	if err != nil {
		return false, err
	}
	key, res, err := r.applier().apply(ctx, d, applyOptions{createdByCreate: true})
	if err != nil {
		return false, fmt.Errorf("namespace of %s: %w", klog.KObj(t), err)
	}
	obs.noteApplied(key, res)
	return false, nil
}

// createNamespace creates the tenant namespace, or reports a conflict when a namespace
// of that name exists and is not this Tenant's.
func (r *TenantReconciler) createNamespace(ctx context.Context, t *silov1.Tenant, obs *observation) (done bool, err error) {
	u, err := withSpecHash(buildNamespace(t, &r.Config))
	if err != nil {
		return false, err
	}
	switch err := r.Create(ctx, u, client.FieldOwner(FieldOwner)); {
	case err == nil:
		obs.namespaceCreated = true
		obs.noteApplied(childKey{gvk: u.GroupVersionKind(), name: u.GetName()}, created)
		// No event of its own: the pass's one event names every kind it created.
		ctrl.LoggerFrom(ctx).Info("created namespace", "namespace", u.GetName())
		return false, nil
	case !apierrors.IsAlreadyExists(err):
		return false, fmt.Errorf("creating namespace of %s: %w", klog.KObj(t), err)
	}
	existing := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: u.GetName()}, existing); err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", u.GetName(), err)
	}
	if existing.Labels[silov1.TenantLabel] != t.Name {
		namespaceConflict(existing, obs)
		return true, nil
	}
	// Ours, and the cache had not seen it yet: the watch brings it.
	obs.requeueAfter = time.Second
	return true, nil
}

// namespaceConflict records that the tenant namespace belongs to something else. The
// operator cannot watch that namespace (it caches only its own): it looks again later.
func namespaceConflict(ns *corev1.Namespace, obs *observation) {
	obs.blocked = &blockage{
		reason: silov1.NamespaceConflictReason,
		message: fmt.Sprintf("namespace %s already exists and does not belong to this Tenant (label %s=%q); "+
			"rename the Tenant or delete that namespace", ns.Name, silov1.TenantLabel, ns.Labels[silov1.TenantLabel]),
		recheck: true,
	}
}

// Bounds of how soon a Tenant blocked by something the operator does not watch looks
// again.
const (
	recheckMin = 5 * time.Second
	recheckMax = 5 * time.Minute
)

// recheckAfter is how soon to look again at a problem nothing watched will report
// gone: as long as the Tenant has been Degraded for it so far, within bounds (soon
// at first, rarely for a conflict nobody resolves).
func recheckAfter(t *silov1.Tenant, reason string, now time.Time) time.Duration {
	d := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
	if d == nil || d.Reason != reason || d.Status != metav1.ConditionTrue {
		return recheckMin
	}
	return min(max(now.Sub(d.LastTransitionTime.Time), recheckMin), recheckMax)
}
