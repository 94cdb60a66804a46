package main

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestSeedReplaysThePlan proves what CHAOS_SEED promises: the same seed gives the
// same schedule, fuzzed specs and fights, and another seed gives others.
func TestSeedReplaysThePlan(t *testing.T) {
	s := settings{tenants: 20, kills: 5, apiRestarts: 1, fuzz: 30, fights: 5}
	encode := func(seed uint64) string {
		p := newPlan(s, rand.New(rand.NewPCG(seed, 0x5110)))
		b, err := json.Marshal(map[string]any{
			"waves": p.waves, "fuzz": p.fuzz, "uptime": p.uptime, "downtime": p.downtime,
			"api": p.apiRestarts, "fights": len(p.fights), "fight0": p.fights[0].tenant, "kind0": p.fights[0].kind,
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := encode(7), encode(7); a != b {
		t.Errorf("seed 7 gave two plans:\n%s\n%s", a, b)
	}
	if encode(7) == encode(8) {
		t.Errorf("seeds 7 and 8 gave the same plan")
	}
}

// TestPlanCoversEveryFightKind proves that five fights try each of the five edits.
func TestPlanCoversEveryFightKind(t *testing.T) {
	s := settings{tenants: 20, kills: 5, apiRestarts: 1, fights: len(fightKinds)}
	p := newPlan(s, rand.New(rand.NewPCG(1, 2)))
	seen := map[int]bool{}
	tenants := map[string]bool{}
	for _, f := range p.fights {
		seen[f.kind] = true
		tenants[f.tenant] = true
	}
	if len(seen) != len(fightKinds) || len(tenants) != len(p.fights) {
		t.Errorf("fights %+v: want every kind once, on distinct Tenants", p.fights)
	}
	if len(p.apiRestarts) != 1 {
		t.Errorf("apiRestarts %v: want one", p.apiRestarts)
	}
}
