package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
			return true, namespaceConflict(ns, t, obs)
		}
		if !ns.DeletionTimestamp.IsZero() {
			obs.blocked = &blockage{
				reason:  silov1.NamespaceTerminatingReason,
				message: fmt.Sprintf("namespace %s is still being deleted from an earlier Tenant; waiting for it to go", ns.Name),
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
	desired := buildNamespace(t, &r.Config)
	a := &applier{client: r.Client, scheme: r.Scheme}
	_, res, err := a.apply(ctx, desired)
	if err != nil {
		return false, fmt.Errorf("namespace of %s: %w", klog.KObj(t), err)
	}
	if res != unchanged {
		obs.changed = true
	}
	if labels, annotations := staleNamespaceKeys(ns, desired); len(labels)+len(annotations) > 0 {
		nulls := func(keys []string) map[string]*string {
			m := make(map[string]*string, len(keys))
			for _, k := range keys {
				m[k] = nil
			}
			return m
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"labels": nulls(labels), "annotations": nulls(annotations)}})
		if err != nil {
			return false, err
		}
		if err := r.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldOwner)); err != nil {
			return false, fmt.Errorf("removing %v from namespace %s: %w", append(labels, annotations...), ns.Name, err)
		}
		obs.changed = true
	}
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
		obs.changed = true
		// No event: the Ready event tells the story; an event per creation would
		// cost every new Tenant one more write.
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
		return true, namespaceConflict(existing, t, obs)
	}
	// Ours, and the cache had not seen it yet: the watch brings it.
	obs.requeueAfter = time.Second
	return true, nil
}

// namespaceConflict records that the tenant namespace belongs to something else.
func namespaceConflict(ns *corev1.Namespace, t *silov1.Tenant, obs *observation) error {
	obs.blocked = &blockage{
		reason: silov1.NamespaceConflictReason,
		message: fmt.Sprintf("namespace %s already exists and does not belong to this Tenant (label %s=%q); "+
			"rename the Tenant or delete that namespace", ns.Name, silov1.TenantLabel, ns.Labels[silov1.TenantLabel]),
	}
	return terminal(fmt.Errorf("namespace %s belongs to something else", ns.Name))
}
