package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// buildContext is everything a component builder may read: the Tenant, the operator's
// configuration, and values the reconciler read from the cluster before building
// (so builders stay pure).
type buildContext struct {
	Tenant *silov1.Tenant
	Config *Config
	// Credentials are the generated credentials of each managed component that has
	// them (keys username and password), by component name. The reconciler creates
	// them once and reads them back ever after.
	Credentials map[string]map[string][]byte
	// QueueStaging is the data of the queue's rotation staging Secret
	// (queue-credentials-next) while there is one: the queue's configuration lists
	// its users, the new and the old. QueueReloadPassword is the password of the
	// queue's reload user, read back from its configuration Secret (generated once,
	// when there is none).
	QueueStaging        map[string][]byte
	QueueReloadPassword string
	// External is the data of each external component's Secret, by component name;
	// a component whose Secret is missing has no entry.
	External map[string]map[string][]byte
	// Settings are the tenant's connection settings, from every enabled component
	// (settingsData). buildWorkloads computes them before it builds the components:
	// the app's and the workers' pod templates carry their hash.
	Settings map[string][]byte
	// ClaimProblems say, by claim name, why a volume claim of the tenant is still
	// Pending, from its latest events.
	ClaimProblems map[string]string
	// PullSecrets are the registry credentials (.dockerconfigjson) of the image pull
	// Secrets the Tenant may use, by name; a Secret that may not be used has no entry.
	PullSecrets map[string][]byte
	// Held are the components whose credentials the reconciler could not read (an
	// object Silo did not create sits at their name): they are neither built nor
	// wired into the connection settings, and their children stay as they are.
	Held map[string]bool
	// HeldBecause says, by component, why a held component waits when no person has
	// to act (it is not Degraded): its status message.
	HeldBecause map[string]string
	// Written is the generation of a child that Silo's last write of it returned (0
	// when unknown). Readiness judges a workload against it, never against an older
	// version the informer cache may still hold.
	Written func(gvk schema.GroupVersionKind, key client.ObjectKey) int64
}

// writtenGeneration is the generation Silo last wrote of a workload, or the one obj
// carries when that is newer (or nothing was written).
func (bc *buildContext) writtenGeneration(obj client.Object, gvk schema.GroupVersionKind) int64 {
	gen := obj.GetGeneration()
	if bc.Written != nil {
		gen = max(gen, bc.Written(gvk, client.ObjectKeyFromObject(obj)))
	}
	return gen
}

// component is one part of a tenant environment (app, workers, queue, ...): a pure
// builder of its desired objects and a reader of its readiness.
type component struct {
	// name is the component's name in status.components.
	name string
	// enabled reports whether the Tenant asks for the component.
	enabled func(t *silov1.Tenant) bool
	// external returns the service the platform runs for this component, or nil when
	// Silo runs it. Nil for components that cannot be external.
	external func(t *silov1.Tenant) *silov1.ExternalService
	// credentialUser, when set, makes the reconciler generate credentials for the
	// managed component with this user name, before building.
	credentialUser string
	// build returns the desired objects of the managed component.
	build func(bc *buildContext) []runtime.ApplyConfiguration
	// settings returns the connection settings the managed component gives the app
	// and the workers (DATABASE_URL, say). Nil when it gives none.
	settings func(bc *buildContext) map[string]string
	// observe reads the managed component's readiness from the cache.
	observe func(ctx context.Context, c client.Reader, bc *buildContext) (silov1.ComponentStatus, error)
	// endpoint returns the managed component's in-cluster URL, never with
	// credentials. Nil when it has none.
	endpoint func(t *silov1.Tenant) string
}

// components are the parts of a tenant environment, in status order. The reconciler
// and buildWorkloads read the list; no builder does (the ones that need the connection
// settings get them in the build context).
var components = []component{
	componentApp(),
	componentWorkers(),
	componentQueue(),
	componentCache(),
	componentDatabase(),
	componentStorage(),
}

// buildWorkloads returns the tenant's connection settings and the objects of every
// component it asks for, in component order.
func buildWorkloads(bc *buildContext) []runtime.ApplyConfiguration {
	bc = bc.withSettings()
	objs := []runtime.ApplyConfiguration{buildSettings(bc)}
	objs = append(objs, buildPullSecrets(bc)...)
	for i := range components {
		if c := &components[i]; c.enabled(bc.Tenant) {
			objs = append(objs, c.desired(bc)...)
		}
	}
	return objs
}

// holdBecause records why a held component waits.
func (bc *buildContext) holdBecause(component, why string) {
	if bc.HeldBecause == nil {
		bc.HeldBecause = map[string]string{}
	}
	bc.HeldBecause[component] = why
}

// withSettings returns a copy of the build context with the connection settings of
// its Tenant, credentials and external Secrets.
func (bc *buildContext) withSettings() *buildContext {
	out := *bc
	out.Settings = settingsData(bc)
	return &out
}

// externalService returns the component's external service, or nil when Silo runs it.
func (c *component) externalService(t *silov1.Tenant) *silov1.ExternalService {
	if c.external == nil {
		return nil
	}
	return c.external(t)
}

// desired returns the component's objects: none for an external service.
func (c *component) desired(bc *buildContext) []runtime.ApplyConfiguration {
	if c.externalService(bc.Tenant) != nil {
		return nil
	}
	return c.build(bc)
}

// connectionSettings returns what the component adds to the tenant's connection
// settings: the keys of an external service's Secret as they are, or the managed
// component's own settings.
func (c *component) connectionSettings(bc *buildContext) map[string]string {
	if bc.Held[c.name] {
		return nil
	}
	if c.externalService(bc.Tenant) != nil {
		out := map[string]string{}
		for k, v := range bc.External[c.name] {
			out[k] = string(v)
		}
		return out
	}
	if c.settings == nil {
		return nil
	}
	return c.settings(bc)
}

// status reads the component's readiness. An external service is ready when its
// Secret is there: the platform runs the service itself.
func (c *component) status(ctx context.Context, r client.Reader, bc *buildContext) (silov1.ComponentStatus, error) {
	if ext := c.externalService(bc.Tenant); ext != nil {
		if _, ok := bc.External[c.name]; !ok {
			return silov1.ComponentStatus{Name: c.name, Message: fmt.Sprintf("external Secret %s/%s not found",
				bc.Config.OperatorNamespace, ext.SecretName)}, nil
		}
		return silov1.ComponentStatus{Name: c.name, Ready: true}, nil
	}
	if bc.Held[c.name] {
		msg := "held back: see the Degraded condition"
		if why := bc.HeldBecause[c.name]; why != "" {
			msg = "held back: " + why
		}
		return silov1.ComponentStatus{Name: c.name, Message: msg}, nil
	}
	return c.observe(ctx, r, bc)
}

// endpointURL returns the component's in-cluster URL, or "" for an external service
// (its address is in its Secret, which may hold credentials) or a component without.
func (c *component) endpointURL(t *silov1.Tenant) string {
	if c.endpoint == nil || c.externalService(t) != nil {
		return ""
	}
	return c.endpoint(t)
}

// observeDeployment reads the readiness of a component's Deployment: ready when the
// Deployment controller has seen its latest spec and enough replicas are ready.
func observeDeployment(name string) func(context.Context, client.Reader, *buildContext) (silov1.ComponentStatus, error) {
	return func(ctx context.Context, c client.Reader, bc *buildContext) (silov1.ComponentStatus, error) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(bc.Tenant), Name: name}, d); err != nil {
			return notFoundStatus(name, "Deployment", err)
		}
		gen := bc.writtenGeneration(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))
		return replicaStatus(name, workloadState{kind: "Deployment", specReplicas: d.Spec.Replicas, generation: gen,
			observed: d.Status.ObservedGeneration, updated: d.Status.UpdatedReplicas, ready: d.Status.ReadyReplicas,
			replicas: d.Status.Replicas}), nil
	}
}

// observeStatefulSet is observeDeployment for a StatefulSet.
func observeStatefulSet(name string) func(context.Context, client.Reader, *buildContext) (silov1.ComponentStatus, error) {
	return func(ctx context.Context, c client.Reader, bc *buildContext) (silov1.ComponentStatus, error) {
		s := &appsv1.StatefulSet{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(bc.Tenant), Name: name}, s); err != nil {
			return notFoundStatus(name, "StatefulSet", err)
		}
		gen := bc.writtenGeneration(s, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))
		st := replicaStatus(name, workloadState{kind: "StatefulSet", specReplicas: s.Spec.Replicas, generation: gen,
			observed: s.Status.ObservedGeneration, updated: s.Status.UpdatedReplicas, ready: s.Status.ReadyReplicas,
			currentRevision: s.Status.CurrentRevision, updateRevision: s.Status.UpdateRevision})
		return withClaimProblem(st, bc, dataVolume+"-"+name+"-0"), nil
	}
}

// observeClaim reads the readiness of a component's volume claim: ready once Bound.
func observeClaim(name string) func(context.Context, client.Reader, *buildContext) (silov1.ComponentStatus, error) {
	return func(ctx context.Context, c client.Reader, bc *buildContext) (silov1.ComponentStatus, error) {
		pvc := &corev1.PersistentVolumeClaim{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(bc.Tenant), Name: name}, pvc); err != nil {
			return notFoundStatus(name, "PersistentVolumeClaim", err)
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			phase := pvc.Status.Phase
			if phase == "" {
				phase = corev1.ClaimPending
			}
			return silov1.ComponentStatus{Name: name, Message: claimMessage(bc, name, phase)}, nil
		}
		return silov1.ComponentStatus{Name: name, Ready: true}, nil
	}
}

// notFoundStatus turns a failed read into a not-ready status (the object is about to
// appear) or an error.
func notFoundStatus(name, kind string, err error) (silov1.ComponentStatus, error) {
	if client.IgnoreNotFound(err) != nil {
		return silov1.ComponentStatus{}, fmt.Errorf("reading %s %s: %w", kind, name, err)
	}
	return silov1.ComponentStatus{Name: name, Message: kind + " " + name + " not created yet"}, nil
}

// workloadState is what a workload's controller reports about its rollout.
type workloadState struct {
	kind                 string
	specReplicas         *int32
	generation, observed int64
	updated, ready       int32
	// replicas is a Deployment's status.replicas: pods of every template. While
	// more run than are updated, old pods still serve (and count as ready).
	replicas int32
	// currentRevision and updateRevision are a StatefulSet's; a Deployment has none.
	currentRevision, updateRevision string
}

// replicaStatus is the readiness of a workload, judged against its newest spec (a
// rollout in progress is not ready): ready when its controller has seen the latest
// generation, the desired number of replicas run the latest template and no pod of an
// older one is left (a StatefulSet: its update revision is its current one), and at
// least as many are ready. These are kubectl rollout status's rules: while an old
// pod is left, the ready count may be the old pod's.
func replicaStatus(name string, w workloadState) silov1.ComponentStatus {
	want := int32(1)
	if w.specReplicas != nil {
		want = *w.specReplicas
	}
	ready := w.ready
	st := silov1.ComponentStatus{Name: name, Replicas: want, ReadyReplicas: ready}
	switch {
	case w.observed < w.generation:
		st.Message = fmt.Sprintf("the %s controller has not yet seen generation %d", w.kind, w.generation)
	case w.updated < want:
		st.Message = fmt.Sprintf("rolling out: %d/%d replicas updated", w.updated, want)
	case w.replicas > w.updated:
		st.Message = fmt.Sprintf("rolling out: %d old replicas still running", w.replicas-w.updated)
	case w.updateRevision != "" && w.currentRevision != w.updateRevision:
		st.Message = fmt.Sprintf("rolling out: revision %s is not current yet", w.updateRevision)
	case ready < want:
		st.Message = fmt.Sprintf("%d/%d replicas ready", ready, want)
	default:
		st.Ready = true
	}
	return st
}
