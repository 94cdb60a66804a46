package testenv

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// ReadyDeploymentStatus is the status the Deployment controller writes once every
// replica of d's current generation is ready.
func ReadyDeploymentStatus(d *appsv1.Deployment) appsv1.DeploymentStatus {
	n := ptr.Deref(d.Spec.Replicas, 1)
	return appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n,
		ReadyReplicas: n, AvailableReplicas: n}
}

// ReadyStatefulSetStatus is the status the StatefulSet controller writes once every
// replica of s's current generation is ready.
func ReadyStatefulSetStatus(s *appsv1.StatefulSet) appsv1.StatefulSetStatus {
	n := ptr.Deref(s.Spec.Replicas, 1)
	return appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n,
		CurrentReplicas: n, UpdatedReplicas: n, AvailableReplicas: n}
}

// Settler plays, for every workload and volume claim Silo manages, the controllers
// envtest does not run: the Deployment and StatefulSet controllers report every
// replica of the current generation ready, the StatefulSet controller creates the
// claims of its volumeClaimTemplates, and the volume binder binds every claim. It
// writes status only when it is behind, so it is silent once everything settled.
type Settler struct {
	client client.Client
	cache  cache.Cache
	queue  workqueue.TypedRateLimitingInterface[settleKey]
	writes atomic.Int64
}

type settleKey struct {
	kind, namespace, name string
}

// StartSettler starts a Settler with workers goroutines that runs until ctx ends,
// with the admin rest config cfg.
func StartSettler(ctx context.Context, cfg *rest.Config, workers int) (*Settler, error) {
	scheme := controllers.NewScheme()
	managed := labels.SelectorFromSet(labels.Set{silov1.ManagedByLabel: silov1.ManagedByValue})
	kinds := map[string]client.Object{
		"Deployment":            &appsv1.Deployment{},
		"StatefulSet":           &appsv1.StatefulSet{},
		"PersistentVolumeClaim": &corev1.PersistentVolumeClaim{},
	}
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range kinds {
		byObject[obj] = cache.ByObject{Label: managed}
	}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, ByObject: byObject})
	if err != nil {
		return nil, err
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	s := &Settler{
		client: direct,
		cache:  c,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[settleKey](),
			workqueue.TypedRateLimitingQueueConfig[settleKey]{Name: "settler"}),
	}
	for kind, obj := range kinds {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		enqueue := func(o any) {
			if m, ok := o.(metav1.Object); ok {
				s.queue.Add(settleKey{kind: kind, namespace: m.GetNamespace(), name: m.GetName()})
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, o any) { enqueue(o) },
		}); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the settler's caches did not sync")
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	for range max(workers, 1) {
		go s.work(ctx)
	}
	return s, nil
}

// Writes counts the status writes and claims the settler made.
func (s *Settler) Writes() int64 { return s.writes.Load() }

func (s *Settler) work(ctx context.Context) {
	for {
		key, shutdown := s.queue.Get()
		if shutdown {
			return
		}
		if err := s.settle(ctx, key); err != nil {
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
}

// settle plays the object's controller. It reads from the cache: a write based on a
// stale copy fails with a conflict and is retried.
func (s *Settler) settle(ctx context.Context, k settleKey) error {
	key := client.ObjectKey{Namespace: k.namespace, Name: k.name}
	switch k.kind {
	case "Deployment":
		d := &appsv1.Deployment{}
		if err := s.cache.Get(ctx, key, d); err != nil {
			return client.IgnoreNotFound(err)
		}
		if want := ReadyDeploymentStatus(d); !deploymentStatusEqual(d.Status, want) {
			d.Status = want
			return s.write(s.client.Status().Update(ctx, d))
		}
	case "StatefulSet":
		set := &appsv1.StatefulSet{}
		if err := s.cache.Get(ctx, key, set); err != nil {
			return client.IgnoreNotFound(err)
		}
		if err := s.createClaims(ctx, set); err != nil {
			return err
		}
		if want := ReadyStatefulSetStatus(set); !statefulSetStatusEqual(set.Status, want) {
			set.Status = want
			return s.write(s.client.Status().Update(ctx, set))
		}
	case "PersistentVolumeClaim":
		pvc := &corev1.PersistentVolumeClaim{}
		if err := s.cache.Get(ctx, key, pvc); err != nil {
			return client.IgnoreNotFound(err)
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			pvc.Status.Phase = corev1.ClaimBound
			return s.write(s.client.Status().Update(ctx, pvc))
		}
	}
	return nil
}

func (s *Settler) write(err error) error {
	if err == nil {
		s.writes.Add(1)
	}
	return err
}

// deploymentStatusEqual compares the fields ReadyDeploymentStatus sets.
func deploymentStatusEqual(a, b appsv1.DeploymentStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Replicas == b.Replicas &&
		a.ReadyReplicas == b.ReadyReplicas && a.UpdatedReplicas == b.UpdatedReplicas &&
		a.AvailableReplicas == b.AvailableReplicas
}

// statefulSetStatusEqual compares the fields ReadyStatefulSetStatus sets.
func statefulSetStatusEqual(a, b appsv1.StatefulSetStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Replicas == b.Replicas &&
		a.ReadyReplicas == b.ReadyReplicas && a.CurrentReplicas == b.CurrentReplicas &&
		a.UpdatedReplicas == b.UpdatedReplicas && a.AvailableReplicas == b.AvailableReplicas
}

// createClaims creates the claims of set's volumeClaimTemplates for every replica, as
// the StatefulSet controller does (<template>-<set>-<ordinal>, the template's labels
// and spec), and never deletes one: the retention policy Silo sets is Retain.
func (s *Settler) createClaims(ctx context.Context, set *appsv1.StatefulSet) error {
	for _, tmpl := range set.Spec.VolumeClaimTemplates {
		for i := range ptr.Deref(set.Spec.Replicas, 1) {
			key := client.ObjectKey{Namespace: set.Namespace, Name: strings.Join([]string{tmpl.Name, set.Name, fmt.Sprint(i)}, "-")}
			if err := s.cache.Get(ctx, key, &corev1.PersistentVolumeClaim{}); err == nil {
				continue
			}
			claim := &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{
					Name:        key.Name,
					Namespace:   key.Namespace,
					Labels:      tmpl.Labels,
					Annotations: tmpl.Annotations,
				},
				Spec: tmpl.Spec,
			}
			err := s.client.Create(ctx, claim)
			if err == nil {
				s.writes.Add(1)
			} else if !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	return nil
}
