package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// tracker watches every Tenant (one watch, as the admin) and remembers when each was
// first seen provisioned.
type tracker struct {
	mu   sync.Mutex
	done map[string]time.Time
}

// provisioned reports whether the operator has applied t's current spec and written
// its status: observedGeneration is current and the Ready condition is about this
// generation. (Ready itself need not be True: in envtest no Deployment ever becomes
// available.)
func provisioned(t *silov1.Tenant) bool {
	ready := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
	return t.Generation > 0 && t.Status.ObservedGeneration == t.Generation &&
		ready != nil && ready.ObservedGeneration == t.Generation &&
		!meta.IsStatusConditionTrue(t.Status.Conditions, silov1.DegradedCondition)
}

func startTracker(ctx context.Context, cfg *rest.Config) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &silov1.Tenant{})
	if err != nil {
		return nil, err
	}
	tr := &tracker{done: map[string]time.Time{}}
	see := func(obj any) {
		t, ok := obj.(*silov1.Tenant)
		if !ok || !provisioned(t) {
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

// wait waits until every named Tenant is provisioned and returns when the last was.
func (tr *tracker) wait(names []string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		tr.mu.Lock()
		var last time.Time
		missing := 0
		for _, n := range names {
			at, ok := tr.done[n]
			if !ok {
				missing++
			} else if at.After(last) {
				last = at
			}
		}
		tr.mu.Unlock()
		if missing == 0 {
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d Tenants were not provisioned within %s", missing, len(names), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
