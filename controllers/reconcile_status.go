package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// observation is what one reconcile pass saw and did; status is computed from it.
type observation struct {
	// changed is true when the pass created or updated a child.
	changed bool
	// namespaceReady is true once the namespace and its fences are applied.
	namespaceReady bool
	// components is the readiness of each enabled component, in status order.
	components []silov1.ComponentStatus
	// endpoints are in-cluster URLs by component.
	endpoints map[string]string
	// usage is the namespace's quota usage.
	usage corev1.ResourceList
	// blocked says why the pass could not go on, when a person has to act.
	blocked *blockage
	// deleting is true while the deletion policy runs.
	deleting bool
	// requeueAfter asks to look again later (nothing is watched that would tell).
	requeueAfter time.Duration
	// class and classRevision are the class and revision the pass rendered.
	class, classRevision string
	// workloadsWritten are the Deployments and StatefulSets the pass wrote.
	workloadsWritten map[string]bool
}

// blockage is a problem a person has to fix, shown in the Degraded condition.
type blockage struct {
	reason  string
	message string
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
	return errors.Join(errs...)
}

// computeStatus derives the Tenant's status from what a pass observed. It is pure:
// the same Tenant, observation and error give the same status (conditions carry no
// timestamps here; writeStatus keeps or sets them).
func computeStatus(t *silov1.Tenant, obs *observation, reconcileErr error) silov1.TenantStatus {
	st := silov1.TenantStatus{
		Namespace:          NamespaceFor(t),
		ObservedGeneration: t.Status.ObservedGeneration,
		Components:         obs.components,
		Endpoints:          obs.endpoints,
		Usage:              obs.usage,
	}
	ready := 0
	var notReady []string
	for _, c := range obs.components {
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
	st.ComponentsReady = fmt.Sprintf("%d/%d", ready, len(obs.components))
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
		readyC = cond(silov1.ReadyCondition, false, silov1.DeletingReason, "the Tenant is being deleted; its deletionPolicy is "+string(deletionPolicy(t)))
		progressing = cond(silov1.ProgressingCondition, true, silov1.DeletingReason, "running the deletion policy")
	case obs.blocked != nil:
		st.Phase = silov1.PhaseDegraded
		degraded = cond(silov1.DegradedCondition, true, obs.blocked.reason, obs.blocked.message)
		readyC = cond(silov1.ReadyCondition, false, obs.blocked.reason, obs.blocked.message)
	case reconcileErr != nil:
		st.Phase = silov1.PhaseDegraded
		msg := "reconcile failed, the operator retries: " + reconcileErr.Error()
		degraded = cond(silov1.DegradedCondition, true, silov1.ReconcileFailedReason, msg)
		readyC = cond(silov1.ReadyCondition, false, silov1.ReconcileFailedReason, msg)
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
	}
	// Progressing follows readiness only, not whether this pass wrote something: a pass
	// that applied changes and finds everything ready has made the environment match
	// the spec, and a one-pass "applied changes" would cost every change a second
	// status write (and every new Tenant two).
	if !obs.deleting && reconcileErr == nil && obs.blocked == nil && !allReady && !t.Spec.Suspend {
		progressing = cond(silov1.ProgressingCondition, true, silov1.ProvisioningReason, readyC.Message)
	}
	if reconcileErr == nil && obs.blocked == nil && !obs.deleting {
		st.ObservedGeneration = t.Generation
	}
	st.Class, st.ClassRevision = classStatus(t, obs, reconcileErr)
	st.Conditions = []metav1.Condition{readyC, progressing, degraded}
	return st
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
	wasReady := meta.IsStatusConditionTrue(orig.Status.Conditions, silov1.ReadyCondition)
	isReady := meta.IsStatusConditionTrue(next.Conditions, silov1.ReadyCondition)
	if wasReady != isReady {
		readyC := meta.FindStatusCondition(next.Conditions, silov1.ReadyCondition)
		typ := corev1.EventTypeNormal
		if !isReady {
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
