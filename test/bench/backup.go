package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// The backup measurement (`make bench-backup`): one scheduled round of snapshots
// across BENCH_TENANTS Tenants, each with a database (checkpointed first, as it runs),
// a cache and file storage: what the operator writes and reads, and the CPU it
// spends, from the scheduled time until every Tenant reports its new snapshots
// ready. The harness plays the workload controllers, the Job controller (checkpoint
// Jobs succeed) and the CSI snapshot controller (snapshots become ready, bound to a
// content). Results are printed only.

// backupResults are the backup measurement's numbers.
type backupResults struct {
	tenants           int
	provision, round  time.Duration
	reqs              testenv.Requests
	cpuSeconds        float64
	jobs, snapshots   int
	harnessWrites     int
	concurrency, slot string
}

func runBackup(ctx context.Context) error {
	s, err := loadSettings()
	if err != nil {
		return err
	}
	work, cleanup, step, err := workFolder("silo-bench-backup-", s)
	if err != nil {
		return err
	}
	defer cleanup()
	res := &backupResults{tenants: s.tenants}
	run, err := startOperatorRun(work, s, step)
	if err != nil {
		return err
	}
	defer run.stop()
	p, op, workers := run.plane, run.op, run.workers
	res.concurrency = run.flags["concurrency"]
	settleCtx, stopWorkloads := context.WithCancel(ctx)
	defer stopWorkloads()
	if _, err := testenv.StartSettler(settleCtx, p.AdminConfig, max(workers, 4)); err != nil {
		return err
	}

	names := testenv.Names("bk", 1, s.tenants)
	step("provisioning %d Tenants with a database, a cache and file storage", s.tenants)
	start := time.Now()
	if err := testenv.Parallel(names, workers, func(n string) error {
		t := benchSpec(n)
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce"}
		return p.Admin.Create(ctx, t)
	}); err != nil {
		return err
	}
	if err := waitTenants(ctx, p.Admin, names, 2*time.Minute+time.Duration(s.tenants)*time.Second, func(t *silov1.Tenant) bool {
		return meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition)
	}); err != nil {
		return err
	}
	res.provision = time.Since(start)

	// A daily time far enough ahead for every Tenant to learn its schedule first.
	slot := time.Now().UTC().Add(45*time.Second + time.Duration(s.tenants)*50*time.Millisecond).Truncate(time.Minute).Add(time.Minute)
	res.slot = slot.Format("15:04")
	schedule := fmt.Sprintf("%d %d * * *", slot.Minute(), slot.Hour())
	step("scheduling a daily round at %s UTC (%q) on every Tenant", res.slot, schedule)
	patch := fmt.Sprintf(`{"spec":{"backup":{"schedule":%q,"keep":7}}}`, schedule)
	if err := testenv.Parallel(names, workers, func(n string) error {
		return p.Admin.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: n}}, client.RawPatch(types.MergePatchType, []byte(patch)))
	}); err != nil {
		return err
	}
	if err := waitTenants(ctx, p.Admin, names, time.Until(slot), func(t *silov1.Tenant) bool {
		return t.Status.Backups != nil && t.Status.Backups.NextScheduleTime != nil && t.Status.Backups.NextScheduleTime.Equal(&metav1.Time{Time: slot})
	}); err != nil {
		return fmt.Errorf("learning the schedule before %s: %w", res.slot, err)
	}
	if _, err := op.WaitIdle(0, time.Until(slot)); err != nil {
		return err
	}
	time.Sleep(time.Until(slot.Add(-500 * time.Millisecond)))
	q0, err := op.Queue()
	if err != nil {
		return err
	}
	m := p.Audit.Mark()

	step("the round: playing the Job and snapshot controllers until every Tenant reports its snapshots ready")
	harnessCtx, stopHarness := context.WithCancel(ctx)
	defer stopHarness()
	harness := &snapshotHarness{c: p.Admin}
	go harness.run(harnessCtx)
	if err := waitTenants(ctx, p.Admin, names, 5*time.Minute+time.Duration(s.tenants)*time.Second, func(t *silov1.Tenant) bool {
		b := t.Status.Backups
		if b == nil || b.LastScheduleTime == nil || !b.LastScheduleTime.Equal(&metav1.Time{Time: slot}) || len(b.Volumes) != 2 {
			return false
		}
		for _, v := range b.Volumes {
			if !strings.HasSuffix(v.VolumeSnapshotName, slot.Format("20060102-1504")) {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	res.round = time.Since(slot)
	if _, err := op.WaitIdle(0, 2*time.Minute); err != nil {
		return err
	}
	stopHarness()
	if res.reqs, err = p.Audit.Since(m, operatorUser); err != nil {
		return err
	}
	q1, err := op.Queue()
	if err != nil {
		return err
	}
	res.cpuSeconds = q1.CPUSeconds - q0.CPUSeconds
	res.jobs, res.snapshots, res.harnessWrites = harness.counts()
	fmt.Println(res.table(s))
	return nil
}

// waitTenants waits until every named Tenant satisfies ok.
func waitTenants(ctx context.Context, c client.Client, names []string, timeout time.Duration, ok func(*silov1.Tenant) bool) error {
	deadline := time.Now().Add(timeout)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for {
		list := &silov1.TenantList{}
		if err := c.List(ctx, list); err != nil {
			return err
		}
		done := 0
		for i := range list.Items {
			if want[list.Items[i].Name] && ok(&list.Items[i]) {
				done++
			}
		}
		if done == len(names) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d Tenants after %s", done, len(names), timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// snapshotHarness plays the Job controller for checkpoint Jobs and the CSI snapshot
// controller for Silo's snapshots.
type snapshotHarness struct {
	c                      client.Client
	jobs, snapshots, wrote int
}

func (h *snapshotHarness) counts() (int, int, int) { return h.jobs, h.snapshots, h.wrote }

func (h *snapshotHarness) run(ctx context.Context) {
	backup := client.MatchingLabels{silov1.ComponentLabel: controllers.BackupComponent}
	for ctx.Err() == nil {
		jobs := &batchv1.JobList{}
		if err := h.c.List(ctx, jobs, backup); err == nil {
			for i := range jobs.Items {
				if j := &jobs.Items[i]; j.Status.CompletionTime == nil && h.finishJob(ctx, j) == nil {
					h.jobs++
				}
			}
		}
		snaps := &snapshotv1.VolumeSnapshotList{}
		if err := h.c.List(ctx, snaps, backup); err == nil {
			for i := range snaps.Items {
				if s := &snaps.Items[i]; s.Status == nil && h.readySnapshot(ctx, s) == nil {
					h.snapshots++
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (h *snapshotHarness) finishJob(ctx context.Context, j *batchv1.Job) error {
	now := metav1.Now()
	j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = &now, &now, 1
	j.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	h.wrote++
	return h.c.Status().Update(ctx, j)
}

func (h *snapshotHarness) readySnapshot(ctx context.Context, s *snapshotv1.VolumeSnapshot) error {
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-" + string(s.UID)},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef: corev1.ObjectReference{Kind: "VolumeSnapshot", Namespace: s.Namespace, Name: s.Name, UID: s.UID},
			DeletionPolicy:    snapshotv1.VolumeSnapshotContentDelete,
			Driver:            "csi.example.com",
			Source:            snapshotv1.VolumeSnapshotContentSource{VolumeHandle: ptr.To("vol-" + s.Name)},
		},
	}
	if err := h.c.Create(ctx, content); err != nil {
		return err
	}
	s.Status = &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(true), CreationTime: ptr.To(metav1.Now()),
		BoundVolumeSnapshotContentName: ptr.To(content.Name)}
	h.wrote += 2
	return h.c.Status().Update(ctx, s)
}

// table prints the measurement.
func (r *backupResults) table(s settings) string {
	var b strings.Builder
	n := float64(r.tenants)
	fmt.Fprintf(&b, "| measurement | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| Tenants (database, cache, file storage; daily round at %s UTC) | %d |\n", r.slot, r.tenants)
	fmt.Fprintf(&b, "| provisioning every Tenant to Ready (harness playing the workload controllers) | %s |\n", r.provision.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "| **round: scheduled time to every Tenant reporting its new snapshots ready** | **%s** |\n", r.round.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "| checkpoint Jobs / snapshots the harness completed | %d / %d |\n", r.jobs, r.snapshots)
	fmt.Fprintf(&b, "| operator writes per Tenant during the round | %.2f (%s) |\n", float64(r.reqs.Writes())/n, writesOnly(r.reqs).PerTenant(r.tenants))
	fmt.Fprintf(&b, "| operator reads (GET, LIST) during the round | %d |\n", r.reqs.Reads())
	fmt.Fprintf(&b, "| operator CPU during the round | %.2f s (%.1f ms per Tenant) |\n", r.cpuSeconds, r.cpuSeconds*1000/n)
	fmt.Fprintf(&b, "| harness writes (playing the Job and snapshot controllers) | %d |\n", r.harnessWrites)
	fmt.Fprintf(&b, "\nCommand: make bench-backup BENCH_TENANTS=%d\n", r.tenants)
	return b.String()
}
