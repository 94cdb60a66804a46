package controllers

import (
	"context"
	"net/http/httptest"
	"testing"
)

type fakeSyncer struct{ synced bool }

func (f fakeSyncer) WaitForCacheSync(ctx context.Context) bool {
	if !f.synced {
		<-ctx.Done()
	}
	return f.synced
}

func TestCacheSyncedCheck(t *testing.T) {
	req := httptest.NewRequest("GET", "/readyz", nil)
	if err := CacheSyncedCheck(fakeSyncer{synced: false})(req); err == nil {
		t.Error("ready before the cache synced")
	}
	if err := CacheSyncedCheck(fakeSyncer{synced: true})(req); err != nil {
		t.Errorf("not ready with a synced cache: %v", err)
	}
}
