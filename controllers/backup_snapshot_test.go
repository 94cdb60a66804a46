package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBackupVolumesAndNames(t *testing.T) {
	tn := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: silov1.TenantSpec{
		Database: &silov1.DatabaseSpec{},
		Queue:    &silov1.QueueSpec{External: &silov1.ExternalService{SecretName: "nats"}},
		Storage:  &silov1.StorageSpec{Size: resource.MustParse("1Gi")},
		Backup:   &silov1.BackupSpec{Schedule: "0 3 * * *", VolumeSnapshotClassName: "csi-snap"},
	}}
	tn.Spec.Placement.Region = "eu-west-1"
	got := backupVolumes(tn)
	want := []backupVolume{{DatabaseName, "data-database-0"}, {StorageName, "storage"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(backupVolume{})); diff != "" {
		t.Fatalf("volumes (-want +got), an external queue has none:\n%s", diff)
	}
	round := &backupRound{id: "20261202-0300"}
	s := buildSnapshot(tn, got[0], round, time.Date(2026, 12, 2, 3, 0, 5, 0, time.UTC))
	if s.Name != "database-20261202-0300" || s.Namespace != "tenant-acme" || *s.Spec.Source.PersistentVolumeClaimName != "data-database-0" ||
		ptr.Deref(s.Spec.VolumeSnapshotClassName, "") != "csi-snap" || len(s.OwnerReferences) != 0 {
		t.Fatalf("snapshot = %+v", s)
	}
	for k, v := range map[string]string{silov1.TenantLabel: "acme", silov1.VolumeLabel: "database", silov1.RegionLabel: "eu-west-1",
		silov1.ManagedByLabel: silov1.ManagedByValue} {
		if s.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, s.Labels[k], v)
		}
	}
	if s.Annotations[TakenAtAnnotation] != "2026-12-02T03:00:05Z" {
		t.Errorf("taken-at = %q", s.Annotations[TakenAtAnnotation])
	}
}

func TestJudgeSnapshots(t *testing.T) {
	base := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	snap := func(volume string, day int, state string) snapshotv1.VolumeSnapshot {
		s := snapshotv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{
			Name:        volume + "-" + base.AddDate(0, 0, day).Format("20060102"),
			Labels:      map[string]string{silov1.VolumeLabel: volume},
			Annotations: map[string]string{TakenAtAnnotation: base.AddDate(0, 0, day).Format(time.RFC3339)},
		}}
		switch state {
		case "ready":
			s.Status = &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(true)}
		case "failed":
			s.Status = &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(false),
				Error: &snapshotv1.VolumeSnapshotError{Message: ptr.To("driver says no")}}
		}
		return s
	}
	names := func(list []*snapshotv1.VolumeSnapshot) []string {
		var out []string
		for _, s := range list {
			out = append(out, s.Name)
		}
		return out
	}
	tests := map[string]struct {
		snaps      []snapshotv1.VolumeSnapshot
		keep       int32
		now        time.Time
		wantStale  []string
		wantLatest []string
		failures   int
	}{
		"keeps exactly keep ready ones, oldest go": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "ready"), snap("database", 1, "ready"),
				snap("database", 2, "ready"), snap("database", 3, "ready")},
			keep: 2, now: base.AddDate(0, 0, 3),
			wantStale: []string{"database-20261202", "database-20261201"}, wantLatest: []string{"database-20261204"},
		},
		"per volume": {
			snaps: []snapshotv1.VolumeSnapshot{snap("storage", 0, "ready"), snap("database", 0, "ready"), snap("database", 1, "ready")},
			keep:  1, now: base.AddDate(0, 0, 1),
			wantStale: []string{"database-20261201"}, wantLatest: []string{"database-20261202", "storage-20261201"},
		},
		"a new one in progress deletes nothing and is no failure": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "ready"), snap("database", 1, "")},
			keep:  1, now: base.AddDate(0, 0, 1).Add(time.Minute),
			wantLatest: []string{"database-20261201"},
		},
		"the only ready one stays while newer ones fail": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "ready"), snap("database", 1, "failed"), snap("database", 2, "failed")},
			keep:  1, now: base.AddDate(0, 0, 2),
			wantLatest: []string{"database-20261201"}, failures: 1,
		},
		"a later good one clears a failure and supersedes it": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "failed"), snap("database", 1, "ready")},
			keep:  3, now: base.AddDate(0, 0, 1),
			wantStale: []string{"database-20261201"}, wantLatest: []string{"database-20261202"},
		},
		"stuck past the deadline fails, not before": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "")},
			keep:  1, now: base.Add(snapshotReadyDeadline + time.Second), failures: 1,
		},
		"not yet stuck": {
			snaps: []snapshotv1.VolumeSnapshot{snap("database", 0, "")},
			keep:  1, now: base.Add(snapshotReadyDeadline),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := judgeSnapshots(tc.snaps, tc.keep, tc.now)
			var latest []string
			for _, l := range v.latest {
				latest = append(latest, l.VolumeSnapshotName)
			}
			if diff := cmp.Diff(tc.wantStale, names(v.stale)); diff != "" {
				t.Errorf("stale (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLatest, latest); diff != "" {
				t.Errorf("latest (-want +got):\n%s", diff)
			}
			if len(v.failures) != tc.failures {
				t.Errorf("failures = %q, want %d", v.failures, tc.failures)
			}
		})
	}
}

func TestCheckpointJobRunsAsTheTenant(t *testing.T) {
	bc := testContext(testTenant())
	bc.Tenant.Spec.Database = &silov1.DatabaseSpec{Version: "17.2-alpine"}
	bc.Tenant.Spec.Isolation.NodePool = "acme-pool"
	job := buildCheckpointJob(bc, &backupRound{id: "20261202-0300"})
	if *job.Name != "backup-checkpoint-20261202-0300" || *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != checkpointDeadline {
		t.Fatalf("job = %s backoff %d deadline %d", *job.Name, *job.Spec.BackoffLimit, *job.Spec.ActiveDeadlineSeconds)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if *pod.RestartPolicy != corev1.RestartPolicyNever || *pod.AutomountServiceAccountToken || *c.SecurityContext.AllowPrivilegeEscalation ||
		!*c.SecurityContext.ReadOnlyRootFilesystem || pod.NodeSelector[silov1.NodePoolLabel] != "acme-pool" {
		t.Fatalf("the checkpoint pod must run with the tenant's pod security and placement: %+v", pod)
	}
	if *c.Image != withTag(bc.Config.Images.Postgres, "17.2-alpine") {
		t.Errorf("image = %s, want the database's own", *c.Image)
	}
	if diff := cmp.Diff([]string{"psql", "-v", "ON_ERROR_STOP=1", "-c", "CHECKPOINT"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	for _, e := range c.Env {
		if *e.Name == "PGPASSWORD" && *e.ValueFrom.SecretKeyRef.Name != "database-credentials" {
			t.Errorf("PGPASSWORD from %s, want the Tenant's database credentials", *e.ValueFrom.SecretKeyRef.Name)
		}
	}
	if wantsCheckpoint(bc.Tenant, 0) || !wantsCheckpoint(bc.Tenant, 1) {
		t.Error("a checkpoint is wanted only while the database runs")
	}
}

func TestRestoreRefusal(t *testing.T) {
	target := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme-2"}}
	target.Spec.Placement.Region = "eu-west-1"
	src := &silov1.RestoreSource{Tenant: "acme", VolumeSnapshotName: "database-20261202-0300"}
	silos := func(tenant, region string) map[string]string {
		return map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: tenant,
			silov1.ComponentLabel: BackupComponent, silov1.RegionLabel: region}
	}
	tests := map[string]struct {
		labels map[string]string
		want   string // a part of the refusal; "" when allowed
	}{
		"same region":                  {labels: silos("acme", "eu-west-1")},
		"another region":               {labels: silos("acme", "us-east-1"), want: `holds data of region "us-east-1"`},
		"no region into a region":      {labels: silos("acme", ""), want: `holds data of region ""`},
		"another Tenant's snapshot":    {labels: silos("globex", "eu-west-1"), want: "is not one Silo took of Tenant acme"},
		"a snapshot Silo did not take": {labels: map[string]string{silov1.TenantLabel: "acme", silov1.RegionLabel: "eu-west-1"}, want: "is not one Silo took"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := restoreRefusal(target, src, tc.labels)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("refusal = %q, want one saying %q", got, tc.want)
			}
		})
	}
}

func TestBuildRestoreClaimIsTheVolumesOwnClaimWithADataSource(t *testing.T) {
	bc := testContext(testTenant())
	bc.Tenant.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("5Gi")}
	bc.Tenant.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("3Gi"))}
	for _, tc := range []struct{ volume, claim, size string }{{StorageName, "storage", "5Gi"}, {DatabaseName, "data-database-0", "3Gi"}} {
		pvc, err := buildRestoreClaim(bc, tc.volume, "database-20261202-0300", "acme/database-20261202-0300")
		if err != nil {
			t.Fatal(err)
		}
		if pvc.Name != tc.claim || pvc.Namespace != NamespaceFor(bc.Tenant) || pvc.Labels[silov1.ComponentLabel] != tc.volume {
			t.Errorf("%s: claim %s/%s labels %v", tc.volume, pvc.Namespace, pvc.Name, pvc.Labels)
		}
		if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != tc.size {
			t.Errorf("%s: size %s, want %s", tc.volume, got.String(), tc.size)
		}
		want := &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "database-20261202-0300"}
		if diff := cmp.Diff(want, pvc.Spec.DataSource); diff != "" {
			t.Errorf("%s: dataSource (-want +got):\n%s", tc.volume, diff)
		}
		if pvc.Annotations[silov1.RestoredFromAnnotation] != "acme/database-20261202-0300" {
			t.Errorf("%s: annotations %v", tc.volume, pvc.Annotations)
		}
	}
}

func TestBuildRestoreSnapshotPreProvisionsTheSourcesHandle(t *testing.T) {
	tn := testTenant()
	source := &snapshotv1.VolumeSnapshotContent{Spec: snapshotv1.VolumeSnapshotContentSpec{Driver: "ebs.csi.aws.com",
		VolumeSnapshotClassName: ptr.To("csi-snap"), DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete}}
	content, snap := buildRestoreSnapshot(tn, DatabaseName, source, "snap-0123")
	if content.Spec.DeletionPolicy != snapshotv1.VolumeSnapshotContentRetain {
		t.Error("the pre-provisioned content must be Retain: deleting it must never delete the source's snapshot")
	}
	if *content.Spec.Source.SnapshotHandle != "snap-0123" || content.Spec.Driver != "ebs.csi.aws.com" ||
		content.Spec.VolumeSnapshotRef.Namespace != NamespaceFor(tn) || content.Spec.VolumeSnapshotRef.Name != snap.Name {
		t.Errorf("content = %+v", content.Spec)
	}
	if snap.Namespace != NamespaceFor(tn) || *snap.Spec.Source.VolumeSnapshotContentName != content.Name || snap.Name != "restore-database" {
		t.Errorf("snapshot = %s/%s from %v", snap.Namespace, snap.Name, snap.Spec.Source)
	}
}
