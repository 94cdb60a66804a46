package testenv

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// Provisioned reports whether the operator has applied t's current spec and written
// its status: observedGeneration is current and the Ready condition is about this
// generation. (Ready itself need not be True: in envtest no Deployment ever becomes
// available unless something plays the Deployment controller.)
func Provisioned(t *silov1.Tenant) bool {
	ready := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
	return t.Generation > 0 && t.Status.ObservedGeneration == t.Generation &&
		ready != nil && ready.ObservedGeneration == t.Generation &&
		!meta.IsStatusConditionTrue(t.Status.Conditions, silov1.DegradedCondition)
}

// Ready reports whether t is Provisioned and its Ready condition is True: every
// component serves.
func Ready(t *silov1.Tenant) bool {
	return Provisioned(t) && meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition) &&
		t.Status.Phase == silov1.PhaseReady
}

// TenantTracker watches every Tenant (one watch) and remembers when each was first
// seen satisfying a predicate.
type TenantTracker struct {
	cache cache.Cache
	mu    sync.Mutex
	done  map[string]time.Time
}

// StartTracker starts a TenantTracker for the predicate done.
func StartTracker(ctx context.Context, cfg *rest.Config, done func(*silov1.Tenant) bool) (*TenantTracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &silov1.Tenant{})
	if err != nil {
		return nil, err
	}
	tr := &TenantTracker{cache: c, done: map[string]time.Time{}}
	see := func(obj any) {
		t, ok := obj.(*silov1.Tenant)
		if !ok || !done(t) {
			return
		}
		now := time.Now()
		tr.mu.Lock()
		if _, seen := tr.done[t.Name]; !seen {
			tr.done[t.Name] = now
		}
		tr.mu.Unlock()
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    see,
		UpdateFunc: func(_, obj any) { see(obj) },
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the Tenant watch did not sync")
	}
	return tr, nil
}

// Wait waits until every named Tenant satisfied the predicate and returns when the
// last did.
func (tr *TenantTracker) Wait(names []string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		last, missing := tr.seen(names)
		if len(missing) == 0 {
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d Tenants were not done within %s", len(missing), len(names), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Missing returns the named Tenants not seen satisfying the predicate yet, sorted.
func (tr *TenantTracker) Missing(names []string) []string {
	_, missing := tr.seen(names)
	return missing
}

func (tr *TenantTracker) seen(names []string) (time.Time, []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var last time.Time
	var missing []string
	for _, n := range names {
		at, ok := tr.done[n]
		if !ok {
			missing = append(missing, n)
		} else if at.After(last) {
			last = at
		}
	}
	sort.Strings(missing)
	return last, missing
}

// Tenants lists the Tenants the tracker's watch holds.
func (tr *TenantTracker) Tenants(ctx context.Context) ([]silov1.Tenant, error) {
	list := &silov1.TenantList{}
	if err := tr.cache.List(ctx, list); err != nil {
		return nil, err
	}
	return list.Items, nil
}
