package controllers

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// memoRESTMapper remembers every mapping its RESTMapper found. controller-runtime
// asks for a kind's mapping on every cache read, every owner event and every list
// (is the kind namespaced?), and its dynamic mapper answers from its own cache but
// builds the answer anew each time: at a thousand Tenants that was a tenth of what
// the operator allocates while provisioning. A mapping found once does not change
// while the operator runs (the dynamic mapper never forgets one either); a kind not
// found is not remembered, so a CRD installed later is still found.
type memoRESTMapper struct {
	meta.RESTMapper
	mu       sync.RWMutex
	mappings map[mappingKey]*meta.RESTMapping
}

type mappingKey struct {
	gk       schema.GroupKind
	versions string
}

func newMemoRESTMapper(m meta.RESTMapper) *memoRESTMapper {
	return &memoRESTMapper{RESTMapper: m, mappings: map[mappingKey]*meta.RESTMapping{}}
}

// RESTMapping implements meta.RESTMapper.
func (m *memoRESTMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	key := mappingKey{gk: gk, versions: strings.Join(versions, ",")}
	m.mu.RLock()
	found, ok := m.mappings[key]
	m.mu.RUnlock()
	if ok {
		return found, nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.mappings[key] = mapping
	m.mu.Unlock()
	return mapping, nil
}

// memoMapperProvider is the manager's MapperProvider: controller-runtime's dynamic
// mapper behind a memo.
func memoMapperProvider(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return newMemoRESTMapper(m), nil
}
