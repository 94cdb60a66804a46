package controllers

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

var rolloutNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// classTenant is a Tenant of class "standard" running revision running, Ready (since
// an hour) or not.
func classTenant(name, running string, ready bool, opts ...func(t *silov1.Tenant)) silov1.Tenant {
	t := silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1, Labels: map[string]string{}, Annotations: map[string]string{}},
		Spec:       silov1.TenantSpec{Class: "standard"},
		Status:     silov1.TenantStatus{ObservedGeneration: 1, Class: "standard", ClassRevision: running},
	}
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	t.Status.Conditions = []metav1.Condition{{Type: silov1.ReadyCondition, Status: status, ObservedGeneration: 1,
		Reason: "Test", LastTransitionTime: metav1.NewTime(rolloutNow.Add(-time.Hour))}}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// askedAt marks the Tenant as asked to run rev, ago before now.
func askedAt(rev string, ago time.Duration) func(t *silov1.Tenant) {
	return func(t *silov1.Tenant) {
		t.Annotations[silov1.TargetRevisionAnnotation] = targetValue(rev, rolloutNow.Add(-ago))
	}
}

func canary(t *silov1.Tenant)    { t.Labels[silov1.CanaryLabel] = "true" }
func suspended(t *silov1.Tenant) { t.Spec.Suspend = true }
func manual(t *silov1.Tenant)    { t.Spec.ClassUpdatePolicy = silov1.ClassUpdateManual }

// readySince makes the Tenant Ready since ago before now.
func readySince(ago time.Duration) func(t *silov1.Tenant) {
	return func(t *silov1.Tenant) {
		t.Status.Conditions[0].Status = metav1.ConditionTrue
		t.Status.Conditions[0].LastTransitionTime = metav1.NewTime(rolloutNow.Add(-ago))
	}
}

func TestPlanRollout(t *testing.T) {
	five := func(opts map[string][]func(*silov1.Tenant)) []silov1.Tenant {
		var out []silov1.Tenant
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			out = append(out, classTenant(n, "old", true, opts[n]...))
		}
		return out
	}
	tests := map[string]struct {
		rollout     silov1.RolloutSpec
		tenants     []silov1.Tenant
		wantAssign  []string
		wantFailed  []string
		wantPaused  string
		wantUpdated int32
		wantHeld    int32
		wantRequeue time.Duration
	}{
		"one at a time, by name": {
			tenants:    five(nil),
			wantAssign: []string{"a"},
		},
		"canaries first": {
			tenants:    five(map[string][]func(*silov1.Tenant){"d": {canary}}),
			wantAssign: []string{"d"},
		},
		"the rest waits while a canary is moving, even with room": {
			rollout: silov1.RolloutSpec{MaxUnavailable: ptr.To(intstr.FromInt32(3))},
			tenants: five(map[string][]func(*silov1.Tenant){
				"d": {canary, askedAt("new", time.Minute)}, "e": {canary},
			}),
			wantAssign:  []string{"e"},
			wantRequeue: 9 * time.Minute,
		},
		"a Tenant asked to move but still running the old revision, Ready, is not done": {
			tenants:     five(map[string][]func(*silov1.Tenant){"a": {askedAt("new", time.Minute)}}),
			wantRequeue: 9 * time.Minute,
		},
		"a Tenant Ready on the new revision is done and the next batch starts": {
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[0] = classTenant("a", "new", true, askedAt("new", time.Minute), readySince(30*time.Second))
				return ts
			}(),
			wantAssign:  []string{"b"},
			wantUpdated: 1,
		},
		"Ready on the new revision but from a status older than the spec is not done": {
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[0] = classTenant("a", "new", true, askedAt("new", time.Minute), func(t *silov1.Tenant) { t.Generation = 2 })
				return ts
			}(),
			wantUpdated: 1,
			wantRequeue: 9 * time.Minute,
		},
		"minReadySeconds: Ready too briefly is not done yet": {
			rollout: silov1.RolloutSpec{MinReadySeconds: 60},
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[0] = classTenant("a", "new", true, askedAt("new", time.Minute), readySince(20*time.Second))
				return ts
			}(),
			wantUpdated: 1,
			wantRequeue: 40 * time.Second,
		},
		"minReadySeconds counts from when the Tenant was asked, not from an older Ready": {
			rollout: silov1.RolloutSpec{MinReadySeconds: 60},
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[0] = classTenant("a", "new", true, askedAt("new", 30*time.Second), readySince(time.Hour))
				return ts
			}(),
			wantUpdated: 1,
			wantRequeue: 30 * time.Second,
		},
		"a Tenant past its deadline fails and pauses the rollout at maxFailures 1": {
			tenants:    five(map[string][]func(*silov1.Tenant){"a": {askedAt("new", 11*time.Minute)}}),
			wantFailed: []string{"a"},
			wantPaused: silov1.TooManyFailuresReason,
		},
		"a failure below maxFailures frees its slot": {
			rollout:    silov1.RolloutSpec{MaxFailures: ptr.To(int32(2))},
			tenants:    five(map[string][]func(*silov1.Tenant){"a": {askedAt("new", 11*time.Minute)}}),
			wantFailed: []string{"a"},
			wantAssign: []string{"b"},
		},
		"a failed migration fails at once": {
			tenants: five(map[string][]func(*silov1.Tenant){"a": {askedAt("new", time.Minute), func(t *silov1.Tenant) {
				t.Status.Conditions = append(t.Status.Conditions, metav1.Condition{Type: silov1.DegradedCondition,
					Status: metav1.ConditionTrue, Reason: silov1.MigrationFailedReason})
			}}}),
			wantFailed: []string{"a"},
			wantPaused: silov1.TooManyFailuresReason,
		},
		"paused by hand: nobody moves": {
			rollout:    silov1.RolloutSpec{Paused: true},
			tenants:    five(nil),
			wantPaused: silov1.ManualReason,
		},
		"a newer revision supersedes: the Tenant between revisions takes it in its own slot": {
			tenants:     five(map[string][]func(*silov1.Tenant){"c": {askedAt("middle", time.Minute)}}),
			wantAssign:  []string{"c"},
			wantRequeue: 0,
		},
		"a Tenant told to leave the current revision is told to stay, taking no slot": {
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[4] = classTenant("e", "new", true, askedAt("middle", time.Minute))
				return ts
			}(),
			wantAssign:  []string{"a", "e"},
			wantUpdated: 1,
		},
		"suspended Tenants move without a slot": {
			tenants:    five(map[string][]func(*silov1.Tenant){"c": {suspended}, "e": {suspended}}),
			wantAssign: []string{"a", "c", "e"},
		},
		"a suspended Tenant is done once it runs the revision": {
			tenants: func() []silov1.Tenant {
				ts := five(nil)
				ts[0] = classTenant("a", "new", false, askedAt("new", time.Minute), suspended)
				return ts
			}(),
			wantAssign:  []string{"b"},
			wantUpdated: 1,
		},
		"classUpdatePolicy Manual holds": {
			tenants:    five(map[string][]func(*silov1.Tenant){"a": {manual}, "b": {manual}}),
			wantAssign: []string{"c"},
			wantHeld:   2,
		},
		"a percentage of the class's Tenants, rounded down": {
			rollout:    silov1.RolloutSpec{MaxUnavailable: ptr.To(intstr.FromString("40%"))},
			tenants:    five(nil),
			wantAssign: []string{"a", "b"},
		},
		"a Tenant that joins the class takes no part": {
			tenants:     []silov1.Tenant{classTenant("a", "", false), classTenant("b", "new", true)},
			wantUpdated: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			class := &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", Generation: 3}}
			class.Spec.Rollout = tc.rollout
			plan := planRollout(class, "new", tc.tenants, rolloutNow)
			if diff := cmp.Diff(tc.wantAssign, plan.assign); diff != "" {
				t.Errorf("assign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFailed, plan.status.Failed); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
			paused := meta.FindStatusCondition(plan.status.Conditions, silov1.PausedCondition)
			if got := map[bool]string{true: paused.Reason}[paused.Status == metav1.ConditionTrue]; got != tc.wantPaused {
				t.Errorf("paused = %q, want %q (%s)", got, tc.wantPaused, paused.Message)
			}
			if plan.status.Updated != tc.wantUpdated || plan.status.Held != tc.wantHeld {
				t.Errorf("updated, held = %d, %d, want %d, %d", plan.status.Updated, plan.status.Held, tc.wantUpdated, tc.wantHeld)
			}
			if plan.requeueAfter != tc.wantRequeue {
				t.Errorf("requeueAfter = %s, want %s", plan.requeueAfter, tc.wantRequeue)
			}
			if plan.status.Tenants != int32(len(tc.tenants)) || plan.status.Revision != "new" || plan.status.ObservedGeneration != 3 {
				t.Errorf("status = %+v", plan.status)
			}
		})
	}
}

func TestClassConditionsSayWhatToDo(t *testing.T) {
	class := &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}
	ts := []silov1.Tenant{classTenant("acme", "old", false, askedAt("new", time.Hour))}
	plan := planRollout(class, "new", ts, rolloutNow)
	paused := meta.FindStatusCondition(plan.status.Conditions, silov1.PausedCondition)
	want := "1 Tenants failed revision new (acme), maxFailures is 1: no further Tenant moves. Look at why they failed " +
		"(kubectl describe tenant), then fix them (the rollout resumes when they are Ready), change the template " +
		"(a new revision starts over), or raise spec.rollout.maxFailures"
	if paused.Message != want {
		t.Errorf("Paused message = %q, want %q", paused.Message, want)
	}

	ts = []silov1.Tenant{classTenant("acme", "new", true), classTenant("globex", "old", true, manual)}
	plan = planRollout(class, "new", ts, rolloutNow)
	ready := meta.FindStatusCondition(plan.status.Conditions, silov1.ReadyCondition)
	if ready.Status != metav1.ConditionTrue ||
		ready.Message != "every Tenant runs revision new and is Ready; 1 held on an older revision by classUpdatePolicy Manual" {
		t.Errorf("Ready = %s %q", ready.Status, ready.Message)
	}
}

func TestStaleRevisions(t *testing.T) {
	var revs []appsv1.ControllerRevision
	for i := int64(1); i <= 13; i++ {
		revs = append(revs, revisionNumbered(i))
	}
	stale := staleRevisions(revs, map[string]bool{"standard-1": true, "standard-13": true})
	var names []string
	for _, cr := range stale {
		names = append(names, cr.Name)
	}
	// 13 is in use; the newest ten besides it are 12..3; 2 goes; 1 is in use.
	if diff := cmp.Diff([]string{"standard-2"}, names); diff != "" {
		t.Errorf("stale (-want +got):\n%s", diff)
	}
}

func TestTargetAnnotationRoundTrip(t *testing.T) {
	tn := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		silov1.TargetRevisionAnnotation: targetValue("5f8c2d1a", rolloutNow),
	}}}
	rev, at, ok := target(tn)
	if !ok || rev != "5f8c2d1a" || !at.Equal(rolloutNow) {
		t.Errorf("target = %q %s %v", rev, at, ok)
	}
	tn.Annotations[silov1.TargetRevisionAnnotation] = "garbage"
	if _, _, ok := target(tn); ok {
		t.Error("an unreadable annotation counts as a target")
	}
}

func revisionNumbered(i int64) appsv1.ControllerRevision {
	return appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("standard-%d", i)}, Revision: i}
}
