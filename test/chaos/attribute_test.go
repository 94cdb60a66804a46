package main

import (
	"encoding/json"
	"testing"

	"github.com/silo-dev/silo/test/testenv"
)

func event(t *testing.T, verb, resource, namespace, name string, code int) testenv.AuditEvent {
	t.Helper()
	var e testenv.AuditEvent
	raw := map[string]any{"verb": verb, "objectRef": map[string]any{"resource": resource, "namespace": namespace, "name": name},
		"responseStatus": map[string]any{"code": code}}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAttributeCountsEveryWriteButARefusedFuzzedTenants proves that a write about a
// full Tenant always counts at rest, and that only an accepted fuzzed Tenant one of
// whose writes the API server refused (not a conflict) has its writes set apart.
func TestAttributeCountsEveryWriteButARefusedFuzzedTenants(t *testing.T) {
	events := []testenv.AuditEvent{
		event(t, "patch", "deployments", "tenant-chaos-00001", "app", 200),
		event(t, "patch", "tenants", "", "chaos-00002", 409),
		event(t, "patch", "deployments", "tenant-fuzz-0001", "app", 500),
		event(t, "patch", "rolebindings", "tenant-fuzz-0001", "silo-tenant-owners", 200),
		event(t, "patch", "deployments", "tenant-fuzz-0002", "app", 409),
		event(t, "create", "events", "default", "fuzz-0003.18a7", 201),
		event(t, "get", "deployments", "tenant-fuzz-0001", "app", 200),
	}
	fuzzed := map[string]bool{"fuzz-0001": true, "fuzz-0002": true, "fuzz-0003": true}
	retrying := map[string]bool{}
	writes, retries := attribute(events, fuzzed, retrying)
	if got := writes.Writes(); got != 4 {
		t.Errorf("writes at rest %d (%s), want 4: the full Tenants', the conflict's and the event's", got, writes)
	}
	if got := retries.Writes(); got != 2 {
		t.Errorf("retries %d (%s), want fuzz-0001's 2", got, retries)
	}
	if !retrying["fuzz-0001"] || len(retrying) != 1 {
		t.Errorf("retrying %v, want only fuzz-0001", retrying)
	}
}
