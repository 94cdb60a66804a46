package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;create;patch;delete

// backupObservation is what the backup and restore phases saw, for status.
type backupObservation struct {
	// backupsSeen is true when the backup phase ran; backups is then the new
	// status.backups (nil without spec.backup).
	backupsSeen bool
	backups     *silov1.BackupStatus
	// restoredSeen is true when the restore phase read the claims; restored is then
	// the new status.restoredFrom.
	restoredSeen bool
	restored     []silov1.RestoredVolume
}

// backupStatus returns status.backups and status.restoredFrom: what the phases saw
// this pass, else what the last pass wrote.
func backupStatus(prev *silov1.TenantStatus, obs *observation) (*silov1.BackupStatus, []silov1.RestoredVolume) {
	b, r := prev.Backups, prev.RestoredFrom
	if obs.backupsSeen {
		b = obs.backups
	}
	if obs.restoredSeen {
		r = obs.restored
	}
	return b, r
}

// now is the operator's clock (a fake one in tests).
func (r *TenantReconciler) now() time.Time {
	if r.Config.Clock == nil {
		return clock.RealClock{}.Now()
	}
	return r.Config.Clock.Now()
}

// requeueWithin asks to look again within d at the latest.
func (o *observation) requeueWithin(d time.Duration) {
	d = max(d, time.Second)
	if o.requeueAfter == 0 || d < o.requeueAfter {
		o.requeueAfter = d
	}
}

// reconcileBackup takes the Tenant's scheduled (or requested) round of snapshots
// when it is due, keeps the last backup.keep ready snapshots of each volume and
// deletes older ones, keeps each ready snapshot's content when the namespace goes
// (unless deleteWithTenant), and reports the last good snapshot per volume and the
// next run. A failed or stuck snapshot makes the Tenant Degraded (BackupFailed).
func (r *TenantReconciler) reconcileBackup(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	obs.backupsSeen = true
	b := t.Spec.Backup
	if b == nil {
		return nil
	}
	prev := t.Status.Backups
	obs.backups = prev.DeepCopy()
	if obs.backups == nil {
		obs.backups = &silov1.BackupStatus{}
	}
	if !r.Config.Platform.VolumeSnapshots {
		obs.block(silov1.BackupFailedReason, "spec.backup is set but the cluster serves no VolumeSnapshot API "+
			"(snapshot.storage.k8s.io/v1): install the CSI snapshot CRDs and snapshot controller, then restart the operator")
		return nil
	}
	sched, err := backupSchedule(b)
	if err != nil {
		obs.block(silov1.BackupScheduleInvalidReason, err.Error()+"; no snapshot is taken until then")
		return nil
	}
	now := r.now()
	round, next := dueRound(sched, prev, t.Annotations[silov1.BackupNowAnnotation], now)
	obs.backups.NextScheduleTime = &metav1.Time{Time: next.UTC()}
	done := true
	if round != nil {
		var err error
		done, err = r.takeRound(ctx, bc, round, now, obs)
		switch {
		case err != nil:
			return err
		case !done:
			// Still due: the next pass takes it.
			if prev != nil && prev.NextScheduleTime != nil && !prev.NextScheduleTime.After(now) {
				obs.backups.NextScheduleTime = prev.NextScheduleTime
			}
		case round.request != "":
			obs.backups.LastRequest = round.request
		default:
			obs.backups.LastScheduleTime = &metav1.Time{Time: round.slot}
		}
	}
	if done {
		// Finished checkpoint Jobs go once their round is over, on any later pass
		// too: a round that did not wait for its Job (the database was not ready,
		// the deadline passed) leaves it to finish after the snapshots. The newest
		// failed one stays for its logs.
		if err := r.cleanUpFinishedJobs(ctx, t, BackupComponent); err != nil {
			return err
		}
	}
	obs.requeueWithin(next.Sub(now))
	return r.keepSnapshots(ctx, t, now, obs)
}

// takeRound snapshots every bound volume of the Tenant. When the managed database
// runs, a checkpoint Job goes first and the snapshots wait for it (until its
// deadline). It returns whether the snapshots were asked for.
func (r *TenantReconciler) takeRound(ctx context.Context, bc *buildContext, round *backupRound, now time.Time, obs *observation) (bool, error) {
	t := bc.Tenant
	var vols []backupVolume
	for _, v := range backupVolumes(t) {
		pvc := &corev1.PersistentVolumeClaim{}
		err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: v.claim}, pvc)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return false, fmt.Errorf("reading volume claim %s of %s: %w", v.claim, klog.KObj(t), err)
		case pvc.Status.Phase == corev1.ClaimBound:
			vols = append(vols, v)
		}
	}
	if ready, err := r.checkpointed(ctx, bc, round, now, vols, obs); err != nil || !ready {
		return false, err
	}
	var names []string
	for _, v := range vols {
		s := buildSnapshot(t, v, round, now)
		if err := r.Create(ctx, s, client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("creating snapshot %s of %s: %w", klog.KObj(s), klog.KObj(t), err)
		}
		names = append(names, s.Name)
	}
	if len(names) > 0 {
		obs.changed = true
		ctrl.LoggerFrom(ctx).Info("took snapshots", "round", round.id, "snapshots", names)
		r.event(t, corev1.EventTypeNormal, "BackupStarted", "Backup", "took snapshots %s", strings.Join(names, ", "))
	}
	return true, nil
}

// cleanUpFinishedJobs deletes the Tenant's finished Jobs of a component (the
// checkpoint's, the restore's) but the newest failed one, kept for its logs.
func (r *TenantReconciler) cleanUpFinishedJobs(ctx context.Context, t *silov1.Tenant, component string) error {
	jobs := &batchv1.JobList{}
	if err := r.List(ctx, jobs, client.InNamespace(NamespaceFor(t)), client.MatchingLabels(componentLabels(t, component))); err != nil {
		return fmt.Errorf("listing %s Jobs of %s: %w", component, klog.KObj(t), err)
	}
	return r.cleanUpMigrations(ctx, jobs.Items, "")
}

// checkpointed reports whether the round's database checkpoint is done (or not
// wanted), creating its Job the first time.
func (r *TenantReconciler) checkpointed(ctx context.Context, bc *buildContext, round *backupRound, now time.Time,
	vols []backupVolume, obs *observation) (bool, error) {
	t := bc.Tenant
	if len(vols) == 0 || vols[0].name != DatabaseName {
		return true, nil
	}
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: DatabaseName}, sts); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("reading the database of %s: %w", klog.KObj(t), err)
	}
	if !wantsCheckpoint(t, sts.Status.ReadyReplicas) {
		return true, nil
	}
	job := &batchv1.Job{}
	err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: checkpointJobName(round)}, job)
	if apierrors.IsNotFound(err) {
		// A pass that read the Tenant before the status of the round's pass reached
		// the cache finds the round still due and its Job already cleaned up: the
		// round's snapshot says it was taken, and it gets no second Job.
		taken := r.apiReader().Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: snapshotName(DatabaseName, round)},
			&snapshotv1.VolumeSnapshot{})
		if taken == nil {
			return true, nil
		}
		if !apierrors.IsNotFound(taken) {
			return false, fmt.Errorf("reading the snapshot of %s's round %s: %w", klog.KObj(t), round.id, taken)
		}
		desired := buildCheckpointJob(bc, round).WithAnnotations(map[string]string{TakenAtAnnotation: now.UTC().Format(time.RFC3339)})
		if err := r.applyDataChild(ctx, desired); err != nil {
			return false, fmt.Errorf("checkpoint of %s: %w", klog.KObj(t), err)
		}
		obs.changed = true
		obs.requeueWithin(time.Duration(checkpointDeadline) * time.Second)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading checkpoint Job of %s: %w", klog.KObj(t), err)
	}
	started, _ := time.Parse(time.RFC3339, job.Annotations[TakenAtAnnotation])
	giveUp := started.Add(time.Duration(checkpointDeadline)*time.Second + time.Minute)
	switch {
	case jobSucceeded(job):
		return true, nil
	case jobFinished(job), !now.Before(giveUp):
		// The snapshot is crash-consistent without it: PostgreSQL replays its WAL.
		ctrl.LoggerFrom(ctx).Info("checkpoint did not succeed; taking the snapshot anyway", "job", job.Name)
		return true, nil
	}
	obs.requeueWithin(giveUp.Sub(now))
	return false, nil
}

// keepSnapshots applies retention to the Tenant's snapshots, keeps the contents of
// ready ones, and reports the last good snapshot per volume and any failure.
func (r *TenantReconciler) keepSnapshots(ctx context.Context, t *silov1.Tenant, now time.Time, obs *observation) error {
	list := &snapshotv1.VolumeSnapshotList{}
	if err := r.List(ctx, list, client.InNamespace(NamespaceFor(t)), client.MatchingLabels(componentLabels(t, BackupComponent))); err != nil {
		return fmt.Errorf("listing snapshots of %s: %w", klog.KObj(t), err)
	}
	v := judgeSnapshots(list.Items, ptr.Deref(t.Spec.Backup.Keep, defaultBackupKeep), now)
	keepContent := !ptr.Deref(t.Spec.Backup.DeleteWithTenant, false)
	var errs []error
	stale := map[string]bool{}
	for _, s := range v.stale {
		stale[s.Name] = true
		errs = append(errs, r.deleteSnapshot(ctx, s))
	}
	for i := range list.Items {
		s := &list.Items[i]
		if !stale[s.Name] && snapshotReady(s) {
			errs = append(errs, r.keepSnapshotContent(ctx, t, s, keepContent))
		}
	}
	obs.backups.Volumes = v.latest
	if !v.waitUntil.IsZero() {
		obs.requeueWithin(v.waitUntil.Sub(now))
	}
	if len(v.failures) > 0 {
		msg := strings.Join(v.failures, "; ") + fmt.Sprintf(
			". See `kubectl describe volumesnapshot -n %s` and the CSI driver's logs (a missing VolumeSnapshotClass, a driver "+
				"without snapshot support, a full quota); then take one now with `kubectl annotate tenant %s %s=$(date +%%s) --overwrite`. "+
				"A later good snapshot clears this", NamespaceFor(t), t.Name, silov1.BackupNowAnnotation)
		obs.block(silov1.BackupFailedReason, msg)
		if c := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition); c == nil || c.Reason != silov1.BackupFailedReason {
			r.event(t, corev1.EventTypeWarning, silov1.BackupFailedReason, "Backup", "%s", msg)
		}
	}
	return errors.Join(errs...)
}

// keepSnapshotContent sets, once, the deletionPolicy of a ready snapshot's content
// (Retain unless the snapshots go with the Tenant: namespace deletion deletes the
// VolumeSnapshot, and only a Retain content outlives it) and labels the content for
// the Tenant, so a restore finds it after the namespace is gone.
func (r *TenantReconciler) keepSnapshotContent(ctx context.Context, t *silov1.Tenant, s *snapshotv1.VolumeSnapshot, keep bool) error {
	policy := snapshotv1.VolumeSnapshotContentDelete
	if keep {
		policy = snapshotv1.VolumeSnapshotContentRetain
	}
	if s.Annotations[ContentKeptAnnotation] == string(policy) || s.Status.BoundVolumeSnapshotContentName == nil {
		return nil
	}
	labels := backupLabels(t, s.Labels[silov1.VolumeLabel])
	labels[silov1.RegionLabel] = s.Labels[silov1.RegionLabel]
	labels[silov1.VolumeSnapshotLabel] = s.Name
	if err := r.patchContent(ctx, *s.Status.BoundVolumeSnapshotContentName, labels, policy); err != nil {
		return fmt.Errorf("keeping the content of snapshot %s: %w", klog.KObj(s), err)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, ContentKeptAnnotation, policy)
	return client.IgnoreNotFound(r.Patch(ctx, s, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldOwner)))
}

// patchContent sets a VolumeSnapshotContent's labels (when given) and deletionPolicy.
func (r *TenantReconciler) patchContent(ctx context.Context, name string, labels map[string]string, policy snapshotv1.DeletionPolicy) error {
	c := &snapshotv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: name}}
	patch := map[string]any{"spec": map[string]any{"deletionPolicy": policy}}
	if labels != nil {
		patch["metadata"] = map[string]any{"labels": labels}
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(r.Patch(ctx, c, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(FieldOwner)))
}

// deleteSnapshot deletes one of Silo's snapshots with its content: a content Silo set
// to Retain is set back to Delete first, so retention frees the storage.
func (r *TenantReconciler) deleteSnapshot(ctx context.Context, s *snapshotv1.VolumeSnapshot) error {
	if s.Annotations[ContentKeptAnnotation] == string(snapshotv1.VolumeSnapshotContentRetain) && s.Status != nil &&
		s.Status.BoundVolumeSnapshotContentName != nil {
		if err := r.patchContent(ctx, *s.Status.BoundVolumeSnapshotContentName, nil, snapshotv1.VolumeSnapshotContentDelete); err != nil {
			return fmt.Errorf("releasing the content of snapshot %s: %w", klog.KObj(s), err)
		}
	}
	if err := r.Delete(ctx, s, client.Preconditions{UID: ptr.To(s.UID)}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting old snapshot %s: %w", klog.KObj(s), err)
	}
	ctrl.LoggerFrom(ctx).Info("deleted old snapshot", "snapshot", klog.KObj(s))
	return nil
}
