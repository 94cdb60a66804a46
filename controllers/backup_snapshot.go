package controllers

import (
	"fmt"
	"sort"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// BackupComponent labels the snapshots Silo takes and its checkpoint Jobs.
const BackupComponent = "backup"

// TakenAtAnnotation on a VolumeSnapshot is when Silo asked for it (RFC 3339, the
// operator's clock): snapshots are ordered, and a stuck one is found, by it.
const TakenAtAnnotation = "silo.dev/taken-at"

// ContentKeptAnnotation on a VolumeSnapshot records the deletionPolicy Silo set on its
// content (Retain or Delete), so the content is written once.
const ContentKeptAnnotation = "silo.dev/content-policy"

// snapshotReadyDeadline is how long a snapshot may stay not ready before the Tenant
// is Degraded (BackupFailed).
const snapshotReadyDeadline = 15 * time.Minute

// backupVolume is one volume Silo snapshots: the component it belongs to and its claim.
type backupVolume struct {
	name  string
	claim string
}

// backupVolumes are the Tenant's volumes, in a fixed order: the managed database's
// and queue's data claims, and the file storage. External services have none.
func backupVolumes(t *silov1.Tenant) []backupVolume {
	var out []backupVolume
	if db := t.Spec.Database; db != nil && db.External == nil {
		out = append(out, backupVolume{DatabaseName, dataClaimName(DatabaseName)})
	}
	if q := t.Spec.Queue; q != nil && q.External == nil {
		out = append(out, backupVolume{QueueName, dataClaimName(QueueName)})
	}
	if t.Spec.Storage != nil {
		out = append(out, backupVolume{StorageName, StorageName})
	}
	return out
}

// dataClaimName is the claim of a one-replica StatefulSet's data volume.
func dataClaimName(component string) string { return dataVolume + "-" + component + "-0" }

// snapshotName names the snapshot of a volume in a round: database-20261202-0300.
func snapshotName(volume string, round *backupRound) string { return volume + "-" + round.id }

// backupLabels are the labels of a volume's snapshots (and their contents).
func backupLabels(t *silov1.Tenant, volume string) map[string]string {
	l := componentLabels(t, BackupComponent)
	l[silov1.VolumeLabel] = volume
	l[silov1.RegionLabel] = t.Spec.Placement.Region
	return l
}

// buildSnapshot returns the VolumeSnapshot of one volume in a round. It has no owner:
// the snapshots of a Retained Tenant outlive it.
func buildSnapshot(t *silov1.Tenant, v backupVolume, round *backupRound, now time.Time) *snapshotv1.VolumeSnapshot {
	s := &snapshotv1.VolumeSnapshot{
		TypeMeta: metav1.TypeMeta{APIVersion: snapshotv1.SchemeGroupVersion.String(), Kind: "VolumeSnapshot"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        snapshotName(v.name, round),
			Namespace:   NamespaceFor(t),
			Labels:      backupLabels(t, v.name),
			Annotations: map[string]string{TakenAtAnnotation: now.UTC().Format(time.RFC3339)},
		},
		Spec: snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(v.claim)}},
	}
	if c := t.Spec.Backup.VolumeSnapshotClassName; c != "" {
		s.Spec.VolumeSnapshotClassName = ptr.To(c)
	}
	return s
}

// takenAt is when Silo asked for a snapshot (its creation time when unannotated).
func takenAt(s *snapshotv1.VolumeSnapshot) time.Time {
	if v, err := time.Parse(time.RFC3339, s.Annotations[TakenAtAnnotation]); err == nil {
		return v
	}
	return s.CreationTimestamp.Time
}

func snapshotReady(s *snapshotv1.VolumeSnapshot) bool {
	return s.Status != nil && ptr.Deref(s.Status.ReadyToUse, false)
}

// snapshotFailure says why a snapshot failed, or is stuck, or "" when it is fine.
func snapshotFailure(s *snapshotv1.VolumeSnapshot, now time.Time) string {
	switch {
	case snapshotReady(s):
		return ""
	case s.Status != nil && s.Status.Error != nil:
		return fmt.Sprintf("snapshot %s failed: %s", s.Name, ptr.Deref(s.Status.Error.Message, "no message"))
	case now.Sub(takenAt(s)) > snapshotReadyDeadline:
		return fmt.Sprintf("snapshot %s is not ready %s after it was taken", s.Name, snapshotReadyDeadline)
	}
	return ""
}

// backupVerdict is what the snapshots of a Tenant say: the newest ready one per
// volume, the snapshots retention deletes, and the failures.
type backupVerdict struct {
	latest   []silov1.VolumeBackupStatus
	stale    []*snapshotv1.VolumeSnapshot
	failures []string
	// waitUntil is the earliest time a not-ready snapshot becomes stuck.
	waitUntil time.Time
}

// judgeSnapshots decides, per volume, from Silo's snapshots of the Tenant: the last
// keep ready ones stay and older ready ones go; a snapshot that is not ready and older
// than the newest ready one goes too (it was superseded); the newest one failing, or
// stuck not ready past the deadline, is a failure. The newest ready snapshot is never
// stale (keep is at least 1). Pure.
func judgeSnapshots(snaps []snapshotv1.VolumeSnapshot, keep int32, now time.Time) backupVerdict {
	byVolume := map[string][]*snapshotv1.VolumeSnapshot{}
	for i := range snaps {
		s := &snaps[i]
		if s.DeletionTimestamp.IsZero() {
			byVolume[s.Labels[silov1.VolumeLabel]] = append(byVolume[s.Labels[silov1.VolumeLabel]], s)
		}
	}
	volumes := make([]string, 0, len(byVolume))
	for v := range byVolume {
		volumes = append(volumes, v)
	}
	sort.Strings(volumes)
	keep = max(keep, 1)
	var out backupVerdict
	for _, v := range volumes {
		list := byVolume[v]
		sort.Slice(list, func(i, j int) bool {
			if ti, tj := takenAt(list[i]), takenAt(list[j]); !ti.Equal(tj) {
				return ti.After(tj)
			}
			return list[i].Name > list[j].Name
		})
		if why := snapshotFailure(list[0], now); why != "" {
			out.failures = append(out.failures, fmt.Sprintf("volume %s: %s", v, why))
		} else if !snapshotReady(list[0]) {
			if at := takenAt(list[0]).Add(snapshotReadyDeadline); out.waitUntil.IsZero() || at.Before(out.waitUntil) {
				out.waitUntil = at
			}
		}
		var ready int32
		for _, s := range list {
			switch {
			case snapshotReady(s):
				ready++
				if ready == 1 {
					out.latest = append(out.latest, silov1.VolumeBackupStatus{Volume: v, VolumeSnapshotName: s.Name, Time: snapshotTime(s)})
				}
				if ready > keep {
					out.stale = append(out.stale, s)
				}
			case ready > 0:
				out.stale = append(out.stale, s)
			}
		}
	}
	return out
}

// snapshotTime is when the snapshot was cut (its status), else when Silo asked for it.
func snapshotTime(s *snapshotv1.VolumeSnapshot) *metav1.Time {
	if s.Status != nil && s.Status.CreationTime != nil {
		return s.Status.CreationTime
	}
	t := metav1.NewTime(takenAt(s))
	return &t
}
