package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	smdtyped "sigs.k8s.io/structured-merge-diff/v6/typed"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// applier writes desired children with server-side apply under FieldOwner, and only
// when the apply would change something: a reconcile of an unchanged Tenant sends no
// write, whatever other field managers added beside Silo's fields.
type applier struct {
	// client reads from the informer cache, which holds only objects labelled as
	// Silo's, and writes.
	client client.Client
	// apiReader reads past the cache: an object at a child's name that the cache
	// does not hold may still exist, unlabelled.
	apiReader client.Reader
	scheme    *runtime.Scheme
	// versions remembers children whose applied state differs from what Silo sends
	// (another manager's additions, a mutating webhook), so they are not re-applied
	// until they change.
	versions *appliedVersions
}

// applyResult says what apply did.
type applyResult int

const (
	unchanged applyResult = iota
	created
	updated
)

// applyOptions adjust one apply.
type applyOptions struct {
	// createdByCreate marks a child Silo creates with a plain create (the namespace:
	// an apply would take over a foreign namespace of that name). Its fields then
	// belong to Silo's Update entry, which an apply never clears; before a write
	// that changes what Silo sends, they move to Silo's apply entry.
	createdByCreate bool
	// inNewNamespace says the pass created the child's namespace and has not yet
	// granted anyone else access to it: a child the cache lacks does not exist.
	inNewNamespace bool
}

// childConflict is an object at a child's name that Silo did not create: it is left
// alone, and the Tenant says what to do about it.
type childConflict struct {
	kind, namespace, name string
}

func (c *childConflict) Error() string {
	return fmt.Sprintf("%s %s exists in namespace %s and was not created by Silo: delete it "+
		"(kubectl delete %s -n %s %s) so Silo can create its own", c.kind, c.name, c.namespace,
		strings.ToLower(c.kind), c.namespace, c.name)
}

// apply writes u, an apply configuration with its spec hash (withSpecHash), if the
// cluster does not already hold it. An object at that name that does not carry the
// Tenant's labels is never applied over: apply returns a *childConflict.
func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured, opts applyOptions) (childKey, applyResult, error) {
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
	key := keyOf(u)
	result := created
	switch err := a.client.Get(ctx, objKey, live); {
	case apierrors.IsNotFound(err) && opts.inNewNamespace:
	case apierrors.IsNotFound(err):
		ours, err := a.absentOrOurs(ctx, gvk, objKey, u.GetLabels())
		if err != nil {
			return childKey{}, unchanged, err
		}
		if !ours {
			return childKey{}, unchanged, &childConflict{kind: gvk.Kind, namespace: objKey.Namespace, name: objKey.Name}
		}
	case err != nil:
		return childKey{}, unchanged, fmt.Errorf("reading %s %s: %w", gvk.Kind, objKey, err)
	default:
		if a.versions.holds(gvk, live, u) {
			return key, unchanged, nil
		}
		applied, err := isApplied(u.Object, live)
		if err != nil {
			return childKey{}, unchanged, err
		}
		if applied {
			a.versions.forget(gvk, objKey)
			return key, unchanged, nil
		}
		if opts.createdByCreate && live.GetAnnotations()[silov1.SpecHashAnnotation] != u.GetAnnotations()[silov1.SpecHashAnnotation] {
			if err := a.moveUpdateFieldsToApply(ctx, gvk, objKey); err != nil {
				return childKey{}, unchanged, err
			}
		}
		result = updated
	}
	want := u.DeepCopy().Object
	// The response replaces u's content: the object as stored, after admission.
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return childKey{}, unchanged, fmt.Errorf("applying %s %s: %w", gvk.Kind, objKey, err)
	}
	a.versions.record(gvk, objKey, want, u)
	a.versions.wrote(gvk, objKey, u.GetGeneration())
	return key, result, nil
}

// keyOf is the identity of a desired child.
func keyOf(u *unstructured.Unstructured) childKey {
	return childKey{gvk: u.GroupVersionKind(), name: u.GetName()}
}

// absentOrOurs reads, past the label-filtered cache, whether an object exists at a
// child's name, and reports true when there is none or it carries the Tenant's labels
// (the cache has not caught up, or it was retained from a deleted Tenant of the same
// name). Only the object's metadata is read.
func (a *applier) absentOrOurs(ctx context.Context, gvk schema.GroupVersionKind, key client.ObjectKey, want map[string]string) (bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	switch err := a.apiReader.Get(ctx, key, m); {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading %s %s: %w", gvk.Kind, key, err)
	}
	return carriesLabels(m.Labels, want), nil
}

// carriesLabels reports whether an object's labels name it Silo's and the same
// Tenant's as want (the labels of what Silo would apply there).
func carriesLabels(labels, want map[string]string) bool {
	return labels[silov1.ManagedByLabel] == silov1.ManagedByValue &&
		labels[silov1.TenantLabel] != "" && labels[silov1.TenantLabel] == want[silov1.TenantLabel]
}

// moveUpdateFieldsToApply gives the fields Silo's plain create left to its Update
// entry to its apply entry (client-go's csaupgrade), so an apply that stops sending
// one of them removes it. It reads the object from the API server: the cache strips
// managed fields. The patch carries the resourceVersion it was computed from.
func (a *applier) moveUpdateFieldsToApply(ctx context.Context, gvk schema.GroupVersionKind, key client.ObjectKey) error {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := a.apiReader.Get(ctx, key, live); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("reading %s %s: %w", gvk.Kind, key, err))
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, sets.New(FieldOwner), FieldOwner)
	if err != nil || patch == nil {
		return err
	}
	if err := a.client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("moving the fields of %s %s to Silo's apply entry: %w", gvk.Kind, key, err)
	}
	return nil
}

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

// applyDataChild applies one child that lives outside the Tenant's desired set: a Job
// (a backup's checkpoint, a migration, a rotation step, an export, a restore's
// password) or a claim or Secret of those. It is called only while the Job is absent:
// a Job, whose pod template cannot change, is never updated.
func (r *TenantReconciler) applyDataChild(ctx context.Context, obj runtime.ApplyConfiguration) error {
	u, err := withSpecHash(obj)
	if err != nil {
		return err
	}
	if _, _, err := r.applier().apply(ctx, u, applyOptions{}); err != nil {
		return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
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

// appliedVersions remembers, for children whose stored form differs from what Silo
// sends even right after Silo applied it (a mutating webhook adds a toleration to an
// atomic list Silo owns, say), the resourceVersion the apply returned and the hash of
// what was sent. While both still match, the child is as Silo left it: applying again
// would change nothing but would cost a write on every pass. Cluster API keeps the
// same kind of cache (internal/util/ssa). Only such children are remembered, so a
// fleet where nothing interferes costs no memory.
type appliedVersions struct {
	mu sync.Mutex
	m  map[appliedKey]appliedVersion
	// generations are the metadata.generation each child's last write returned.
	generations map[appliedKey]int64
}

type appliedKey struct {
	gvk schema.GroupVersionKind
	key client.ObjectKey
}

type appliedVersion struct {
	resourceVersion, hash string
}

// holds reports whether live is the version Silo's last apply of desired returned.
func (v *appliedVersions) holds(gvk schema.GroupVersionKind, live client.Object, desired *unstructured.Unstructured) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	got, ok := v.m[appliedKey{gvk, client.ObjectKeyFromObject(live)}]
	return ok && got.resourceVersion == live.GetResourceVersion() &&
		got.hash == desired.GetAnnotations()[silov1.SpecHashAnnotation]
}

// record remembers what an apply of want returned, when that differs from want.
func (v *appliedVersions) record(gvk schema.GroupVersionKind, key client.ObjectKey, want map[string]any, stored *unstructured.Unstructured) {
	if v == nil {
		return
	}
	if isSubset(want, stored.Object) {
		v.forget(gvk, key)
		return
	}
	if same, err := mergeChangesNothing(want, stored.Object); err == nil && same {
		v.forget(gvk, key)
		return
	}
	hash, _, _ := unstructured.NestedString(want, "metadata", "annotations", silov1.SpecHashAnnotation)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[appliedKey]appliedVersion{}
	}
	v.m[appliedKey{gvk, key}] = appliedVersion{resourceVersion: stored.GetResourceVersion(), hash: hash}
}

// wrote remembers the generation a write of a child returned.
func (v *appliedVersions) wrote(gvk schema.GroupVersionKind, key client.ObjectKey, generation int64) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.generations == nil {
		v.generations = map[appliedKey]int64{}
	}
	v.generations[appliedKey{gvk, key}] = generation
}

// generation is the generation Silo's last write of a child returned, 0 when this
// process has not written it. The informer cache may still hold an older version of
// the child for a moment after the write: readiness judged from that version would
// judge the spec before the write.
func (v *appliedVersions) generation(gvk schema.GroupVersionKind, key client.ObjectKey) int64 {
	if v == nil {
		return 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.generations[appliedKey{gvk, key}]
}

// forget drops what was remembered about a child.
func (v *appliedVersions) forget(gvk schema.GroupVersionKind, key client.ObjectKey) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, appliedKey{gvk, key})
}
