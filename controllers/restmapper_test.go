package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper answers from a DefaultRESTMapper and counts the questions.
type countingMapper struct {
	*meta.DefaultRESTMapper
	asked int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.asked++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

// The memo asks its mapper once per kind and versions, and answers the same mapping
// after that; a kind the mapper does not know is asked again, so a CRD installed
// after the first question is found.
func TestMemoRESTMapperRemembersFoundMappingsOnly(t *testing.T) {
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	snap := schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper([]schema.GroupVersion{deploy.GroupVersion(), snap.GroupVersion()})}
	inner.Add(deploy, meta.RESTScopeNamespace)
	m := newMemoRESTMapper(inner)

	first, err := m.RESTMapping(deploy.GroupKind(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.RESTMapping(deploy.GroupKind(), "v1")
	if err != nil || again != first || inner.asked != 1 {
		t.Fatalf("second question: mapping %p (first %p), err %v, mapper asked %d times, want once", again, first, err, inner.asked)
	}
	if first.Scope.Name() != meta.RESTScopeNameNamespace || first.Resource.Resource != "deployments" {
		t.Fatalf("mapping = %+v, want the mapper's", first)
	}
	if _, err := m.RESTMapping(deploy.GroupKind()); err != nil || inner.asked != 2 {
		t.Fatalf("other versions asked: err %v, mapper asked %d times, want 2", err, inner.asked)
	}

	if _, err := m.RESTMapping(snap.GroupKind(), "v1"); !meta.IsNoMatchError(err) {
		t.Fatalf("unknown kind: err = %v, want no match", err)
	}
	inner.Add(snap, meta.RESTScopeNamespace) // the CRD is installed
	if got, err := m.RESTMapping(snap.GroupKind(), "v1"); err != nil || got.Resource.Resource != "volumesnapshots" {
		t.Fatalf("after the CRD is installed: %+v, %v; want its mapping", got, err)
	}
}
