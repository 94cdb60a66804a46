package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// observation is what one reconcile pass saw and did; status is computed from it.
type observation struct {
	// changed is true when the pass created or updated a child.
	changed bool
	// observed is true when the pass read every component's readiness; otherwise
	// status keeps what the last pass that did read.
	observed bool
	// namespaceCreated is true when this pass created the namespace: nothing but
	// what Silo puts there can be in it yet.
	namespaceCreated bool
	// created and updated are the children the pass created or changed, for its event.
	created, updated []childKey
	// namespaceReady is true once the namespace and its fences are applied.
	namespaceReady bool
	// components is the readiness of each enabled component, in status order.
	components []silov1.ComponentStatus
	// endpoints are in-cluster URLs by component.
	endpoints map[string]string
	// usage is the namespace's quota usage.
	usage corev1.ResourceList
	// blocked says why the pass could not do everything, when a person has to act
	// (or, when waiting, why it waits).
	blocked *blockage
	// deleting is true while the deletion policy runs.
	deleting bool
	// requeueAfter asks to look again later (nothing is watched that would tell).
	requeueAfter time.Duration
	// class and classRevision are the class and revision the pass rendered.
	class, classRevision string
	// workloadsWritten are the Deployments and StatefulSets the pass wrote.
	workloadsWritten map[string]bool
	// credentials and export are the rotations' and the export's status, when the
	// pass looked at them (nil keeps what the last pass wrote).
	credentials *silov1.CredentialsStatus
	export      *silov1.ExportStatus
	// What the backup and restore phases saw.
	backupObservation
}

// blockage is a problem shown in the Degraded condition.
type blockage struct {
	reason  string
	message string
	// waiting is true when the problem goes away by itself (an old namespace still
	// terminating): the operator is still progressing.
	waiting bool
	// recheck is true when nothing the operator watches tells it the problem is
	// gone (a foreign namespace or object it does not cache was deleted): it looks
	// again later by itself.
	recheck bool
}

// block records a problem. The first problem's reason names the condition; the
// messages of all are joined, so none is hidden.
func (o *observation) block(reason, message string) {
	if o.blocked == nil {
		o.blocked = &blockage{reason: reason, message: message}
		return
	}
	o.blocked.message += "; " + message
}

// conflict records an object Silo did not create at the name of one of its children.
func (o *observation) conflict(c *childConflict) {
	o.block(silov1.ChildConflictReason, c.Error())
	o.blocked.recheck = true
}

// observe reads the readiness and endpoint of every component and the quota usage
// from the cache.
func (r *TenantReconciler) observe(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	obs.namespaceReady = true
	var errs []error
	for i := range components {
		c := &components[i]
		if !c.enabled(t) {
			continue
		}
		st, err := c.status(ctx, r.Client, bc)
		if err != nil {
			errs = append(errs, fmt.Errorf("observing %s: %w", c.name, err))
			continue
		}
		obs.components = append(obs.components, st)
		if url := c.endpointURL(t); url != "" {
			if obs.endpoints == nil {
				obs.endpoints = map[string]string{}
			}
			obs.endpoints[c.name] = url
		}
	}
	quota := &corev1.ResourceQuota{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: QuotaName}, quota); err == nil {
		obs.usage = quota.Status.Used
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	obs.observed = true
	return nil
}

// isTransient reports whether every error in err is one the operator retries by
// itself and expects to pass: a conflict, a timeout, throttling, an API server that
// is unavailable or failed internally, a connection that broke. Anything else
// (refused by admission or RBAC, invalid, a terminal error) needs a person.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, reconcile.TerminalError(nil)) {
		return false
	}
	switch x := err.(type) {
	case apierrors.APIStatus:
		return apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
			apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
			apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err)
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if !isTransient(e) {
				return false
			}
		}
		return true
	case interface{ Unwrap() error }:
		if inner := x.Unwrap(); inner != nil {
			return isTransient(inner)
		}
	}
	// Not from the API server: a broken connection or a cancelled context.
	return true
}

// computeStatus derives the Tenant's status from what a pass observed. It is pure:
// the same Tenant (its status is the last one written), observation and error give
// the same status (conditions carry no timestamps here; writeStatus keeps or sets
// them).
func computeStatus(t *silov1.Tenant, obs *observation, reconcileErr error) silov1.TenantStatus {
	prev := t.Status
	st := silov1.TenantStatus{
		Namespace:          NamespaceFor(t),
		ObservedGeneration: prev.ObservedGeneration,
		Components:         obs.components,
		Endpoints:          obs.endpoints,
		Usage:              obs.usage,
	}
	if !obs.observed {
		// Nothing was read this pass: what the last pass saw still stands.
		st.Components, st.Endpoints, st.Usage = prev.Components, prev.Endpoints, prev.Usage
	}
	ready := 0
	var notReady []string
	for _, c := range st.Components {
		if c.Ready {
			ready++
		} else {
			msg := c.Name
			if c.Message != "" {
				msg += " (" + c.Message + ")"
			}
			notReady = append(notReady, msg)
		}
	}
	st.ComponentsReady = fmt.Sprintf("%d/%d", ready, len(st.Components))
	allReady := obs.namespaceReady && len(notReady) == 0

	cond := func(typ string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: t.Generation}
	}
	degraded := cond(silov1.DegradedCondition, false, silov1.AsExpectedReason, "")
	progressing := cond(silov1.ProgressingCondition, false, silov1.ReconcileSucceededReason, "the environment matches the spec")
	var readyC metav1.Condition

	switch {
	case obs.deleting:
		st.Phase = silov1.PhaseDeleting
		msg := "the Tenant is being deleted; its deletionPolicy is " + string(deletionPolicy(t))
		if reconcileErr != nil {
			msg += "; the operator retries: " + reconcileErr.Error()
		}
		readyC = cond(silov1.ReadyCondition, false, silov1.DeletingReason, msg)
		progressing = cond(silov1.ProgressingCondition, true, silov1.DeletingReason, "running the deletion policy")
	case obs.blocked != nil:
		b := obs.blocked
		st.Phase = silov1.PhaseDegraded
		degraded = cond(silov1.DegradedCondition, true, b.reason, b.message)
		readyC = cond(silov1.ReadyCondition, false, b.reason, b.message)
		if b.waiting {
			progressing = cond(silov1.ProgressingCondition, true, b.reason, b.message)
		} else {
			progressing = cond(silov1.ProgressingCondition, false, b.reason, "waiting for a person to act: see the Degraded condition")
		}
	case reconcileErr != nil && isTransient(reconcileErr):
		// The operator retries with back-off: Ready, Degraded and the phase keep
		// what the last pass found, and Progressing says what is being retried.
		st.Phase = prev.Phase
		if st.Phase == "" {
			st.Phase = silov1.PhaseProvisioning
		}
		readyC = previousOr(prev.Conditions, cond(silov1.ReadyCondition, false, silov1.ComponentsNotReadyReason, "waiting for the first pass to finish"))
		degraded = previousOr(prev.Conditions, degraded)
		progressing = cond(silov1.ProgressingCondition, true, silov1.RetryingReason,
			"the last pass failed and the operator retries: "+reconcileErr.Error())
	case reconcileErr != nil:
		st.Phase = silov1.PhaseDegraded
		msg := "reconcile failed; fix the cause, the operator retries with back-off: " + reconcileErr.Error()
		degraded = cond(silov1.DegradedCondition, true, silov1.ReconcileFailedReason, msg)
		readyC = cond(silov1.ReadyCondition, false, silov1.ReconcileFailedReason, msg)
		progressing = cond(silov1.ProgressingCondition, false, silov1.ReconcileFailedReason, "stopped on an error: see the Degraded condition")
	case t.Spec.Suspend:
		st.Phase = silov1.PhaseSuspended
		readyC = cond(silov1.ReadyCondition, false, silov1.SuspendedReason, "spec.suspend is true: workloads are scaled to zero, data is kept; set it to false to resume")
	case allReady:
		st.Phase = silov1.PhaseReady
		readyC = cond(silov1.ReadyCondition, true, silov1.ReadyReason, "every component is ready")
	default:
		st.Phase = silov1.PhaseProvisioning
		msg := "waiting for the namespace"
		if obs.namespaceReady {
			msg = "waiting for " + strings.Join(notReady, ", ")
		}
		readyC = cond(silov1.ReadyCondition, false, silov1.ComponentsNotReadyReason, msg)
		// Progressing follows readiness only, not whether this pass wrote something:
		// a pass that applied changes and finds everything ready has made the
		// environment match the spec, and a one-pass "applied changes" would cost
		// every change a second status write (and every new Tenant two).
		progressing = cond(silov1.ProgressingCondition, true, silov1.ProvisioningReason, msg)
	}
	if reconcileErr == nil && obs.blocked == nil && !obs.deleting {
		st.ObservedGeneration = t.Generation
	}
	st.Class, st.ClassRevision = classStatus(t, obs, reconcileErr)
	st.Credentials, st.Export = prev.Credentials, prev.Export
	if obs.credentials != nil {
		st.Credentials = obs.credentials
	}
	if obs.export != nil {
		st.Export = obs.export
	}
	st.Backups, st.RestoredFrom = backupStatus(&prev, obs)
	st.Conditions = []metav1.Condition{readyC, progressing, degraded}
	return st
}

// previousOr returns the condition of def's type from conds as it was, or def when
// there is none.
func previousOr(conds []metav1.Condition, def metav1.Condition) metav1.Condition {
	if c := meta.FindStatusCondition(conds, def.Type); c != nil {
		kept := *c
		kept.LastTransitionTime = metav1.Time{}
		return kept
	}
	return def
}

// writeStatus computes the status and patches it, once, only when it changed.
func (r *TenantReconciler) writeStatus(ctx context.Context, orig, t *silov1.Tenant, obs *observation, reconcileErr error) error {
	next := computeStatus(t, obs, reconcileErr)
	conds := append([]metav1.Condition(nil), orig.Status.Conditions...)
	for _, c := range next.Conditions {
		// SetStatusCondition keeps lastTransitionTime when the status did not flip.
		meta.SetStatusCondition(&conds, c)
	}
	next.Conditions = conds
	if equality.Semantic.DeepEqual(orig.Status, next) {
		return nil
	}
	t.Status = next
	if err := r.Status().Patch(ctx, t, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("writing status of %s: %w", klog.KObj(t), err))
	}
	r.written.wrote(t)
	wasReady := meta.IsStatusConditionTrue(orig.Status.Conditions, silov1.ReadyCondition)
	isReady := meta.IsStatusConditionTrue(next.Conditions, silov1.ReadyCondition)
	if wasReady != isReady {
		readyC := meta.FindStatusCondition(next.Conditions, silov1.ReadyCondition)
		typ := corev1.EventTypeNormal
		if !isReady && readyC.Reason != silov1.SuspendedReason {
			typ = corev1.EventTypeWarning
		}
		r.event(t, typ, readyC.Reason, "Status", "%s", readyC.Message)
		ctrl.LoggerFrom(ctx).Info("ready changed", "ready", isReady, "reason", readyC.Reason)
	}
	return nil
}

// event records an event about t, if the reconciler has a recorder.
func (r *TenantReconciler) event(t *silov1.Tenant, typ, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(t, nil, typ, reason, action, note, args...)
	}
}
