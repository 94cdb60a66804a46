package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// applier writes desired children with server-side apply under FieldOwner, and only
// when the live object (read from the informer cache) differs from what is desired:
// a reconcile of an unchanged Tenant sends no write.
type applier struct {
	client client.Client
	scheme *runtime.Scheme
}

// applyResult says what apply did.
type applyResult int

const (
	unchanged applyResult = iota
	created
	updated
)

// apply writes desired if the cluster does not already hold it. desired is an apply
// configuration from k8s.io/client-go/applyconfigurations.
func (a *applier) apply(ctx context.Context, desired runtime.ApplyConfiguration) (childKey, applyResult, error) {
	raw, err := json.Marshal(desired)
	if err != nil {
		return childKey{}, unchanged, fmt.Errorf("encoding desired object: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return childKey{}, unchanged, fmt.Errorf("decoding desired object: %w", err)
	}
	// The hash covers everything Silo sends, so a field Silo stops sending (which a
	// subset comparison cannot see) still changes the hash and triggers an apply.
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:8])
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[silov1.SpecHashAnnotation] = hash
	u.SetAnnotations(ann)

	gvk := u.GroupVersionKind()
	typed, err := a.scheme.New(gvk)
	if err != nil {
		return childKey{}, unchanged, fmt.Errorf("no Go type for %s: %w", gvk, err)
	}
	want, ok := typed.(client.Object)
	if !ok {
		return childKey{}, unchanged, fmt.Errorf("%s is not an object", gvk)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, want); err != nil {
		return childKey{}, unchanged, fmt.Errorf("converting desired %s: %w", gvk.Kind, err)
	}
	key := childKey{gvk: gvk, name: want.GetName()}
	live := want.DeepCopyObject().(client.Object)
	result := created
	switch err := a.client.Get(ctx, client.ObjectKeyFromObject(want), live); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return childKey{}, unchanged, fmt.Errorf("reading %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(want), err)
	default:
		if isApplied(want, live) {
			return key, unchanged, nil
		}
		result = updated
	}
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return childKey{}, unchanged, fmt.Errorf("applying %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(want), err)
	}
	return key, result, nil
}

// isApplied reports whether live already holds every field set in want. Fields want
// leaves unset (defaults, status, other managers' fields) are ignored.
func isApplied(want, live client.Object) bool {
	w := want.DeepCopyObject().(client.Object)
	// The cache strips type meta; what matters is the content.
	w.GetObjectKind().SetGroupVersionKind(live.GetObjectKind().GroupVersionKind())
	// DeepDerivative treats a zero number or time in want as a value, not as unset, so
	// the metadata the API server sets must not count as a difference (else every
	// reconcile would re-apply every child).
	w.SetCreationTimestamp(live.GetCreationTimestamp())
	w.SetGeneration(live.GetGeneration())
	return equality.Semantic.DeepDerivative(w, live)
}
