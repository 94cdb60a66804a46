package controllers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Reasons of the events that tell a Tenant's story (besides the Ready flips that
// writeStatus records, Adopted, MigrationStarted and the deletion's).
const (
	// CreatedEventReason: a pass created children of a new Tenant; one event names
	// their kinds.
	CreatedEventReason = "Created"
	// UpdatedEventReason: a pass applied a changed spec to children.
	UpdatedEventReason = "Updated"
	// DriftRepairedEventReason: a pass of an unchanged spec put children back, after
	// someone edited or deleted them.
	DriftRepairedEventReason = "DriftRepaired"
	// ResumedEventReason: spec.suspend went back to false.
	ResumedEventReason = "Resumed"
	// RolloutReachedEventReason: the class's rollout moved the Tenant to a new
	// revision. Starting a migration (MigrationStarted) is recorded where the Job is
	// created; a failed one is a Degraded reason (MigrationFailed).
	RolloutReachedEventReason = "RolloutReached"
	// ClassChangedEventReason: the Tenant joined, left or changed its class.
	ClassChangedEventReason = "ClassChanged"
)

// maxNamedChildren is how many children an event names one by one before it only
// counts them, so a note stays short whatever a pass did.
const maxNamedChildren = 5

// storyEvent is one event about a Tenant.
type storyEvent struct {
	typ, reason, action, note string
}

// noteApplied notes what applying a child did, for the pass's event.
func (obs *observation) noteApplied(key childKey, res applyResult) {
	switch res {
	case created:
		obs.created = append(obs.created, key)
	case updated:
		obs.updated = append(obs.updated, key)
	default:
		return
	}
	obs.changed = true
}

// reportPass records what a pass of a live Tenant did, in its metrics and its
// events. statusWritten is false when the status write failed: the next pass sees
// the same transitions again, so only the errors and the children it wrote are told
// now.
func (r *TenantReconciler) reportPass(orig, t *silov1.Tenant, obs *observation, reconcileErr error, statusWritten bool) {
	if !statusWritten {
		after := t.DeepCopy()
		after.Status = orig.Status
		t = after
	}
	recordPass(orig, t, obs, reconcileErr, time.Now())
	r.recordStory(orig, t, obs)
}

// recordStory records the events of one pass: at most one about the children the
// pass wrote, and one per transition of the Tenant's state the Ready flip does not
// already tell. A pass that changed nothing records nothing. orig is the Tenant as
// the pass found it, t as it left it.
func (r *TenantReconciler) recordStory(orig, t *silov1.Tenant, obs *observation) {
	for _, e := range storyEvents(orig, t, obs) {
		r.event(t, e.typ, e.reason, e.action, "%s", e.note)
	}
}

// storyEvents is recordStory's pure part.
func storyEvents(orig, t *silov1.Tenant, obs *observation) []storyEvent {
	var out []storyEvent
	if e, ok := childrenEvent(orig, t, obs); ok {
		out = append(out, e)
	}
	wasReady := meta.IsStatusConditionTrue(orig.Status.Conditions, silov1.ReadyCondition)
	isReady := meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition)
	readyFlipped := wasReady != isReady
	if d := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition); d != nil && d.Status == metav1.ConditionTrue && !readyFlipped {
		// Degraded for a new reason (a conflict, a missing Secret, a failed
		// migration): a Tenant that was Ready has its Ready flip say it instead.
		prev := meta.FindStatusCondition(orig.Status.Conditions, silov1.DegradedCondition)
		if prev == nil || prev.Status != metav1.ConditionTrue || prev.Reason != d.Reason {
			out = append(out, storyEvent{corev1.EventTypeWarning, d.Reason, "Degrade", d.Message})
		}
	}
	was, is := orig.Status.Phase, t.Status.Phase
	switch {
	case is == silov1.PhaseSuspended && was != silov1.PhaseSuspended && !readyFlipped:
		out = append(out, storyEvent{corev1.EventTypeNormal, silov1.SuspendedReason, "Suspend",
			"spec.suspend is true: workloads are scaled to zero, volumes and Secrets are kept"})
	case was == silov1.PhaseSuspended && is != silov1.PhaseSuspended && is != silov1.PhaseDeleting:
		out = append(out, storyEvent{corev1.EventTypeNormal, ResumedEventReason, "Resume",
			"spec.suspend is false: workloads are scaled back up"})
	}
	return out
}

// childrenEvent is the one event about the children a pass wrote, or about the class
// revision the pass moved the Tenant to (a rollout reaching it), whichever tells more.
func childrenEvent(orig, t *silov1.Tenant, obs *observation) (storyEvent, bool) {
	wrote := obs != nil && len(obs.created)+len(obs.updated) > 0
	if reason, note := classMove(orig, t); reason != "" {
		if wrote {
			note += ": " + childList(obs.created, obs.updated)
		}
		return storyEvent{corev1.EventTypeNormal, reason, "Rollout", note}, true
	}
	switch {
	case !wrote:
		return storyEvent{}, false
	case meta.FindStatusCondition(orig.Status.Conditions, silov1.ReadyCondition) == nil && len(obs.updated) == 0:
		// A new Tenant: its kinds tell the story, not 19 names.
		note := fmt.Sprintf("created %s: %s", children(len(obs.created)), kindCounts(obs.created))
		if t.Status.Class != "" {
			note = fmt.Sprintf("created %s (class %s, revision %s): %s",
				children(len(obs.created)), t.Status.Class, t.Status.ClassRevision, kindCounts(obs.created))
		}
		return storyEvent{corev1.EventTypeNormal, CreatedEventReason, "Create", note}, true
	case orig.Status.ObservedGeneration == t.Generation:
		// Neither the spec nor the class revision changed since the last good pass:
		// something else did.
		return storyEvent{corev1.EventTypeNormal, DriftRepairedEventReason, "Repair",
			"put back " + childList(obs.created, obs.updated) + " as the Tenant asks (edited or deleted since the last pass)"}, true
	default:
		return storyEvent{corev1.EventTypeNormal, UpdatedEventReason, "Update",
			fmt.Sprintf("applied generation %d: %s", t.Generation, childList(obs.created, obs.updated))}, true
	}
}

// classMove tells how the pass changed the class revision the Tenant runs (its
// status.class and status.classRevision): a class rollout reaching it, or a move to
// another class. A new Tenant's first revision is no move.
func classMove(orig, t *silov1.Tenant) (reason, note string) {
	was, is := orig.Status, t.Status
	switch {
	case was.Class == is.Class && is.Class != "" && was.ClassRevision != "" && was.ClassRevision != is.ClassRevision:
		return RolloutReachedEventReason, fmt.Sprintf("class %s rolled out to this Tenant: revision %s (was %s)",
			is.Class, is.ClassRevision, was.ClassRevision)
	case was.Class == is.Class || meta.FindStatusCondition(was.Conditions, silov1.ReadyCondition) == nil:
		return "", ""
	case is.Class == "":
		return ClassChangedEventReason, fmt.Sprintf("left class %s: runs its own spec only", was.Class)
	case was.Class == "":
		return ClassChangedEventReason, fmt.Sprintf("joined class %s at revision %s", is.Class, is.ClassRevision)
	default:
		return ClassChangedEventReason, fmt.Sprintf("moved from class %s to class %s at revision %s", was.Class, is.Class, is.ClassRevision)
	}
}

func children(n int) string {
	if n == 1 {
		return "1 child"
	}
	return fmt.Sprintf("%d children", n)
}

// kindCounts is "Namespace, NetworkPolicy (4), Service (3)" in the order the kinds
// were first written.
func kindCounts(keys []childKey) string {
	var order []string
	counts := map[string]int{}
	for _, k := range keys {
		if counts[k.gvk.Kind] == 0 {
			order = append(order, k.gvk.Kind)
		}
		counts[k.gvk.Kind]++
	}
	parts := make([]string, len(order))
	for i, kind := range order {
		parts[i] = kind
		if n := counts[kind]; n > 1 {
			parts[i] = fmt.Sprintf("%s (%d)", kind, n)
		}
	}
	return strings.Join(parts, ", ")
}

// childList names the children a pass created and changed, up to maxNamedChildren,
// then counts the rest.
func childList(created, updated []childKey) string {
	var parts []string
	add := func(verb string, keys []childKey) {
		for _, k := range keys {
			if len(parts) == maxNamedChildren {
				return
			}
			parts = append(parts, verb+" "+k.gvk.Kind+" "+k.name)
		}
	}
	add("created", created)
	add("updated", updated)
	if rest := len(created) + len(updated) - len(parts); rest > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", rest))
	}
	return strings.Join(parts, ", ")
}
