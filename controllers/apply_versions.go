package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// appliedVersions remembers, for every child Silo wrote or found as it would write it,
// the resourceVersion the API server returned and the hash of what Silo sent. While
// both still match (or the cache is older than that version), the child is as Silo
// left it: no other writer touched it since, so
// an apply of the same content would change nothing, and the pass skips the
// comparison as well as the write. That holds whatever the stored form looks like (a
// mutating webhook that adds a toleration to an atomic list Silo owns, defaults), so
// such a child costs no write on each pass either. Cluster API keeps the same kind of
// cache (internal/util/ssa). Entries are kept by namespace and dropped when a Tenant
// leaves; after a restart the first pass compares every child once.
type appliedVersions struct {
	mu          sync.Mutex
	byNamespace map[string]map[appliedKey]appliedVersion
}

type appliedKey struct {
	gvk schema.GroupVersionKind
	key client.ObjectKey
}

type appliedVersion struct {
	resourceVersion, hash string
	// generation is the metadata.generation Silo's last write returned, 0 when this
	// process has not written the child.
	generation int64
}

// bucket is the namespace a child's entry is kept under: its own, or for the
// cluster-scoped namespace object its name.
func bucket(key client.ObjectKey) string {
	if key.Namespace != "" {
		return key.Namespace
	}
	return key.Name
}

// holds reports whether a child's cached resourceVersion is the one Silo's last write
// (or comparison) of the content with this hash saw, or older: the informer cache has
// not caught up with Silo's own write yet. Comparing that older version with what Silo
// sends would find the write missing and send it again; the watch event of any newer
// version is on its way and starts a pass that compares it.
func (v *appliedVersions) holds(gvk schema.GroupVersionKind, key client.ObjectKey, resourceVersion, hash string) bool {
	if v == nil || resourceVersion == "" {
		return false
	}
	v.mu.Lock()
	got, ok := v.byNamespace[bucket(key)][appliedKey{gvk, key}]
	v.mu.Unlock()
	return ok && got.hash == hash && notNewer(resourceVersion, got.resourceVersion)
}

// notNewer reports whether resourceVersion a is b or older. Kubernetes' resource
// versions of one resource compare as integers (resourceversion.CompareResourceVersion);
// one that does not parse is only equal to itself.
func notNewer(a, b string) bool {
	if a == b {
		return true
	}
	cmp, err := resourceversion.CompareResourceVersion(a, b)
	return err == nil && cmp < 0
}

// wrote remembers what a write of the content with this hash returned.
func (v *appliedVersions) wrote(gvk schema.GroupVersionKind, key client.ObjectKey, stored storedVersion, hash string) {
	v.set(gvk, key, func(e *appliedVersion) {
		*e = appliedVersion{resourceVersion: stored.resourceVersion, hash: hash, generation: stored.generation}
	})
}

// matched remembers that the child at resourceVersion already holds the content with
// this hash, without a write: the generation Silo last wrote stays as it was.
func (v *appliedVersions) matched(gvk schema.GroupVersionKind, key client.ObjectKey, resourceVersion, hash string) {
	v.set(gvk, key, func(e *appliedVersion) {
		e.resourceVersion, e.hash = resourceVersion, hash
	})
}

func (v *appliedVersions) set(gvk schema.GroupVersionKind, key client.ObjectKey, update func(*appliedVersion)) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byNamespace == nil {
		v.byNamespace = map[string]map[appliedKey]appliedVersion{}
	}
	ns := v.byNamespace[bucket(key)]
	if ns == nil {
		ns = map[appliedKey]appliedVersion{}
		v.byNamespace[bucket(key)] = ns
	}
	k := appliedKey{gvk, key}
	e := ns[k]
	update(&e)
	ns[k] = e
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
	return v.byNamespace[bucket(key)][appliedKey{gvk, key}].generation
}

// forget drops what was remembered about a child.
func (v *appliedVersions) forget(gvk schema.GroupVersionKind, key client.ObjectKey) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byNamespace[bucket(key)], appliedKey{gvk, key})
}

// forgetNamespace drops what was remembered about every child in a namespace, and
// the namespace itself: its Tenant is gone.
func (v *appliedVersions) forgetNamespace(namespace string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byNamespace, namespace)
}
