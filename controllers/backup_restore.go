package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// RestoreComponent labels the VolumeSnapshot (and its content) Silo pre-provisions in
// a tenant namespace to restore from another Tenant's snapshot.
const RestoreComponent = "restore"

// CredentialsLostAnnotation on a restored database claim says the source
// Tenant's credentials were gone, so the restored data expects a password the Tenant
// does not have; the platform removes it once the password is set. Silo no longer
// sets it (RestoreCredentialsAnnotation took its place), and reports the claims an
// earlier version marked until the mark is removed.
const CredentialsLostAnnotation = "silo.dev/credentials-lost"

// restoreSource is a volume's restoreFrom in the effective spec, or nil.
func restoreSource(t *silov1.Tenant, volume string) *silov1.RestoreSource {
	switch {
	case volume == DatabaseName && t.Spec.Database != nil:
		return t.Spec.Database.RestoreFrom
	case volume == QueueName && t.Spec.Queue != nil:
		return t.Spec.Queue.RestoreFrom
	case volume == StorageName && t.Spec.Storage != nil:
		return t.Spec.Storage.RestoreFrom
	}
	return nil
}

// sourceTenant is the Tenant that took the snapshot a restore names.
func sourceTenant(t *silov1.Tenant, src *silov1.RestoreSource) string {
	if src.Tenant != "" {
		return src.Tenant
	}
	return t.Name
}

// restoreRefusal says why a Tenant may not restore from a snapshot with these labels
// (Silo's snapshots of the named Tenant, in its region), or "". Pure.
func restoreRefusal(t *silov1.Tenant, src *silov1.RestoreSource, labels map[string]string) string {
	from := sourceTenant(t, src)
	if labels[silov1.ManagedByLabel] != silov1.ManagedByValue || labels[silov1.TenantLabel] != from ||
		labels[silov1.ComponentLabel] != BackupComponent {
		return fmt.Sprintf("snapshot %s is not one Silo took of Tenant %s: restore only from the snapshots in status.backups of a Tenant", src.VolumeSnapshotName, from)
	}
	if region := labels[silov1.RegionLabel]; region != t.Spec.Placement.Region {
		return fmt.Sprintf("snapshot %s of Tenant %s holds data of region %q and this Tenant is in region %q: data stays in its region; "+
			"restore into a Tenant of region %q, or copy the data out through an export the customer approved", src.VolumeSnapshotName, from,
			region, t.Spec.Placement.Region, region)
	}
	return ""
}

// restoreSnapshotName names the VolumeSnapshot pre-provisioned in the Tenant's
// namespace for a volume restored from another namespace.
func restoreSnapshotName(volume string) string { return RestoreComponent + "-" + volume }

// restoreContentName names its cluster-scoped VolumeSnapshotContent.
func restoreContentName(t *silov1.Tenant, volume string) string {
	return "silo-" + RestoreComponent + "-" + t.Name + "-" + volume
}

// buildRestoreSnapshot returns the pre-provisioned VolumeSnapshotContent (the same
// snapshotHandle as the source's, Retain: deleting it never deletes the source's
// data) and the VolumeSnapshot bound to it in the Tenant's namespace: the documented
// CSI way to use a snapshot in another namespace.
func buildRestoreSnapshot(t *silov1.Tenant, volume string, source *snapshotv1.VolumeSnapshotContent, handle string) (*snapshotv1.VolumeSnapshotContent, *snapshotv1.VolumeSnapshot) {
	labels := componentLabels(t, RestoreComponent)
	labels[silov1.VolumeLabel] = volume
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: restoreContentName(t, volume), Labels: labels},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef: corev1.ObjectReference{APIVersion: snapshotv1.SchemeGroupVersion.String(), Kind: "VolumeSnapshot",
				Namespace: NamespaceFor(t), Name: restoreSnapshotName(volume)},
			DeletionPolicy:          snapshotv1.VolumeSnapshotContentRetain,
			Driver:                  source.Spec.Driver,
			VolumeSnapshotClassName: source.Spec.VolumeSnapshotClassName,
			Source:                  snapshotv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To(handle)},
			SourceVolumeMode:        source.Spec.SourceVolumeMode,
		},
	}
	snap := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: restoreSnapshotName(volume), Namespace: NamespaceFor(t), Labels: labels},
		Spec: snapshotv1.VolumeSnapshotSpec{
			Source:                  snapshotv1.VolumeSnapshotSource{VolumeSnapshotContentName: ptr.To(content.Name)},
			VolumeSnapshotClassName: source.Spec.VolumeSnapshotClassName,
		},
	}
	return content, snap
}

// buildRestoreClaim returns a volume's claim created from a snapshot in the Tenant's
// namespace: the claim the volume's builder (or its StatefulSet's template) would
// create, with dataSource and where it came from.
func buildRestoreClaim(bc *buildContext, volume, snapshot, from string) (*corev1.PersistentVolumeClaim, error) {
	t := bc.Tenant
	pvc := &corev1.PersistentVolumeClaim{}
	var spec any
	switch volume {
	case StorageName:
		spec = buildStorage(bc)[0]
	default:
		svc := &databaseService
		if volume == QueueName {
			svc = &queueService
		}
		// The claim the StatefulSet controller would create from the template.
		pvc.Name, pvc.Namespace, pvc.Labels = dataClaimName(volume), NamespaceFor(t), componentLabels(t, volume)
		spec = map[string]any{"spec": dataClaimSpec(t, bc.Config, svc.dataSize(t))}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, pvc); err != nil {
		return nil, err
	}
	pvc.TypeMeta = metav1.TypeMeta{}
	pvc.Annotations = map[string]string{silov1.RestoredFromAnnotation: from}
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: snapshot}
	return pvc, nil
}

// restoreResult is what the restore phase leaves to the next ones.
type restoreResult struct {
	// held are the components whose volume cannot be restored yet.
	held map[string]bool
	// credentials is the restored database claim whose data does not know this
	// Tenant's password yet (marked RestoreCredentialsAnnotation), or nil.
	credentials *corev1.PersistentVolumeClaim
}

// reconcileRestore creates, for each volume whose restoreFrom is set and whose claim
// does not exist yet, the claim from the named snapshot (pre-provisioning the
// snapshot in this namespace when it lives in another), and the database's
// credentials from the source Tenant's; when those are gone, the claim is marked so
// that a Job sets this Tenant's password in it before the database starts
// (reconcileRestoredCredentials). A volume that cannot be restored yet is held
// (its claim and workload are not created, so nothing starts empty) and the Tenant
// says why. Once a claim exists, restoreFrom is ignored: status.restoredFrom says
// where each volume came from.
func (r *TenantReconciler) reconcileRestore(ctx context.Context, bc *buildContext, obs *observation) (restoreResult, error) {
	t := bc.Tenant
	res := restoreResult{held: map[string]bool{}}
	var restored []silov1.RestoredVolume
	for _, v := range backupVolumes(t) {
		pvc := &corev1.PersistentVolumeClaim{}
		err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: v.claim}, pvc)
		if apierrors.IsNotFound(err) {
			src := restoreSource(t, v.name)
			if src == nil {
				continue
			}
			if pvc, err = r.createRestoreClaim(ctx, bc, v.name, src, obs); err == nil && pvc == nil {
				res.held[v.name] = true
				continue
			}
		}
		if err != nil {
			return res, fmt.Errorf("restoring volume claim %s of %s: %w", v.claim, klog.KObj(t), err)
		}
		rv, ok := restoredVolume(v.name, pvc)
		if !ok {
			continue
		}
		restored = append(restored, rv)
		if pvc.Annotations[CredentialsLostAnnotation] != "" {
			obs.block(silov1.CredentialsNotRestoredReason, credentialsLostMessage(t, v.name, rv.Tenant, pvc.Name))
		}
		if v.name == DatabaseName && pvc.Annotations[RestoreCredentialsAnnotation] != "" {
			res.credentials = pvc
		}
	}
	obs.restoredSeen, obs.restored = true, restored
	return res, nil
}

// createRestoreClaim creates a volume's claim from the snapshot its restoreFrom
// names and returns it, or nil (and why, in obs) when it cannot be restored yet. A
// claim another pass created first is read back from the API server.
func (r *TenantReconciler) createRestoreClaim(ctx context.Context, bc *buildContext, volume string, src *silov1.RestoreSource,
	obs *observation) (*corev1.PersistentVolumeClaim, error) {
	t := bc.Tenant
	pvc, rv, err := r.restoreClaim(ctx, bc, volume, src, obs)
	if err != nil || pvc == nil {
		return nil, err
	}
	err = r.Create(ctx, pvc, client.FieldOwner(FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		existing := &corev1.PersistentVolumeClaim{}
		return existing, r.apiReader().Get(ctx, client.ObjectKeyFromObject(pvc), existing)
	}
	if err != nil {
		return nil, fmt.Errorf("creating volume claim %s from snapshot: %w", klog.KObj(pvc), err)
	}
	obs.changed = true
	ctrl.LoggerFrom(ctx).Info("restoring volume", "volume", volume, "from", pvc.Annotations[silov1.RestoredFromAnnotation])
	r.event(t, corev1.EventTypeNormal, "VolumeRestored", "Restore", "created volume claim %s from snapshot %s of Tenant %s",
		pvc.Name, rv.VolumeSnapshotName, rv.Tenant)
	return pvc, nil
}

// restoredVolume reads where a claim was restored from.
func restoredVolume(volume string, pvc *corev1.PersistentVolumeClaim) (silov1.RestoredVolume, bool) {
	tenant, snapshot, ok := strings.Cut(pvc.Annotations[silov1.RestoredFromAnnotation], "/")
	return silov1.RestoredVolume{Volume: volume, Tenant: tenant, VolumeSnapshotName: snapshot}, ok
}

func credentialsLostMessage(t *silov1.Tenant, volume, from, claim string) string {
	return fmt.Sprintf("the %s was restored from a snapshot of Tenant %s, whose %s credentials are gone: the restored data expects "+
		"%s's password, which this Tenant does not have. Set the password to this Tenant's (kubectl annotate tenant %s "+
		"silo.dev/rotate-credentials=%s), then remove the mark: kubectl annotate pvc -n %s %s %s-",
		volume, from, volume, from, t.Name, volume, NamespaceFor(t), claim, CredentialsLostAnnotation)
}

// restoreClaim finds the snapshot a volume restores from and returns the claim to
// create, or nil (and why, in obs) when it cannot be restored yet.
func (r *TenantReconciler) restoreClaim(ctx context.Context, bc *buildContext, volume string, src *silov1.RestoreSource,
	obs *observation) (*corev1.PersistentVolumeClaim, silov1.RestoredVolume, error) {
	t := bc.Tenant
	from := sourceTenant(t, src)
	rv := silov1.RestoredVolume{Volume: volume, Tenant: from, VolumeSnapshotName: src.VolumeSnapshotName}
	fail := func(reason, msg string) (*corev1.PersistentVolumeClaim, silov1.RestoredVolume, error) {
		obs.block(reason, fmt.Sprintf("%s.restoreFrom: %s; the %s is not created until then", volume, msg, volume))
		return nil, rv, nil
	}
	snap, content, err := r.findSnapshot(ctx, from, src.VolumeSnapshotName)
	if err != nil {
		return nil, rv, err
	}
	var labels map[string]string
	switch {
	case snap != nil:
		labels = snap.Labels
	case content != nil:
		labels = content.Labels
	default:
		return fail(silov1.RestoreFailedReason, fmt.Sprintf("Tenant %s has no snapshot %s: list them with `kubectl get volumesnapshots -n %s%s` "+
			"(or, after its namespace is gone, `kubectl get volumesnapshotcontents -l %s=%s`)", from, src.VolumeSnapshotName,
			NamespacePrefix, from, silov1.TenantLabel, from))
	}
	if why := restoreRefusal(t, src, labels); why != "" {
		return fail(silov1.RestoreRefusedReason, why)
	}
	if labels[silov1.VolumeLabel] != volume {
		return fail(silov1.RestoreRefusedReason, fmt.Sprintf("snapshot %s is of the %s, not of the %s", src.VolumeSnapshotName, labels[silov1.VolumeLabel], volume))
	}
	if snap != nil && !snapshotReady(snap) {
		return fail(silov1.RestoreFailedReason, fmt.Sprintf("snapshot %s of Tenant %s is not ready yet", src.VolumeSnapshotName, from))
	}
	dataSource := src.VolumeSnapshotName
	if snap == nil || snap.Namespace != NamespaceFor(t) {
		handle := ""
		if content != nil && content.Status != nil {
			handle = ptr.Deref(content.Status.SnapshotHandle, "")
		}
		if content != nil && handle == "" {
			handle = ptr.Deref(content.Spec.Source.SnapshotHandle, "")
		}
		if handle == "" {
			return fail(silov1.RestoreFailedReason, fmt.Sprintf("the content of snapshot %s of Tenant %s has no snapshot handle yet", src.VolumeSnapshotName, from))
		}
		c, s := buildRestoreSnapshot(t, volume, content, handle)
		for _, obj := range []client.Object{c, s} {
			if err := r.Create(ctx, obj, client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, rv, fmt.Errorf("pre-provisioning snapshot %s for %s: %w", obj.GetName(), klog.KObj(t), err)
			}
		}
		dataSource = s.Name
	}
	pvc, err := buildRestoreClaim(bc, volume, dataSource, from+"/"+src.VolumeSnapshotName)
	if err != nil {
		return nil, rv, err
	}
	// Only the database keeps its password in its data: the queue's comes from its
	// environment, so a restored queue takes the Tenant's own credentials.
	if volume == DatabaseName {
		lost, err := r.restoreCredentials(ctx, t, volume, from)
		if err != nil {
			return nil, rv, err
		}
		if lost {
			pvc.Annotations[RestoreCredentialsAnnotation] = "pending"
		}
	}
	return pvc, rv, nil
}

// findSnapshot finds a snapshot of Tenant from: the VolumeSnapshot in its namespace
// (and its bound content), or, once that is gone, the content Silo kept and labelled.
func (r *TenantReconciler) findSnapshot(ctx context.Context, from, name string) (*snapshotv1.VolumeSnapshot, *snapshotv1.VolumeSnapshotContent, error) {
	snap := &snapshotv1.VolumeSnapshot{}
	err := r.apiReader().Get(ctx, client.ObjectKey{Namespace: NamespacePrefix + from, Name: name}, snap)
	switch {
	case err == nil:
		content := &snapshotv1.VolumeSnapshotContent{}
		if snap.Status == nil || snap.Status.BoundVolumeSnapshotContentName == nil {
			return snap, nil, nil
		}
		if err := r.apiReader().Get(ctx, client.ObjectKey{Name: *snap.Status.BoundVolumeSnapshotContentName}, content); err != nil {
			if apierrors.IsNotFound(err) {
				return snap, nil, nil
			}
			return nil, nil, fmt.Errorf("reading the content of snapshot %s/%s: %w", snap.Namespace, name, err)
		}
		return snap, content, nil
	case !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("reading snapshot %s of Tenant %s: %w", name, from, err)
	}
	contents := &snapshotv1.VolumeSnapshotContentList{}
	if err := r.apiReader().List(ctx, contents, client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue,
		silov1.TenantLabel: from, silov1.VolumeSnapshotLabel: name}); err != nil {
		return nil, nil, fmt.Errorf("finding the kept content of snapshot %s of Tenant %s: %w", name, from, err)
	}
	if len(contents.Items) == 0 {
		return nil, nil, nil
	}
	return nil, &contents.Items[0], nil
}

// restoreCredentials gives a restored database the source Tenant's
// credentials when the Tenant has none yet and the source's are kept (a Retained or
// live Tenant): the restored data accepts them. It reports whether the credentials
// are lost: the source's are gone, or differ from the ones the Tenant already has;
// the Tenant then keeps (or, having none, generates) its own, and a Job sets them
// in the restored data.
func (r *TenantReconciler) restoreCredentials(ctx context.Context, t *silov1.Tenant, volume, from string) (bool, error) {
	name := credentialsSecretName(volume)
	src := &corev1.Secret{}
	err := r.apiReader().Get(ctx, client.ObjectKey{Namespace: NamespacePrefix + from, Name: name}, src)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the credentials of Tenant %s: %w", from, err)
	}
	if from == t.Name {
		return false, nil
	}
	own := &corev1.Secret{}
	err = r.apiReader().Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: name}, own)
	switch {
	case err == nil:
		return string(own.Data["password"]) != string(src.Data["password"]), nil
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("reading the credentials of %s: %w", klog.KObj(t), err)
	}
	copied := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: NamespaceFor(t), Labels: componentLabels(t, volume),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: silov1.GroupVersion.String(), Kind: "Tenant", Name: t.Name,
				UID: t.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{"username": src.Data["username"], "password": src.Data["password"]},
	}
	if err := r.Create(ctx, copied, client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("copying the credentials of Tenant %s into %s: %w", from, klog.KObj(t), err)
	}
	return false, nil
}

// releaseSnapshots runs before the namespace of a Tenant with deletionPolicy Delete
// is deleted: the contents Silo pre-provisioned to restore from another Tenant's
// snapshot go (they are Retain, so the source's data stays), and with
// backup.deleteWithTenant the contents of the Tenant's own snapshots are set to
// Delete, so deleting the namespace deletes the snapshot data too. Without it they
// stay Retain, for a later restore.
func (r *TenantReconciler) releaseSnapshots(ctx context.Context, t *silov1.Tenant) error {
	if !r.Config.Platform.VolumeSnapshots {
		return nil
	}
	eff, err := r.resolveClass(ctx, t, &observation{})
	if err != nil {
		return err
	}
	if eff == nil {
		eff = t
	}
	deleteWith := eff.Spec.Backup != nil && ptr.Deref(eff.Spec.Backup.DeleteWithTenant, false)
	contents := &snapshotv1.VolumeSnapshotContentList{}
	if err := r.apiReader().List(ctx, contents, client.MatchingLabels(commonLabels(t))); err != nil {
		return fmt.Errorf("listing snapshot contents of %s: %w", klog.KObj(t), err)
	}
	for i := range contents.Items {
		c := &contents.Items[i]
		switch c.Labels[silov1.ComponentLabel] {
		case RestoreComponent:
			if err := r.Delete(ctx, c, client.Preconditions{UID: ptr.To(c.UID)}); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting restore content %s: %w", c.Name, err)
			}
		case BackupComponent:
			if deleteWith && c.Spec.DeletionPolicy != snapshotv1.VolumeSnapshotContentDelete {
				if err := r.patchContent(ctx, c.Name, nil, snapshotv1.VolumeSnapshotContentDelete); err != nil {
					return fmt.Errorf("releasing snapshot content %s: %w", c.Name, err)
				}
			}
		}
	}
	return nil
}
