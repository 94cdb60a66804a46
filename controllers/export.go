package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
// id. For a new id it creates the claim export-<id> and the Job that fills it (and,
// where the platform exports the Tenant's region to object storage, uploads it),
// then follows the Job to its end, hands the claim over, and reports it in
// status.export. An id already in status does nothing more once its export has
// finished. A failed export makes the Tenant Degraded (ExportFailed) while the
// annotation still names it.
func (r *TenantReconciler) reconcileExport(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	id := t.Annotations[silov1.ExportAnnotation]
	if id == "" {
		return nil
	}
	st := t.Status.Export.DeepCopy()
	var store *objectStore
	if st == nil || st.ID != id {
		if err := validExportID(t, id); err != nil {
			obs.block(silov1.ExportRefusedReason, err.Error())
			return nil
		}
		var err error
		if store, err = r.exportStore(ctx, t); err != nil {
			return exportRefusedOr(obs, err, "exporting %s of %s: %w", id, klog.KObj(t))
		}
		now := r.statusNow()
		st = &silov1.ExportStatus{ID: id, Phase: silov1.ExportRunning, ClaimName: exportClaimName(id), StartTime: &now}
		if store != nil {
			st.ObjectStorage = exportLocation(store, t, id)
		}
	}
	if st.Phase == silov1.ExportRunning {
		err := r.runExport(ctx, bc, st, store)
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
			return exportRefusedOr(obs, err, "exporting %s of %s: %w", id, klog.KObj(t))
		}
	}
	obs.export = st
	if st.Phase == silov1.ExportFailed {
		obs.block(silov1.ExportFailedReason, st.Message)
	}
	return nil
}

// exportRefusal is an export that cannot start until the platform fixes something
// Silo does not watch (its object storage Secret): ExportRefused, looked at again
// later.
type exportRefusal struct{ msg string }

func (e *exportRefusal) Error() string { return e.msg }

// exportRefusedOr records a refusal (and returns nil), or wraps any other error.
func exportRefusedOr(obs *observation, err error, format string, args ...any) error {
	var refused *exportRefusal
	if !errors.As(err, &refused) {
		return fmt.Errorf(format, append(args, err)...)
	}
	obs.block(silov1.ExportRefusedReason, refused.msg)
	obs.blocked.recheck = true
	return nil
}

// exportStore reads the bucket the platform exports the Tenant's region to (its
// Secret in the operator's namespace, read past the cache: it is not labelled for a
// Tenant), nil when exports go to a claim, or an exportRefusal that says what to fix.
func (r *TenantReconciler) exportStore(ctx context.Context, t *silov1.Tenant) (*objectStore, error) {
	name := r.Config.Platform.ExportObjectStorageFor(t.Spec.Placement.Region)
	if name == "" {
		return nil, nil
	}
	ns := r.Config.OperatorNamespace
	where := fmt.Sprintf("the platform exports the Tenant's region to object storage, but the Secret %s/%s "+
		"(--export-object-storage)", ns, name)
	s := &corev1.Secret{}
	if err := r.apiReader().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &exportRefusal{fmt.Sprintf("%s is missing: create it with the keys %s (and optionally %s, %s); "+
				"no Job runs until then", where, strings.Join(objectStorageRequiredKeys, ", "), ObjectStorageRegionKey, ObjectStoragePrefixKey)}
		}
		return nil, fmt.Errorf("reading the export object storage Secret %s/%s: %w", ns, name, err)
	}
	store, err := objectStoreFrom(s)
	if err == nil {
		err = exportResidency(t, store)
	}
	if err != nil {
		return nil, &exportRefusal{fmt.Sprintf("%s cannot be used: %v; fix it (kubectl edit secret -n %s %s), "+
			"no Job runs until then", where, err, ns, name)}
	}
	return store, nil
}

// runExport makes sure the claim and the Job (and the upload Secret) exist, and
// reads the Job's result.
func (r *TenantReconciler) runExport(ctx context.Context, bc *buildContext, st *silov1.ExportStatus, store *objectStore) error {
	t := bc.Tenant
	ns := NamespaceFor(t)
	state, err := r.jobState(ctx, ns, exportClaimName(st.ID))
	if err != nil {
		return err
	}
	switch state {
	case jobStateAbsent:
		if st.ObjectStorage != nil && store == nil {
			if store, err = r.exportStore(ctx, t); err != nil {
				return err
			}
			if store == nil {
				return &exportRefusal{fmt.Sprintf("the export %s was to go to object storage, which the platform no longer "+
					"configures for the Tenant's region (--export-object-storage): export again under a new id", st.ID)}
			}
			st.ObjectStorage = exportLocation(store, t, st.ID)
		}
		// The upload Secret first: one at its name that is not Silo's stops the
		// export before anything else is created.
		if store != nil {
			if err := r.createUploadSecret(ctx, bc, st.ID, store); err != nil {
				return err
			}
		}
		if err := r.applyDataChild(ctx, buildExportClaim(bc, st.ID)); err != nil {
			return err
		}
		if err := r.applyDataChild(ctx, buildExportJob(bc, st.ID, store)); err != nil {
			return err
		}
		ctrl.LoggerFrom(ctx).Info("exporting", "id", st.ID, "claim", st.ClaimName, "objectStorage", st.ObjectStorage != nil)
		r.event(t, corev1.EventTypeNormal, ExportStartedEventReason, "Export", "exporting the Tenant's data %s", exportWhere(st, ns))
	case jobStateSucceeded:
		if err := r.finishExport(ctx, t, st, true); err != nil {
			return err
		}
		now := r.statusNow()
		st.Phase, st.CompletionTime, st.Message = silov1.ExportSucceeded, &now, ""
		r.event(t, corev1.EventTypeNormal, ExportSucceededEventReason, "Export", "the export %s is %s",
			st.ID, strings.TrimPrefix(exportWhere(st, ns), "into "))
		if st.ObjectStorage != nil {
			st.ClaimName = ""
		}
	case jobStateFailed:
		if err := r.finishExport(ctx, t, st, false); err != nil {
			return err
		}
		now := r.statusNow()
		st.Phase, st.CompletionTime = silov1.ExportFailed, &now
		st.Message = fmt.Sprintf("the export %s failed: see `kubectl logs -n %s job/%s --all-containers`; the claim %s is kept. "+
			"Fix the cause, then export again under a new id, or remove the %s annotation",
			st.ID, ns, exportClaimName(st.ID), st.ClaimName, silov1.ExportAnnotation)
	}
	return nil
}

// createUploadSecret creates the upload Secret of an export. It is created, never
// applied: its URLs are signed with the time, and one a pass before a restart
// created is as good. One Silo did not create is never used (its URLs could send
// the export anywhere): a conflict.
func (r *TenantReconciler) createUploadSecret(ctx context.Context, bc *buildContext, id string, store *objectStore) error {
	s := buildExportUploadSecret(bc, id, store, r.now())
	err := r.Create(ctx, s, client.FieldOwner(FieldOwner))
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating the export's upload Secret %s: %w", client.ObjectKeyFromObject(s), err)
		}
		return nil
	}
	existing := &corev1.Secret{}
	if err := r.apiReader().Get(ctx, client.ObjectKeyFromObject(s), existing); err != nil {
		return fmt.Errorf("reading the export's upload Secret %s: %w", client.ObjectKeyFromObject(s), err)
	}
	if !carriesLabels(existing.Labels, commonLabels(bc.Tenant)) || existing.Labels[silov1.ExportIDLabel] != id {
		return &childConflict{kind: "Secret", namespace: s.Namespace, name: s.Name}
	}
	return nil
}

// exportWhere says where an export goes, for events.
func exportWhere(st *silov1.ExportStatus, ns string) string {
	if o := st.ObjectStorage; o != nil {
		return fmt.Sprintf("into s3://%s/%s at %s", o.Bucket, o.Key, o.Endpoint)
	}
	return fmt.Sprintf("into the claim %s/%s", ns, st.ClaimName)
}

// finishExport tidies up after an export's Job: the upload URLs go (deleted), and
// the claim is handed over. After a successful upload the claim was only scratch
// space: it is handed to the Job, and the garbage collector removes it with the Job
// (a day later, with its logs). Otherwise (an export to a claim, or a failed upload)
// it is handed over to the namespace, and Silo never deletes it.
func (r *TenantReconciler) finishExport(ctx context.Context, t *silov1.Tenant, st *silov1.ExportStatus, succeeded bool) error {
	ns := NamespaceFor(t)
	if st.ObjectStorage != nil {
		s, err := r.ownSecret(ctx, t, ns, exportUploadSecretName(st.ID))
		if err != nil {
			return err
		}
		if s != nil {
			if err := r.deleteSecret(ctx, s); err != nil {
				return err
			}
		}
	}
	owner := "null"
	if st.ObjectStorage != nil && succeeded {
		job := &batchv1.Job{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: exportClaimName(st.ID)}, job); err != nil {
			return client.IgnoreNotFound(err)
		}
		owner = fmt.Sprintf(`[{"apiVersion":"batch/v1","kind":"Job","name":%q,"uid":%q}]`, job.Name, job.UID)
	}
	return r.releaseExportClaim(ctx, t, st.ClaimName, owner)
}

// releaseExportClaim hands a finished export's claim over: without Silo's
// managed-by label, and owned by owners (a JSON list, or null). Owned by nothing, a
// tenant admin or the platform may copy it out and delete it when done (Silo never
// deletes it), and it stays when the Tenant is deleted with Retain (it goes with the
// namespace under Delete). Once released it is no longer in the operator's cache:
// nothing to do then.
func (r *TenantReconciler) releaseExportClaim(ctx context.Context, t *silov1.Tenant, name, owners string) error {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: name}, pvc); err != nil {
		return client.IgnoreNotFound(err)
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null},"ownerReferences":%s}}`, silov1.ManagedByLabel, owners)
	if err := r.Patch(ctx, pvc, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("handing over the export claim %s: %w", client.ObjectKeyFromObject(pvc), err))
	}
	return nil
}
