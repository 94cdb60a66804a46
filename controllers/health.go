package controllers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// cacheSyncWait bounds how long one readiness probe waits for the cache.
const cacheSyncWait = time.Second

// cacheSyncer is the part of a manager's cache the readiness check needs.
type cacheSyncer interface {
	WaitForCacheSync(ctx context.Context) bool
}

// CacheSyncedCheck is the operator's readiness check: ready once the manager's
// informers have listed what they watch. Until then the operator would reconcile from
// a partial picture of the cluster, and its metrics would describe part of the fleet.
func CacheSyncedCheck(c cacheSyncer) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), cacheSyncWait)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the informer cache has not synced yet")
		}
		return nil
	}
}
