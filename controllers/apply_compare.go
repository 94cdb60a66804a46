package controllers

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/controller-runtime/pkg/client"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	smdtyped "sigs.k8s.io/structured-merge-diff/v6/typed"
)

// isApplied reports whether an apply of want would leave live as it is. Fields want
// leaves out (defaults, status, other managers' fields) are ignored, except inside
// the fields the schema makes atomic, which an apply replaces whole: there only empty
// values and the API server's defaults may be added. A plain subset comparison
// answers most passes; when it sees a difference, the object's schema decides, as the
// API server would merge: another manager's entry in a keyed list, or Silo's keyed
// entries in another order, are no change; anything else in a field Silo sends is,
// whatever its value ({} included).
func isApplied(want map[string]any, live client.Object) (bool, error) {
	l, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false, fmt.Errorf("converting live object: %w", err)
	}
	// The informer cache's own copy of an object carries no apiVersion and kind.
	l["apiVersion"], l["kind"] = want["apiVersion"], want["kind"]
	wt, err := typeConverter().ObjectToTyped(&unstructured.Unstructured{Object: want}, smdtyped.AllowDuplicates)
	if err != nil {
		// A kind without a known schema: nothing is known to be atomic.
		return isSubset(want, l), nil
	}
	sch, tr := wt.Schema(), wt.TypeRef()
	l, _ = withoutNoiseInAtomic(sch, tr, want, l).(map[string]any)
	if isSubset(want, l) {
		return atomicSubtreesIntact(sch, tr, want, l), nil
	}
	return mergeChangesNothing(wt, l)
}

// withoutNoiseInAtomic returns live without what an apply of want would leave as it
// is inside the fields the schema makes atomic, though want lacks it: empty values
// (a typed object encodes its zero values) and server defaults at their default.
// Keyed lists are matched by their keys. Maps are copied, never changed.
func withoutNoiseInAtomic(s *smdschema.Schema, tr smdschema.TypeRef, want, live any) any {
	atom, ok := s.Resolve(tr)
	if !ok {
		return live
	}
	switch {
	case atom.Map != nil:
		w, wok := want.(map[string]any)
		l, lok := live.(map[string]any)
		if !wok || !lok {
			return live
		}
		if atom.Map.ElementRelationship == smdschema.Atomic {
			return withoutNoiseBelow(s, tr, w, l, "")
		}
		out := make(map[string]any, len(l))
		for k, lv := range l {
			out[k] = lv
			if wv, sent := w[k]; sent {
				out[k] = withoutNoiseInAtomic(s, fieldType(atom.Map, k), wv, lv)
			}
		}
		return out
	case atom.List != nil:
		w, wok := want.([]any)
		l, lok := live.([]any)
		if !wok || !lok {
			return live
		}
		if atom.List.ElementRelationship == smdschema.Atomic {
			return withoutNoiseBelow(s, tr, w, l, "")
		}
		if atom.List.ElementRelationship != smdschema.Associative || len(atom.List.Keys) == 0 {
			return live
		}
		out := make([]any, len(l))
		for i, le := range l {
			out[i] = le
			if we := sameKeys(w, le, atom.List.Keys); we != nil {
				out[i] = withoutNoiseInAtomic(s, atom.List.ElementType, we, le)
			}
		}
		return out
	}
	return live
}

// withoutNoiseBelow removes, inside an atomic field, the keys want lacks whose live
// value is empty or a server default.
func withoutNoiseBelow(s *smdschema.Schema, tr smdschema.TypeRef, want, live any, rel string) any {
	atom, _ := s.Resolve(tr)
	switch l := live.(type) {
	case map[string]any:
		w, _ := want.(map[string]any)
		out := make(map[string]any, len(l))
		for k, lv := range l {
			ftr := fieldType(atom.Map, k)
			wv, sent := w[k]
			path := rel + "." + k
			switch m, isMap := lv.(map[string]any); {
			case sent:
				out[k] = withoutNoiseBelow(s, ftr, wv, lv, path)
			case isServerDefault(path, lv):
			case isMap:
				// A struct Silo does not send (a claim template's status) holding only
				// noise: {phase: Pending}.
				if !isEmptyValue(s, ftr, withoutNoiseBelow(s, ftr, nil, m, path)) {
					out[k] = lv
				}
			case isEmptyValue(s, ftr, lv):
			default:
				out[k] = lv
			}
		}
		return out
	case []any:
		w, _ := want.([]any)
		if len(w) != len(l) {
			return live
		}
		etr := smdschema.TypeRef{}
		if atom.List != nil {
			etr = atom.List.ElementType
		}
		out := make([]any, len(l))
		for i := range l {
			out[i] = withoutNoiseBelow(s, etr, w[i], l[i], "")
		}
		return out
	}
	return live
}

// fieldType is the type of a map's key k (nil map: none).
func fieldType(m *smdschema.Map, k string) smdschema.TypeRef {
	if m == nil {
		return smdschema.TypeRef{}
	}
	if f, ok := m.FindField(k); ok {
		return f.Type
	}
	return m.ElementType
}

// sameKeys returns the element of want whose key fields equal those of e, or nil.
func sameKeys(want []any, e any, keys []string) map[string]any {
	em, ok := e.(map[string]any)
	if !ok {
		return nil
	}
	for _, w := range want {
		wm, ok := w.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for _, k := range keys {
			if !scalarEqual(wm[k], em[k]) {
				match = false
				break
			}
		}
		if match {
			return wm
		}
	}
	return nil
}

// atomicSubtreesIntact reports, for a live object that holds every value Silo sends,
// whether it also holds nothing more inside the fields the schema makes atomic (a
// selector, a NetworkPolicy peer, a toleration list, a volume claim template): an
// apply replaces such a field whole, so a key another writer added there is drift. A
// peer {podSelector: {}} that gained namespaceSelector: {} admits every namespace.
func atomicSubtreesIntact(s *smdschema.Schema, tr smdschema.TypeRef, want, live any) bool {
	atom, ok := s.Resolve(tr)
	if !ok {
		return true
	}
	switch {
	case atom.Map != nil:
		w, wok := want.(map[string]any)
		l, lok := live.(map[string]any)
		if !wok || !lok {
			return true
		}
		if atom.Map.ElementRelationship == smdschema.Atomic {
			return exactlyAsSent(w, l)
		}
		for k, wv := range w {
			if !atomicSubtreesIntact(s, fieldType(atom.Map, k), wv, l[k]) {
				return false
			}
		}
	case atom.List != nil:
		w, wok := want.([]any)
		l, lok := live.([]any)
		if !wok || !lok || len(w) != len(l) {
			return true
		}
		if atom.List.ElementRelationship == smdschema.Atomic {
			return exactlyAsSent(w, l)
		}
		// isSubset matched the elements by position.
		for i := range w {
			if !atomicSubtreesIntact(s, atom.List.ElementType, w[i], l[i]) {
				return false
			}
		}
	}
	return true
}

// exactlyAsSent reports whether live, inside an atomic field and without its noise
// (withoutNoiseInAtomic), holds exactly want: live already holds every value of want,
// so only a key want lacks can differ.
func exactlyAsSent(want, live any) bool {
	switch l := live.(type) {
	case map[string]any:
		w, _ := want.(map[string]any)
		for k, lv := range l {
			wv, sent := w[k]
			if !sent || !exactlyAsSent(wv, lv) {
				return false
			}
		}
	case []any:
		w, _ := want.([]any)
		if len(w) != len(l) {
			return false
		}
		for i := range l {
			if !exactlyAsSent(w[i], l[i]) {
				return false
			}
		}
	}
	return true
}

// serverDefaults are the values the API server sets inside atomic fields Silo sends,
// by the path of the field below the atomic one: a claim template's phase and volume
// mode, a NetworkPolicy port's protocol.
var serverDefaults = map[string]any{
	".status.phase":    "Pending",
	".spec.volumeMode": "Filesystem",
	".protocol":        "TCP",
}

// isServerDefault reports whether v is the API server's default for the field at
// path below an atomic field.
func isServerDefault(path string, v any) bool {
	d, ok := serverDefaults[path]
	return ok && scalarEqual(d, v)
}

// isEmptyValue reports whether v, of type tr, means nothing: null, "", [], or a
// struct of only such values. A map the schema makes atomic (a label selector) is
// never empty: {} selects everything.
func isEmptyValue(s *smdschema.Schema, tr smdschema.TypeRef, v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		atom, ok := s.Resolve(tr)
		if ok && atom.Map != nil && atom.Map.ElementRelationship == smdschema.Atomic {
			return false
		}
		for k, e := range x {
			if !isEmptyValue(s, fieldType(atom.Map, k), e) {
				return false
			}
		}
		return true
	}
	return false
}

// typeConverter knows the schema (list keys, atomic structs) of the built-in kinds.
var typeConverter = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(NewScheme())
})

// mergeChangesNothing merges want (with its schema) into live, as a server-side apply
// would, and reports whether the result equals live.
func mergeChangesNothing(want *smdtyped.TypedValue, live map[string]any) (bool, error) {
	lt, err := typeConverter().ObjectToTyped(&unstructured.Unstructured{Object: live}, smdtyped.AllowDuplicates)
	if err != nil {
		return false, fmt.Errorf("reading live object with its schema: %w", err)
	}
	merged, err := lt.Merge(want)
	if err != nil {
		return false, fmt.Errorf("merging desired into live object: %w", err)
	}
	cmp, err := lt.Compare(merged)
	if err != nil {
		return false, fmt.Errorf("comparing merged and live object: %w", err)
	}
	return cmp.IsSame(), nil
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
