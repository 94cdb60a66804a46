package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	// sender sends the applies.
	sender applySender
	// versions remembers the version of each child Silo's last apply or comparison
	// saw, so an unchanged child is neither compared nor applied again.
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

// apply writes d if the cluster does not already hold it. An object at that name
// that does not carry the Tenant's labels is never applied over: apply returns a
// *childConflict. The informer cache's copy of the child is only read, never copied.
func (a *applier) apply(ctx context.Context, d *desiredChild, opts applyOptions) (childKey, applyResult, error) {
	gvk, objKey := d.gvk, d.key
	typed, err := a.scheme.New(gvk)
	if err != nil {
		return childKey{}, unchanged, fmt.Errorf("no Go type for %s: %w", gvk, err)
	}
	live, ok := typed.(client.Object)
	if !ok {
		return childKey{}, unchanged, fmt.Errorf("%s is not an object", gvk)
	}
	key := d.childKey()
	result := created
	switch err := a.client.Get(ctx, objKey, live, client.UnsafeDisableDeepCopy); {
	case apierrors.IsNotFound(err) && opts.inNewNamespace:
	case apierrors.IsNotFound(err):
		ours, err := a.absentOrOurs(ctx, gvk, objKey, d.labels)
		if err != nil {
			return childKey{}, unchanged, err
		}
		if !ours {
			return childKey{}, unchanged, &childConflict{kind: gvk.Kind, namespace: objKey.Namespace, name: objKey.Name}
		}
	case err != nil:
		return childKey{}, unchanged, fmt.Errorf("reading %s %s: %w", gvk.Kind, objKey, err)
	default:
		if a.versions.holds(gvk, objKey, live.GetResourceVersion(), d.hash) {
			return key, unchanged, nil
		}
		u, err := d.object()
		if err != nil {
			return childKey{}, unchanged, err
		}
		applied, err := isApplied(u.Object, live)
		if err != nil {
			return childKey{}, unchanged, err
		}
		if applied {
			a.versions.matched(gvk, objKey, live.GetResourceVersion(), d.hash)
			return key, unchanged, nil
		}
		if opts.createdByCreate && live.GetAnnotations()[silov1.SpecHashAnnotation] != d.hash {
			if err := a.moveUpdateFieldsToApply(ctx, gvk, objKey); err != nil {
				return childKey{}, unchanged, err
			}
		}
		result = updated
	}
	stored, err := a.sender.send(ctx, d)
	if err != nil {
		return childKey{}, unchanged, fmt.Errorf("applying %s %s: %w", gvk.Kind, objKey, err)
	}
	a.versions.wrote(gvk, objKey, stored, d.hash)
	return key, result, nil
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

// applyDataChild applies one child that lives outside the Tenant's desired set: a Job
// (a backup's checkpoint, a migration, a rotation step, an export, a restore's
// password) or a claim or Secret of those. It is called only while the Job is absent:
// a Job, whose pod template cannot change, is never updated.
func (r *TenantReconciler) applyDataChild(ctx context.Context, obj runtime.ApplyConfiguration) error {
	d, err := newDesiredChild(obj)
	if err != nil {
		return err
	}
	if _, _, err := r.applier().apply(ctx, d, applyOptions{}); err != nil {
		return fmt.Errorf("creating %s %s: %w", d.gvk.Kind, d.key.Name, err)
	}
	return nil
}

// desiredChild is one child as Silo sends it: its identity and labels, its content as
// JSON, and a hash of that content. The hash covers everything Silo sends, so a field
// Silo stops sending (which a subset comparison cannot see) still changes the hash and
// triggers an apply. The content is decoded into a map only when a pass must compare
// or write it.
type desiredChild struct {
	gvk    schema.GroupVersionKind
	key    client.ObjectKey
	labels map[string]string
	hash   string
	ac     runtime.ApplyConfiguration
	raw    []byte
	obj    *unstructured.Unstructured
}

// newDesiredChild encodes an apply configuration and hashes it.
func newDesiredChild(desired runtime.ApplyConfiguration) (*desiredChild, error) {
	raw, err := json.Marshal(desired)
	if err != nil {
		return nil, fmt.Errorf("encoding desired object: %w", err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("decoding desired object: %w", err)
	}
	sum := sha256.Sum256(raw)
	return &desiredChild{
		gvk:    schema.FromAPIVersionAndKind(head.APIVersion, head.Kind),
		key:    client.ObjectKey{Namespace: head.Metadata.Namespace, Name: head.Metadata.Name},
		labels: head.Metadata.Labels,
		hash:   hex.EncodeToString(sum[:8]),
		ac:     desired,
		raw:    raw,
	}, nil
}

// childKey is the child's identity in the Tenant's desired set.
func (d *desiredChild) childKey() childKey {
	return childKey{gvk: d.gvk, name: d.key.Name}
}

// object returns the child as an unstructured object annotated with its spec hash.
// Callers must not change it.
func (d *desiredChild) object() (*unstructured.Unstructured, error) {
	if d.obj != nil {
		return d.obj, nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(d.raw); err != nil {
		return nil, fmt.Errorf("decoding desired object: %w", err)
	}
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[silov1.SpecHashAnnotation] = d.hash
	u.SetAnnotations(ann)
	d.obj = u
	return u, nil
}

// body is what an apply of the child sends: its content with the spec hash. A
// client-go apply configuration is encoded again with the annotation added to a copy
// of its annotations; anything else goes through the decoded object.
func (d *desiredChild) body() ([]byte, error) {
	if m := objectMetaOf(d.ac); m != nil {
		annotations := make(map[string]string, len(m.Annotations)+1)
		for k, v := range m.Annotations {
			annotations[k] = v
		}
		annotations[silov1.SpecHashAnnotation] = d.hash
		orig := m.Annotations
		m.Annotations = annotations
		defer func() { m.Annotations = orig }()
		return json.Marshal(d.ac)
	}
	u, err := d.object()
	if err != nil {
		return nil, err
	}
	return json.Marshal(u.Object)
}

// objectMetaOf returns the metadata of a client-go apply configuration (every one
// embeds it), or nil.
func objectMetaOf(ac runtime.ApplyConfiguration) *metav1ac.ObjectMetaApplyConfiguration {
	v := reflect.ValueOf(ac)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("ObjectMetaApplyConfiguration")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return nil
	}
	m, _ := f.Interface().(*metav1ac.ObjectMetaApplyConfiguration)
	return m
}

// withSpecHash returns desired as an unstructured object annotated with a hash of its
// content (desiredChild.object).
func withSpecHash(desired runtime.ApplyConfiguration) (*unstructured.Unstructured, error) {
	d, err := newDesiredChild(desired)
	if err != nil {
		return nil, err
	}
	return d.object()
}
