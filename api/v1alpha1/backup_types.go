package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BackupSpec has Silo take CSI VolumeSnapshots of the Tenant's volumes (database,
// managed queue, file storage) on a schedule and keep the last few.
type BackupSpec struct {
	// schedule is a standard five-field cron expression ("0 3 * * *": every day at
	// 03:00) or a descriptor such as "@daily", in timeZone. Required unless the
	// Tenant's class provides it. The operator checks it: a bad one makes the Tenant
	// Degraded (reason BackupScheduleInvalid) and takes no snapshot.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule,omitempty"`
	// timeZone is the IANA time zone of schedule, for example "Europe/Paris" (UTC
	// when unset).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+/-]*$`
	TimeZone string `json:"timeZone,omitempty"`
	// keep is how many ready snapshots of each volume to keep (default 7, at least
	// 1); older ones are deleted after a new one is ready.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=400
	Keep *int32 `json:"keep,omitempty"`
	// volumeSnapshotClassName is the VolumeSnapshotClass of the snapshots (the
	// cluster's default class for the volume's CSI driver when unset).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`
	// deleteWithTenant, when true, deletes the snapshots with a Tenant whose
	// deletionPolicy is Delete. Otherwise (the default) their contents are kept
	// when the namespace goes, and a new Tenant can still restore from them. A
	// Retained Tenant keeps its snapshots either way.
	// +optional
	DeleteWithTenant *bool `json:"deleteWithTenant,omitempty"`
}

// RestoreSource names a snapshot Silo took, to create a volume from.
type RestoreSource struct {
	// volumeSnapshotName is the name of the snapshot, as status.backups of its
	// Tenant shows it (kubectl get volumesnapshots -n tenant-<name>).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	VolumeSnapshotName string `json:"volumeSnapshotName"`
	// tenant is the Tenant that took the snapshot (default: this Tenant). It may
	// have been deleted: a snapshot kept beyond its namespace is still found.
	// +optional
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Tenant string `json:"tenant,omitempty"`
}

// BackupStatus is the state of the Tenant's scheduled snapshots.
type BackupStatus struct {
	// nextScheduleTime is when the next scheduled round of snapshots is due.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// lastScheduleTime is when the last round of snapshots was taken.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// lastRequest is the last value of the silo.dev/backup-now annotation that was
	// handled: a round is taken once per distinct value.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	LastRequest string `json:"lastRequest,omitempty"`
	// volumes is, per volume, the last snapshot that became ready.
	// +optional
	// +listType=map
	// +listMapKey=volume
	// +kubebuilder:validation:MaxItems=8
	Volumes []VolumeBackupStatus `json:"volumes,omitempty"`
}

// VolumeBackupStatus is the last good snapshot of one volume.
type VolumeBackupStatus struct {
	// volume is database, queue or storage.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Volume string `json:"volume"`
	// volumeSnapshotName is the VolumeSnapshot, in the tenant namespace.
	// +required
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotName string `json:"volumeSnapshotName"`
	// time is when the snapshot was taken (its creationTime).
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// RestoredVolume says which snapshot a volume was created from.
type RestoredVolume struct {
	// volume is database, queue or storage.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Volume string `json:"volume"`
	// tenant is the Tenant that took the snapshot.
	// +required
	// +kubebuilder:validation:MaxLength=40
	Tenant string `json:"tenant"`
	// volumeSnapshotName is the snapshot's name in that Tenant.
	// +required
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotName string `json:"volumeSnapshotName"`
}

// Labels and annotations of backups and restores.
const (
	// BackupNowAnnotation on a Tenant takes one round of snapshots now, once per
	// distinct value (kubectl annotate tenant acme silo.dev/backup-now=$(date +%s)).
	BackupNowAnnotation = "silo.dev/backup-now"
	// VolumeLabel on a VolumeSnapshot (and its content) names the volume it is a
	// snapshot of: database, queue or storage.
	VolumeLabel = "silo.dev/volume"
	// RegionLabel on a VolumeSnapshot (and its content) is the region of the Tenant
	// that took it ("" when the Tenant has none): a restore stays in the region.
	RegionLabel = "silo.dev/region"
	// VolumeSnapshotLabel on a VolumeSnapshotContent names the VolumeSnapshot it was
	// taken for, so a restore finds it after the namespace is gone.
	VolumeSnapshotLabel = "silo.dev/volume-snapshot"
	// RestoredFromAnnotation on a volume claim created from a snapshot is
	// <tenant>/<volumeSnapshotName>.
	RestoredFromAnnotation = "silo.dev/restored-from"
)

// Condition reasons of backups and restores.
const (
	// BackupFailedReason: a snapshot failed or stayed not ready past its deadline.
	BackupFailedReason = "BackupFailed"
	// BackupScheduleInvalidReason: backup.schedule or backup.timeZone cannot be
	// parsed (or the schedule is missing); no snapshot is taken.
	BackupScheduleInvalidReason = "BackupScheduleInvalid"
	// RestoreFailedReason: a volume's restoreFrom names a snapshot that cannot be
	// found or is not ready; the volume is not created yet.
	RestoreFailedReason = "RestoreFailed"
	// RestoreRefusedReason: a volume's restoreFrom names a snapshot of another
	// region (data residency) or one Silo did not take; the volume is not created.
	RestoreRefusedReason = "RestoreRefused"
	// CredentialsNotRestoredReason: a database was restored, but the source
	// Tenant's credentials are gone, so the restored data expects a password the
	// Tenant does not have, and the Job that sets the Tenant's password in it failed
	// (or could not run): the database stays stopped.
	CredentialsNotRestoredReason = "CredentialsNotRestored"
)
