package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// pruneStale deletes children that carry the Tenant's labels but are no longer
// desired (an Ingress after spec.app.ingress was removed, say). Children are found by
// label, never by remembered names. Volume claims and Secrets are never pruned: they
// hold customer data and credentials. The exception is the copies of image pull
// Secrets, which are the platform's: one it withdrew must not stay behind.
func (r *TenantReconciler) pruneStale(ctx context.Context, t *silov1.Tenant, desired map[childKey]bool) error {
	for _, obj := range r.Config.ownedTypes() {
		gvk, err := apiutil.GVKForObject(obj, r.Scheme)
		if err != nil {
			return err
		}
		if isDataKind(gvk.Kind) && gvk.Kind != "Secret" {
			continue
		}
		// A typed list reads from the informer cache: pruning costs no API request.
		// Its items are the cache's own objects, only read here.
		items, err := r.listChildren(ctx, t, NamespaceFor(t), gvk, client.UnsafeDisableDeepCopy)
		if err != nil {
			return err
		}
		for _, item := range items {
			if desired[childKey{gvk: gvk, name: item.GetName()}] || !item.GetDeletionTimestamp().IsZero() ||
				(isDataKind(gvk.Kind) && item.GetLabels()[silov1.ComponentLabel] != PullSecretComponent) {
				continue
			}
			// The item is the cache's own copy: delete a copy of it.
			stale := item.DeepCopyObject().(client.Object)
			if err := r.Delete(ctx, stale, client.Preconditions{UID: ptrTo(item.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting stale %s %s: %w", gvk.Kind, klog.KObj(item), err)
			}
			r.applier().versions.forget(gvk, client.ObjectKeyFromObject(item))
			ctrl.LoggerFrom(ctx).Info("deleted stale child", "kind", gvk.Kind, "name", item.GetName())
		}
	}
	return nil
}

// isDataKind reports whether a kind holds customer data or credentials, which Silo
// never deletes on its own.
func isDataKind(kind string) bool {
	return kind == "PersistentVolumeClaim" || kind == "Secret"
}

// listChildren returns the children of kind gvk that carry the Tenant's labels in
// namespace.
func (r *TenantReconciler) listChildren(ctx context.Context, t *silov1.Tenant, namespace string,
	gvk schema.GroupVersionKind, opts ...client.ListOption) ([]client.Object, error) {
	typed, err := r.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return nil, err
	}
	list := typed.(client.ObjectList)
	opts = append(opts, client.InNamespace(namespace), client.MatchingLabels(commonLabels(t)))
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing %s of %s: %w", gvk.Kind, klog.KObj(t), err)
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(client.Object))
	}
	return out, nil
}

func ptrTo[T any](v T) *T { return &v }
