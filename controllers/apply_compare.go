package controllers

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/controller-runtime/pkg/client"
	smdtyped "sigs.k8s.io/structured-merge-diff/v6/typed"
)

// isApplied reports whether an apply of want would leave live as it is. Fields want
// leaves out (defaults, status, other managers' fields) are ignored. A plain subset
// comparison answers most passes; when it sees a difference, the object's schema
// decides, as the API server would merge: another manager's entry in a keyed list,
// or Silo's keyed entries in another order, are no change; anything else in a field
// Silo sends is, whatever its value ({} included).
func isApplied(want map[string]any, live client.Object) (bool, error) {
	l, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false, fmt.Errorf("converting live object: %w", err)
	}
	// The informer cache's own copy of an object carries no apiVersion and kind.
	l["apiVersion"], l["kind"] = want["apiVersion"], want["kind"]
	if isSubset(want, l) {
		return true, nil
	}
	return mergeChangesNothing(want, l)
}

// typeConverter knows the schema (list keys, atomic structs) of the built-in kinds.
var typeConverter = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(NewScheme())
})

// mergeChangesNothing merges want into live with the kinds' schema, as a server-side
// apply would, and reports whether the result equals live.
func mergeChangesNothing(want, live map[string]any) (bool, error) {
	live = withTypeOf(live, want)
	tc := typeConverter()
	lt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: live}, smdtyped.AllowDuplicates)
	if err != nil {
		return false, fmt.Errorf("reading live object with its schema: %w", err)
	}
	wt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: want}, smdtyped.AllowDuplicates)
	if err != nil {
		return false, fmt.Errorf("reading desired object with its schema: %w", err)
	}
	merged, err := lt.Merge(wt)
	if err != nil {
		return false, fmt.Errorf("merging desired into live object: %w", err)
	}
	cmp, err := lt.Compare(merged)
	if err != nil {
		return false, fmt.Errorf("comparing merged and live object: %w", err)
	}
	return cmp.IsSame(), nil
}

// withTypeOf returns live with want's apiVersion and kind (typed objects from a
// client may carry none).
func withTypeOf(live, want map[string]any) map[string]any {
	if live["apiVersion"] == want["apiVersion"] && live["kind"] == want["kind"] {
		return live
	}
	out := make(map[string]any, len(live)+2)
	for k, v := range live {
		out[k] = v
	}
	out["apiVersion"], out["kind"] = want["apiVersion"], want["kind"]
	return out
}

// isSubset reports whether every value in want is present and equal in live. An
// empty map in want ({}: an empty selector, an emptyDir) must be an empty map in
// live: {} selects everything, and a key added to it (or the key gone) changes what
// it means. Empty strings and lists, which the API server drops, may be absent.
func isSubset(want, live any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		if len(w) == 0 {
			return len(l) == 0
		}
		for k, wv := range w {
			lv, found := l[k]
			if !found {
				if isDroppedValue(wv) {
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

// isDroppedValue reports whether v is a value the API server drops when it is
// empty: null, an empty list or an empty string.
func isDroppedValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
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
