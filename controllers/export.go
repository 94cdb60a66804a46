package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Reasons of the export's events. A failure is the Degraded reason ExportFailed,
// whose event the status change records.
const (
	ExportStartedEventReason   = "ExportStarted"
	ExportSucceededEventReason = "ExportSucceeded"
)

// reconcileExport acts on the silo.dev/export annotation: one export per distinct
// id. For a new id it creates the claim export-<id> and the Job that fills it, then
// follows the Job to its end, hands the claim over to the namespace, and reports
// it in status.export. An id already in
// status does nothing more once its export has finished. A failed export makes the
// Tenant Degraded (ExportFailed) while the annotation still names it.
func (r *TenantReconciler) reconcileExport(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	id := t.Annotations[silov1.ExportAnnotation]
	if id == "" {
		return nil
	}
	st := t.Status.Export.DeepCopy()
	if st == nil || st.ID != id {
		if err := validExportID(t, id); err != nil {
			obs.block(silov1.ExportRefusedReason, err.Error())
			return nil
		}
		now := r.statusNow()
		st = &silov1.ExportStatus{ID: id, Phase: silov1.ExportRunning, ClaimName: exportClaimName(id), StartTime: &now}
	}
	if st.Phase == silov1.ExportRunning {
		err := r.runExport(ctx, bc, st)
		var conflict *childConflict
		if errors.As(err, &conflict) {
			// An earlier export's claim (handed over, so no longer Silo's) or someone
			// else's object: never written over.
			obs.block(silov1.ExportRefusedReason, fmt.Sprintf("the %s %s/%s already exists and Silo does not write "+
				"over it (an earlier export under the id %s, or an object someone else created): export under another id",
				conflict.kind, conflict.namespace, conflict.name, id))
			return nil
		}
		if err != nil {
			obs.export = st
			return fmt.Errorf("exporting %s of %s: %w", id, klog.KObj(t), err)
		}
	}
	obs.export = st
	if st.Phase == silov1.ExportFailed {
		obs.block(silov1.ExportFailedReason, st.Message)
	}
	return nil
}

// runExport makes sure the claim and the Job exist, and reads the Job's result.
func (r *TenantReconciler) runExport(ctx context.Context, bc *buildContext, st *silov1.ExportStatus) error {
	t := bc.Tenant
	ns := NamespaceFor(t)
	state, err := r.jobState(ctx, ns, exportClaimName(st.ID))
	if err != nil {
		return err
	}
	switch state {
	case jobStateAbsent:
		if err := r.applyDataChild(ctx, buildExportClaim(bc, st.ID)); err != nil {
			return err
		}
		if err := r.applyDataChild(ctx, buildExportJob(bc, st.ID)); err != nil {
			return err
		}
		ctrl.LoggerFrom(ctx).Info("exporting", "id", st.ID, "claim", st.ClaimName)
		r.event(t, corev1.EventTypeNormal, ExportStartedEventReason, "Export", "exporting the Tenant's data into the claim %s/%s",
			ns, st.ClaimName)
	case jobStateSucceeded:
		if err := r.releaseExportClaim(ctx, t, st.ClaimName); err != nil {
			return err
		}
		now := r.statusNow()
		st.Phase, st.CompletionTime, st.Message = silov1.ExportSucceeded, &now, ""
		r.event(t, corev1.EventTypeNormal, ExportSucceededEventReason, "Export", "the export %s is in the claim %s/%s",
			st.ID, ns, st.ClaimName)
	case jobStateFailed:
		if err := r.releaseExportClaim(ctx, t, st.ClaimName); err != nil {
			return err
		}
		now := r.statusNow()
		st.Phase, st.CompletionTime = silov1.ExportFailed, &now
		st.Message = fmt.Sprintf("the export %s failed: see `kubectl logs -n %s job/%s`; the claim %s is kept. "+
			"Fix the cause, then export again under a new id, or remove the %s annotation",
			st.ID, ns, exportClaimName(st.ID), st.ClaimName, silov1.ExportAnnotation)
	}
	return nil
}

// releaseExportClaim hands a finished export's claim over to the namespace: without
// Silo's managed-by label and owner reference, a tenant admin or the platform may
// copy it out and delete it when done (Silo never deletes it), and it stays when the
// Tenant is deleted with Retain (it goes with the namespace under Delete). Once
// released it is no longer in the operator's cache: nothing to do then.
func (r *TenantReconciler) releaseExportClaim(ctx context.Context, t *silov1.Tenant, name string) error {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: name}, pvc); err != nil {
		return client.IgnoreNotFound(err)
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null},"ownerReferences":null}}`, silov1.ManagedByLabel)
	if err := r.Patch(ctx, pvc, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("handing over the export claim %s: %w", client.ObjectKeyFromObject(pvc), err))
	}
	return nil
}
