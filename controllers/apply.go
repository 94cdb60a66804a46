package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

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
	u, err := withSpecHash(desired)
	if err != nil {
		return childKey{}, unchanged, err
	}
	gvk := u.GroupVersionKind()
	typed, err := a.scheme.New(gvk)
	if err != nil {
		return childKey{}, unchanged, fmt.Errorf("no Go type for %s: %w", gvk, err)
	}
	live, ok := typed.(client.Object)
	if !ok {
		return childKey{}, unchanged, fmt.Errorf("%s is not an object", gvk)
	}
	objKey := client.ObjectKey{Namespace: u.GetNamespace(), Name: u.GetName()}
	key := childKey{gvk: gvk, name: u.GetName()}
	result := created
	switch err := a.client.Get(ctx, objKey, live); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return childKey{}, unchanged, fmt.Errorf("reading %s %s: %w", gvk.Kind, objKey, err)
	default:
		applied, err := isApplied(u.Object, live)
		if err != nil {
			return childKey{}, unchanged, err
		}
		if applied {
			return key, unchanged, nil
		}
		result = updated
	}
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return childKey{}, unchanged, fmt.Errorf("applying %s %s: %w", gvk.Kind, objKey, err)
	}
	return key, result, nil
}

// isApplied reports whether live already holds every field of want, the fields Silo
// sends. Fields want leaves out (defaults, status, other managers' fields) are
// ignored; lists must match element by element.
func isApplied(want map[string]any, live client.Object) (bool, error) {
	l, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false, fmt.Errorf("converting live object: %w", err)
	}
	return isSubset(want, l), nil
}

// isSubset reports whether every value in want is present and equal in live.
func isSubset(want, live any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		for k, wv := range w {
			lv, found := l[k]
			if !found {
				if isEmptyValue(wv) {
					continue
				}
				return false
			}
			if !isSubset(wv, lv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		if len(l) != len(w) {
			return false
		}
		for i := range w {
			if !isSubset(w[i], l[i]) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(want, live)
	}
}

// isEmptyValue reports whether v is an empty map, list or string, which the API
// server may drop.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}

// scalarEqual compares JSON scalars, treating integer and float encodings of the same
// number as equal.
func scalarEqual(a, b any) bool {
	af, aNum := toFloat(a)
	bf, bNum := toFloat(b)
	if aNum || bNum {
		return aNum && bNum && af == bf
	}
	return a == b
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// withSpecHash returns desired as an unstructured object annotated with a hash of its
// content. The hash covers everything Silo sends, so a field Silo stops sending (which
// a subset comparison cannot see) still changes the hash and triggers an apply.
func withSpecHash(desired runtime.ApplyConfiguration) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(desired)
	if err != nil {
		return nil, fmt.Errorf("encoding desired object: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("decoding desired object: %w", err)
	}
	sum := sha256.Sum256(raw)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[silov1.SpecHashAnnotation] = hex.EncodeToString(sum[:8])
	u.SetAnnotations(ann)
	return u, nil
}
