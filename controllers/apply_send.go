package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// storedVersion is what the applier keeps of the object an apply stored.
type storedVersion struct {
	resourceVersion string
	generation      int64
}

// applySender sends one server-side apply of a child, under FieldOwner with force, and
// returns what the API server stored.
type applySender interface {
	send(ctx context.Context, d *desiredChild) (storedVersion, error)
}

// clientSender applies through a controller-runtime client, which decodes the whole
// stored object. It serves clients without a REST config (the fake client of unit
// tests).
type clientSender struct {
	client client.Client
}

func (s clientSender) send(ctx context.Context, d *desiredChild) (storedVersion, error) {
	u, err := d.object()
	if err != nil {
		return storedVersion{}, err
	}
	// The response replaces the content of what is sent: send a copy.
	u = u.DeepCopy()
	if err := s.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return storedVersion{}, err
	}
	return storedVersion{resourceVersion: u.GetResourceVersion(), generation: u.GetGeneration()}, nil
}

// metadataAccept asks the API server to answer a write with the object's metadata
// only (its PartialObjectMetadata form): the applier keeps nothing else of it, and
// neither side then pays to encode and decode the whole object.
const metadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"

// metadataSender applies with one REST client per kind, as controller-runtime's own
// client does (so each kind keeps its own rate limit of --kube-api-qps), and reads
// back only the stored object's resourceVersion and generation. Decoding every apply's
// response into a map was a fifth of what the operator allocated while provisioning.
type metadataSender struct {
	config     *rest.Config
	httpClient *http.Client
	mapper     meta.RESTMapper

	mu      sync.Mutex
	clients map[schema.GroupVersionKind]rest.Interface
}

func newMetadataSender(config *rest.Config, httpClient *http.Client, mapper meta.RESTMapper) *metadataSender {
	return &metadataSender{config: config, httpClient: httpClient, mapper: mapper,
		clients: map[schema.GroupVersionKind]rest.Interface{}}
}

func (s *metadataSender) send(ctx context.Context, d *desiredChild) (storedVersion, error) {
	mapping, err := s.mapper.RESTMapping(d.gvk.GroupKind(), d.gvk.Version)
	if err != nil {
		return storedVersion{}, err
	}
	rc, err := s.clientFor(d.gvk)
	if err != nil {
		return storedVersion{}, err
	}
	body, err := d.body()
	if err != nil {
		return storedVersion{}, err
	}
	req := rc.Patch(types.ApplyPatchType).Resource(mapping.Resource.Resource).Name(d.key.Name).
		VersionedParams(&metav1.PatchOptions{FieldManager: FieldOwner, Force: ptrTo(true)}, metav1.ParameterCodec).
		SetHeader("Accept", metadataAccept).Body(body)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		req = req.Namespace(d.key.Namespace)
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return storedVersion{}, statusError(raw, err)
	}
	var stored struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
			Generation      int64  `json:"generation"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &stored); err != nil {
		return storedVersion{}, fmt.Errorf("reading the API server's answer: %w", err)
	}
	return storedVersion{resourceVersion: stored.Metadata.ResourceVersion, generation: stored.Metadata.Generation}, nil
}

// statusError returns the API server's Status in body as an error, with its reason and
// message (who refused the write, and why), else err. The client's own decoding of a
// refusal to a metadata-only request keeps neither.
func statusError(body []byte, err error) error {
	var status metav1.Status
	if len(body) == 0 || json.Unmarshal(body, &status) != nil || status.Kind != "Status" || status.Status != metav1.StatusFailure {
		return err
	}
	return &apierrors.StatusError{ErrStatus: status}
}

// clientFor returns the kind's REST client, made on first use.
func (s *metadataSender) clientFor(gvk schema.GroupVersionKind) (rest.Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc, ok := s.clients[gvk]; ok {
		return rc, nil
	}
	rc, err := apiutil.RESTClientForGVK(gvk, true, true, s.config, serializer.CodecFactory{}, s.httpClient)
	if err != nil {
		return nil, fmt.Errorf("REST client for %s: %w", gvk, err)
	}
	s.clients[gvk] = rc
	return rc, nil
}
