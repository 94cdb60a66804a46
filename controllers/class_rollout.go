package controllers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Defaults of a class's rollout.
const (
	defaultProgressDeadline int32 = 600
	defaultMaxFailures      int32 = 1
	// maxListedTenants caps the Tenant names a condition message lists.
	maxListedTenants = 10
	// maxFailedTenants caps status.failed.
	maxFailedTenants = 256
)

// rolloutPlan is what one pass of a class's rollout decides: which Tenants to ask to
// run the current revision, the class's status, and when to look again.
type rolloutPlan struct {
	// assign are the Tenants to ask to run the current revision, in order.
	assign []string
	// status is the class's status (conditions without timestamps).
	status silov1.TenantClassStatus
	// requeueAfter is when a deadline or a soak ends, 0 when none is running.
	requeueAfter time.Duration
}

// rolloutState is where one Tenant stands in its class's rollout.
type rolloutState int

const (
	// stateDone: the Tenant runs the current revision (and, when the rollout moved
	// it, was Ready on it for minReadySeconds).
	stateDone rolloutState = iota
	// stateJoining: the Tenant runs no revision of the class yet; the Tenant
	// controller gives it the current one without waiting for the rollout.
	stateJoining
	// stateHeld: classUpdatePolicy Manual keeps it on an older revision.
	stateHeld
	// statePending: on an older revision, waiting for its batch.
	statePending
	// stateMoving: asked to run the current revision, not done yet.
	stateMoving
	// stateSuperseded: asked to run a revision that is no longer current, and not
	// there yet (or there, but the current revision is another).
	stateSuperseded
	// stateFailed: asked to run the current revision, not done by the deadline, or
	// its migration failed.
	stateFailed
)

// tenantRollout is one Tenant's place in the rollout.
type tenantRollout struct {
	name      string
	canary    bool
	suspended bool
	state     rolloutState
	// wait is how long until its deadline or soak ends (moving Tenants only).
	wait time.Duration
	// unavailable counts it against maxUnavailable.
	unavailable bool
}

// planRollout decides a pass of the rollout of class to revision over its Tenants at
// now. It is pure: the Tenants' annotations and statuses carry all the state.
func planRollout(class *silov1.TenantClass, revision string, tenants []silov1.Tenant, now time.Time) rolloutPlan {
	ro := &class.Spec.Rollout
	deadline := time.Duration(ptr.Deref(ro.ProgressDeadlineSeconds, defaultProgressDeadline)) * time.Second
	minReady := time.Duration(ro.MinReadySeconds) * time.Second

	st := silov1.TenantClassStatus{
		ObservedGeneration: class.Generation,
		Revision:           revision,
		Tenants:            int32(len(tenants)),
	}
	all := make([]tenantRollout, 0, len(tenants))
	for i := range tenants {
		t := &tenants[i]
		tr := classifyTenant(t, class.Name, revision, now, deadline, minReady)
		all = append(all, tr)
		if runningRevision(t, class.Name) == revision {
			st.Updated++
		}
		if meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition) {
			st.Ready++
		}
		switch tr.state {
		case stateHeld:
			st.Held++
		case stateFailed:
			st.Failed = append(st.Failed, tr.name)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].canary != all[j].canary {
			return all[i].canary
		}
		return all[i].name < all[j].name
	})
	sort.Strings(st.Failed)

	budget := maxUnavailable(ro.MaxUnavailable, len(tenants))
	unavailable, outstanding, canariesOutstanding := 0, 0, false
	var requeue time.Duration
	for _, tr := range all {
		if tr.unavailable {
			unavailable++
		}
		switch tr.state {
		case statePending, stateMoving, stateSuperseded, stateFailed:
			outstanding++
			if tr.canary && tr.state != stateFailed {
				canariesOutstanding = true
			}
		}
		if tr.wait > 0 && (requeue == 0 || tr.wait < requeue) {
			requeue = tr.wait
		}
	}

	plan := rolloutPlan{requeueAfter: requeue}
	maxFail := int(ptr.Deref(ro.MaxFailures, defaultMaxFailures))
	paused := ""
	switch {
	case ro.Paused:
		paused = silov1.ManualReason
	case len(st.Failed) >= maxFail:
		paused = silov1.TooManyFailuresReason
	}
	if paused == "" {
		slots := budget - unavailable
		for _, tr := range all {
			switch {
			case tr.state == stateSuperseded:
				// Already between revisions: it takes the current one in the slot
				// it holds.
				plan.assign = append(plan.assign, tr.name)
			case tr.state != statePending:
			case tr.suspended:
				// Nothing runs: it moves without waiting and takes no slot.
				plan.assign = append(plan.assign, tr.name)
			case slots > 0 && (tr.canary || !canariesOutstanding):
				plan.assign = append(plan.assign, tr.name)
				slots--
			}
		}
	}
	if len(st.Failed) > maxFailedTenants {
		st.Failed = st.Failed[:maxFailedTenants]
	}
	st.Conditions = classConditions(class, revision, &st, paused, outstanding, unavailable)
	plan.status = st
	return plan
}

// classifyTenant places one Tenant in the rollout of class to revision.
func classifyTenant(t *silov1.Tenant, class, revision string, now time.Time, deadline, minReady time.Duration) tenantRollout {
	tr := tenantRollout{
		name:      t.Name,
		canary:    t.Labels[silov1.CanaryLabel] == "true",
		suspended: t.Spec.Suspend,
	}
	running := runningRevision(t, class)
	tgt, at, asked := target(t)
	manual := t.Spec.ClassUpdatePolicy == silov1.ClassUpdateManual
	switch {
	case running == "":
		tr.state = stateJoining
	case manual && running != revision:
		tr.state = stateHeld
	case asked && tgt != revision:
		// Asked for a revision a newer one replaced (or, running the current
		// revision, told to leave it): it is told the current one.
		tr.state = stateSuperseded
		tr.unavailable = running != revision
	case running == revision && (!asked || tr.suspended):
		tr.state = stateDone
	case running == revision:
		tr.state, tr.wait = soak(t, at, now, deadline, minReady)
		tr.unavailable = tr.state == stateMoving
	case asked:
		tr.state = stateMoving
		tr.unavailable = true
		if tr.suspended {
			// The Tenant controller moves it on its next pass; nothing to wait for.
			break
		}
		if migrationFailed(t) {
			tr.state, tr.unavailable = stateFailed, false
			break
		}
		if left := at.Add(deadline).Sub(now); left > 0 {
			tr.wait = left
		} else {
			tr.state, tr.unavailable = stateFailed, false
		}
	default:
		tr.state = statePending
	}
	return tr
}

// soak says whether a Tenant that runs the revision it was asked for at `at` is done:
// Ready on it (judged from status written after it moved) for minReady. Until then it
// is moving, and failed once the deadline passed.
func soak(t *silov1.Tenant, at, now time.Time, deadline, minReady time.Duration) (rolloutState, time.Duration) {
	if readyC := readyOnCurrentSpec(t); readyC != nil {
		if minReady == 0 {
			return stateDone, 0
		}
		since := readyC.LastTransitionTime.Time
		if since.Before(at) {
			since = at
		}
		if left := since.Add(minReady).Sub(now); left > 0 {
			return stateMoving, left
		}
		return stateDone, 0
	}
	if left := at.Add(deadline).Sub(now); left > 0 {
		return stateMoving, left
	}
	return stateFailed, 0
}

// readyOnCurrentSpec returns the Tenant's Ready condition when it is True and was
// computed for the Tenant as it is (its generation), else nil.
func readyOnCurrentSpec(t *silov1.Tenant) *metav1.Condition {
	c := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != t.Generation ||
		t.Status.ObservedGeneration != t.Generation {
		return nil
	}
	return c
}

// migrationFailed reports whether the Tenant's migration Job for a new image failed.
func migrationFailed(t *silov1.Tenant) bool {
	c := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == silov1.MigrationFailedReason
}

// runningRevision is the revision of class the Tenant runs, "" when it runs none.
func runningRevision(t *silov1.Tenant, class string) string {
	if t.Status.Class != class {
		return ""
	}
	return t.Status.ClassRevision
}

// maxUnavailable resolves rollout.maxUnavailable against the class's Tenant count:
// a percentage rounds down, and at least one Tenant always moves.
func maxUnavailable(v *intstr.IntOrString, total int) int {
	if v == nil {
		return 1
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// classConditions are the class's Ready, Progressing and Paused conditions.
func classConditions(class *silov1.TenantClass, revision string, st *silov1.TenantClassStatus, paused string, outstanding, moving int) []metav1.Condition {
	cond := func(typ string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: class.Generation}
	}
	held := ""
	if st.Held > 0 {
		held = fmt.Sprintf("; %d held on an older revision by classUpdatePolicy Manual", st.Held)
	}
	pausedC := cond(silov1.PausedCondition, false, silov1.NotPausedReason, "the rollout moves Tenants to new revisions")
	switch paused {
	case silov1.ManualReason:
		pausedC = cond(silov1.PausedCondition, true, paused,
			fmt.Sprintf("spec.rollout.paused is true: no further Tenant moves to revision %s; set it to false to resume", revision))
	case silov1.TooManyFailuresReason:
		pausedC = cond(silov1.PausedCondition, true, paused,
			fmt.Sprintf("%d Tenants failed revision %s (%s), maxFailures is %d: no further Tenant moves. Look at why they failed "+
				"(kubectl describe tenant), then fix them (the rollout resumes when they are Ready), change the template "+
				"(a new revision starts over), or raise spec.rollout.maxFailures",
				len(st.Failed), revision, listNames(st.Failed), ptr.Deref(class.Spec.Rollout.MaxFailures, defaultMaxFailures)))
	}
	progressing := cond(silov1.ProgressingCondition, false, silov1.RolledOutReason,
		fmt.Sprintf("every Tenant that follows the class runs revision %s%s", revision, held))
	if outstanding > 0 {
		progressing = cond(silov1.ProgressingCondition, true, silov1.RollingOutReason,
			fmt.Sprintf("%d of %d Tenants run revision %s, %d moving%s", st.Updated, st.Tenants, revision, moving, held))
	}
	ready := cond(silov1.ReadyCondition, true, silov1.ReadyReason,
		fmt.Sprintf("every Tenant runs revision %s and is Ready%s", revision, held))
	switch {
	case outstanding > 0:
		ready = cond(silov1.ReadyCondition, false, silov1.RollingOutReason, progressing.Message)
	case st.Ready < st.Tenants:
		ready = cond(silov1.ReadyCondition, false, silov1.TenantsNotReadyReason,
			fmt.Sprintf("%d of %d Tenants are Ready", st.Ready, st.Tenants))
	}
	return []metav1.Condition{ready, progressing, pausedC}
}

// listNames joins names for a message, the first maxListedTenants of them.
func listNames(names []string) string {
	if len(names) <= maxListedTenants {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListedTenants], ", "), len(names)-maxListedTenants)
}
