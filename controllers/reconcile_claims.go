package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=events,verbs=list

// claimRequeue is how soon to look again at a claim that cannot bind: its events,
// which say why, are not watched.
const claimRequeue = 30 * time.Second

// readClaimProblems reads why each of the tenant's Pending volume claims does not
// bind, from the claim's latest events (read from the API server: the operator
// caches no events), into bc.ClaimProblems.
func (r *TenantReconciler) readClaimProblems(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.List(ctx, claims, client.InNamespace(NamespaceFor(t)), client.MatchingLabels(commonLabels(t))); err != nil {
		return fmt.Errorf("listing volume claims of %s: %w", klog.KObj(t), err)
	}
	bc.ClaimProblems = map[string]string{}
	for i := range claims.Items {
		c := &claims.Items[i]
		if c.Status.Phase == corev1.ClaimBound || !c.DeletionTimestamp.IsZero() {
			continue
		}
		events := &corev1.EventList{}
		if err := r.apiReader().List(ctx, events, client.InNamespace(c.Namespace), client.MatchingFieldsSelector{
			Selector: fields.SelectorFromSet(fields.Set{"involvedObject.kind": "PersistentVolumeClaim", "involvedObject.name": c.Name}),
		}); err != nil {
			return fmt.Errorf("reading events of volume claim %s: %w", klog.KObj(c), err)
		}
		if why := claimEventSummary(events.Items); why != "" {
			bc.ClaimProblems[c.Name] = why
		}
		if obs.requeueAfter == 0 || obs.requeueAfter > claimRequeue {
			obs.requeueAfter = claimRequeue
		}
	}
	return nil
}

// claimEventSummary returns "reason: message" of a claim's most telling event: the
// latest warning (a class that does not exist, a provisioner that failed, no
// volume that fits), else the latest event; "" without events.
func claimEventSummary(events []corev1.Event) string {
	if len(events) == 0 {
		return ""
	}
	last := func(e *corev1.Event) time.Time {
		switch {
		case !e.LastTimestamp.IsZero():
			return e.LastTimestamp.Time
		case !e.EventTime.IsZero():
			return e.EventTime.Time
		}
		return e.CreationTimestamp.Time
	}
	sorted := append([]corev1.Event(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool {
		wi, wj := sorted[i].Type == corev1.EventTypeWarning, sorted[j].Type == corev1.EventTypeWarning
		if wi != wj {
			return wi
		}
		if ti, tj := last(&sorted[i]), last(&sorted[j]); !ti.Equal(tj) {
			return ti.After(tj)
		}
		return sorted[i].Name < sorted[j].Name
	})
	return sorted[0].Reason + ": " + sorted[0].Message
}

// claimMessage says why a claim is not bound, with its events' explanation.
func claimMessage(bc *buildContext, name string, phase corev1.PersistentVolumeClaimPhase) string {
	msg := fmt.Sprintf("volume claim %s is %s", name, phase)
	if why := bc.ClaimProblems[name]; why != "" {
		msg += " (" + why + ")"
	}
	return msg
}

// withClaimProblem adds to a not-ready StatefulSet's status why its data claim does
// not bind, when it does not.
func withClaimProblem(st silov1.ComponentStatus, bc *buildContext, claim string) silov1.ComponentStatus {
	if why := bc.ClaimProblems[claim]; !st.Ready && why != "" {
		st.Message += "; volume claim " + claim + " is Pending (" + why + ")"
	}
	return st
}
