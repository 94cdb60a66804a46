package integration

import (
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
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
)

// backupTenant returns a Tenant with file storage, snapshotted on schedule.
func backupTenant(name, schedule string) *silov1.Tenant {
	t := newTenant(name)
	t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce"}
	t.Spec.Backup = &silov1.BackupSpec{Schedule: schedule, Keep: ptr.To[int32](2)}
	return t
}

// silosSnapshots lists the snapshots Silo took of a Tenant, newest first by name.
func silosSnapshots(g Gomega, tenant string) []snapshotv1.VolumeSnapshot {
	list := &snapshotv1.VolumeSnapshotList{}
	g.Expect(k8s.List(ctx, list, client.InNamespace("tenant-"+tenant),
		client.MatchingLabels{silov1.TenantLabel: tenant, silov1.ComponentLabel: controllers.BackupComponent})).To(Succeed())
	return list.Items
}

func snapshotNames(list []snapshotv1.VolumeSnapshot) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

// backupNow asks for one round with value, and returns the snapshot of the storage
// it takes, once it exists.
func backupNow(tenant, value string) *snapshotv1.VolumeSnapshot {
	requestBackup(tenant, value)
	return awaitRound(tenant, value)
}

// requestBackup annotates the Tenant with silo.dev/backup-now=value.
func requestBackup(tenant, value string) {
	t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, silov1.BackupNowAnnotation, value)
	ExpectWithOffset(2, k8s.Patch(ctx, t, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// awaitRound waits until the round asked for with value is taken and returns a
// snapshot of it.
func awaitRound(tenant, value string) *snapshotv1.VolumeSnapshot {
	var snap *snapshotv1.VolumeSnapshot
	EventuallyWithOffset(1, func(g Gomega) {
		tn := &silov1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: tenant}, tn)).To(Succeed())
		g.Expect(tn.Status.Backups).NotTo(BeNil())
		g.Expect(tn.Status.Backups.LastRequest).To(Equal(value))
	}).Should(Succeed())
	EventuallyWithOffset(1, func(g Gomega) {
		for _, s := range silosSnapshots(g, tenant) {
			if s.Annotations[controllers.TakenAtAnnotation] == fakeClock.Now().UTC().Format(time.RFC3339) {
				snap = &s
				return
			}
		}
		g.Expect(snap).NotTo(BeNil(), "no snapshot of this round yet")
	}).Should(Succeed())
	// The next round is taken at a later time of the operator's clock.
	fakeClock.Step(time.Second)
	return snap
}

// markSnapshot plays the CSI snapshot controller: the snapshot is ready (bound to a
// content with a snapshot handle) or failed.
func markSnapshot(s *snapshotv1.VolumeSnapshot, ready bool) {
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-" + string(s.UID)},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef: corev1.ObjectReference{Kind: "VolumeSnapshot", Namespace: s.Namespace, Name: s.Name, UID: s.UID},
			DeletionPolicy:    snapshotv1.VolumeSnapshotContentDelete,
			Driver:            "csi.example.com",
			Source:            snapshotv1.VolumeSnapshotContentSource{VolumeHandle: ptr.To("vol-" + s.Name)},
		},
	}
	status := &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(ready)}
	if ready {
		ExpectWithOffset(1, k8s.Create(ctx, content)).To(Succeed())
		content.Status = &snapshotv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To("snap-" + s.Name), ReadyToUse: ptr.To(true)}
		ExpectWithOffset(1, k8s.Status().Update(ctx, content)).To(Succeed())
		status.BoundVolumeSnapshotContentName = ptr.To(content.Name)
		status.CreationTime = ptr.To(metav1.Now())
	} else {
		status.Error = &snapshotv1.VolumeSnapshotError{Message: ptr.To("the driver cannot snapshot this volume")}
	}
	EventuallyWithOffset(1, func() error {
		cur := &snapshotv1.VolumeSnapshot{}
		if err := get(cur, s.Namespace, s.Name); err != nil {
			return err
		}
		cur.Status = status
		return k8s.Status().Update(ctx, cur)
	}).Should(Succeed())
}

func degradedReason(g Gomega, name string) string {
	t := &silov1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
	c := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
	g.Expect(c).NotTo(BeNil())
	if c.Status != metav1.ConditionTrue {
		return ""
	}
	return c.Reason
}

var _ = Describe("Backups", func() {
	It("takes the scheduled round at its time and not before", func() {
		// A daily time ten minutes ahead of the operator's clock.
		at := fakeClock.Now().UTC().Add(10 * time.Minute).Truncate(time.Minute)
		name := uniqueName("bk-sched")
		createTenantAndSettle(backupTenant(name, fmt.Sprintf("%d %d * * *", at.Minute(), at.Hour())))
		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			g.Expect(t.Status.Backups).NotTo(BeNil())
			g.Expect(t.Status.Backups.NextScheduleTime).NotTo(BeNil())
			g.Expect(t.Status.Backups.NextScheduleTime.Time).To(BeTemporally("==", at))
		}).Should(Succeed())

		fakeClock.SetTime(at.Add(-time.Second))
		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "before")
		Consistently(func(g Gomega) []string { return snapshotNames(silosSnapshots(g, name)) }, "1s").Should(BeEmpty())

		fakeClock.SetTime(at.Add(time.Second))
		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "after")
		Eventually(func(g Gomega) []string { return snapshotNames(silosSnapshots(g, name)) }).
			Should(ConsistOf("storage-" + at.Format("20060102-1504")))
		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			g.Expect(t.Status.Backups.LastScheduleTime).NotTo(BeNil())
			g.Expect(t.Status.Backups.LastScheduleTime.Time).To(BeTemporally("==", at))
			g.Expect(t.Status.Backups.NextScheduleTime.Time).To(BeTemporally("==", at.AddDate(0, 0, 1)))
		}).Should(Succeed())
	})

	It("takes one round per backup-now value and keeps exactly keep ready snapshots, never one that is not Silo's", func() {
		name := uniqueName("bk-keep")
		createTenantAndSettle(backupTenant(name, "0 3 1 1 *"))
		ns := "tenant-" + name
		foreign := &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns, Labels: map[string]string{silov1.TenantLabel: name}},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("storage")}},
		}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())

		var taken []string
		for _, v := range []string{"1", "2", "3"} {
			s := backupNow(name, v)
			markSnapshot(s, true)
			taken = append(taken, s.Name)
		}
		// The same value again takes nothing.
		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "again")
		Eventually(func(g Gomega) []string { return snapshotNames(silosSnapshots(g, name)) }).Should(ConsistOf(taken[1], taken[2]))
		Consistently(func(g Gomega) []string { return snapshotNames(silosSnapshots(g, name)) }, "1s").Should(ConsistOf(taken[1], taken[2]))
		Expect(get(&snapshotv1.VolumeSnapshot{}, ns, foreign.Name)).To(Succeed(), "a snapshot Silo did not take is never deleted")
		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			g.Expect(t.Status.Backups.Volumes).To(HaveLen(1))
			g.Expect(t.Status.Backups.Volumes[0].VolumeSnapshotName).To(Equal(taken[2]))
		}).Should(Succeed())
	})

	It("does not take a handled backup-now again after the operator restarts", func() {
		name := uniqueName("bk-restart")
		createTenantAndSettle(backupTenant(name, "0 3 1 1 *"))
		first := backupNow(name, "once")
		restartOperator(nil)
		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "after-restart")
		Consistently(func(g Gomega) []string { return snapshotNames(silosSnapshots(g, name)) }, "2s").Should(ConsistOf(first.Name))
	})

	It("is Degraded with BackupFailed and a Warning event on a failed snapshot, until a later good one", func() {
		name := uniqueName("bk-fail")
		createTenantAndSettle(backupTenant(name, "0 3 1 1 *"))
		markSnapshot(backupNow(name, "a"), false)
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(Equal(silov1.BackupFailedReason))
		Eventually(func(g Gomega) []string {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			return tenantEvents(g, t)
		}).Should(ContainElement("Warning " + silov1.BackupFailedReason))

		markSnapshot(backupNow(name, "b"), true)
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(BeEmpty())

		// A snapshot that never becomes ready counts as failed after its deadline, not before.
		backupNow(name, "c")
		Consistently(func(g Gomega) string { return degradedReason(g, name) }, "1s").Should(BeEmpty())
		fakeClock.Step(16 * time.Minute)
		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "later")
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(Equal(silov1.BackupFailedReason))
	})

	It("refuses a schedule that is not a cron expression, with what to write instead", func() {
		name := uniqueName("bk-bad")
		Expect(k8s.Create(ctx, backupTenant(name, "every day at three"))).To(Succeed())
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(Equal(silov1.BackupScheduleInvalidReason))
		updateTenant(name, func(t *silov1.Tenant) { t.Spec.Backup.Schedule = "0 3 * * *" })
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(BeEmpty())
	})

	It("keeps a ready snapshot's content past the namespace unless deleteWithTenant", func() {
		name := uniqueName("bk-keepc")
		createTenantAndSettle(backupTenant(name, "0 3 1 1 *"))
		s := backupNow(name, "1")
		markSnapshot(s, true)
		content := &snapshotv1.VolumeSnapshotContent{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "snapcontent-" + string(s.UID)}, content)).To(Succeed())
			g.Expect(content.Spec.DeletionPolicy).To(Equal(snapshotv1.VolumeSnapshotContentRetain))
			g.Expect(content.Labels).To(HaveKeyWithValue(silov1.VolumeSnapshotLabel, s.Name))
		}).Should(Succeed())
		updateTenant(name, func(t *silov1.Tenant) { t.Spec.Backup.DeleteWithTenant = ptr.To(true) })
		Eventually(func(g Gomega) snapshotv1.DeletionPolicy {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: content.Name}, content)).To(Succeed())
			return content.Spec.DeletionPolicy
		}).Should(Equal(snapshotv1.VolumeSnapshotContentDelete))
	})
})

var _ = Describe("Backups of a deleted Tenant", func() {
	It("outlive a Tenant deleted with Delete, and a new Tenant restores from the kept content", func() {
		name := uniqueName("bk-gone")
		t := backupTenant(name, "0 3 1 1 *")
		t.Spec.DeletionPolicy = silov1.DeletionPolicyDelete
		createTenantAndSettle(t)
		s := backupNow(name, "1")
		markSnapshot(s, true)
		content := &snapshotv1.VolumeSnapshotContent{}
		Eventually(func(g Gomega) snapshotv1.DeletionPolicy {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "snapcontent-" + string(s.UID)}, content)).To(Succeed())
			return content.Spec.DeletionPolicy
		}).Should(Equal(snapshotv1.VolumeSnapshotContentRetain))

		Expect(k8s.Delete(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, &silov1.Tenant{})) }).Should(BeTrue())
		// What the namespace controller does to the snapshot (envtest runs none).
		Expect(k8s.Delete(ctx, s)).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Name: content.Name}, content)).To(Succeed())
		Expect(content.Spec.DeletionPolicy).To(Equal(snapshotv1.VolumeSnapshotContentRetain))

		restored := uniqueName("bk-back")
		r := newTenant(restored)
		r.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce",
			RestoreFrom: &silov1.RestoreSource{Tenant: name, VolumeSnapshotName: s.Name}}
		Expect(k8s.Create(ctx, r)).To(Succeed())
		pvc := &corev1.PersistentVolumeClaim{}
		Eventually(func() error { return get(pvc, "tenant-"+restored, "storage") }).Should(Succeed())
		Expect(pvc.Spec.DataSource.Name).To(Equal("restore-storage"))
		pre := &snapshotv1.VolumeSnapshotContent{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "silo-restore-" + restored + "-storage"}, pre)).To(Succeed())
		Expect(pre.Spec.Source.SnapshotHandle).To(Equal(ptr.To("snap-" + s.Name)))
		Expect(pre.Spec.Driver).To(Equal("csi.example.com"))

		// Deleting the restored Tenant (Delete) removes what was pre-provisioned for
		// it, never the source's content.
		updateTenant(restored, func(t *silov1.Tenant) { t.Spec.DeletionPolicy = silov1.DeletionPolicyDelete })
		Expect(k8s.Delete(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: restored}})).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKey{Name: pre.Name}, pre)) }).Should(BeTrue())
		Expect(k8s.Get(ctx, client.ObjectKey{Name: content.Name}, content)).To(Succeed())
	})
})

var _ = Describe("Restore", Ordered, func() {
	var source string
	var snap *snapshotv1.VolumeSnapshot

	BeforeAll(func() {
		// A source Tenant in eu-west-1 with a database and a ready snapshot of it.
		source = uniqueName("rs-src")
		t := backupTenant(source, "0 3 1 1 *")
		t.Spec.Placement.Region = "eu-west-1"
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi"))}
		createTenantAndSettle(t)
		// The claim the StatefulSet controller would create from its template.
		ns := "tenant-" + source
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data-database-0", Namespace: ns, Labels: map[string]string{
				silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: source, silov1.ComponentLabel: "database"}},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}
		Expect(k8s.Create(ctx, claim)).To(Succeed())
		Eventually(func(g Gomega) { markClaimBound(g, ns, claim.Name) }).Should(Succeed())
		// The database runs: the round asks it for a checkpoint first, and snapshots
		// nothing before the checkpoint Job is done.
		requestBackup(source, "1")
		job := &batchv1.Job{}
		Eventually(func() error { return get(job, ns, "backup-checkpoint-now-6b86b273") }).Should(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Command).To(ContainElement("CHECKPOINT"))
		Expect(silosSnapshots(Default, source)).To(BeEmpty())
		Eventually(func(g Gomega) {
			g.Expect(get(job, ns, job.Name)).To(Succeed())
			finishJob(g, job, true)
		}).Should(Succeed())
		awaitRound(source, "1")
		Eventually(func() bool { return isNotFound(get(job, ns, job.Name)) }).Should(BeTrue(), "a finished checkpoint Job is deleted")
		Eventually(func(g Gomega) {
			for _, s := range silosSnapshots(g, source) {
				if s.Labels[silov1.VolumeLabel] == "database" {
					snap = &s
				}
			}
			g.Expect(snap).NotTo(BeNil())
		}).Should(Succeed())
		markSnapshot(snap, true)
	})

	restoring := func(name, region string) *silov1.Tenant {
		t := newTenant(name)
		t.Spec.Placement.Region = region
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi")),
			RestoreFrom: &silov1.RestoreSource{Tenant: source, VolumeSnapshotName: snap.Name}}
		return t
	}

	It("creates the claim from the snapshot, pre-provisioned in the new namespace, with the source's credentials", func() {
		name := uniqueName("rs-ok")
		Expect(k8s.Create(ctx, restoring(name, "eu-west-1"))).To(Succeed())
		ns := "tenant-" + name
		pvc := &corev1.PersistentVolumeClaim{}
		Eventually(func() error { return get(pvc, ns, "data-database-0") }).Should(Succeed())
		Expect(pvc.Spec.DataSource).To(Equal(&corev1.TypedLocalObjectReference{
			APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "restore-database"}))
		Expect(pvc.Spec.StorageClassName).To(Equal(ptr.To("fast-eu")))

		local := &snapshotv1.VolumeSnapshot{}
		Expect(get(local, ns, "restore-database")).To(Succeed())
		content := &snapshotv1.VolumeSnapshotContent{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: *local.Spec.Source.VolumeSnapshotContentName}, content)).To(Succeed())
		Expect(content.Spec.Source.SnapshotHandle).To(Equal(ptr.To("snap-" + snap.Name)))
		Expect(content.Spec.VolumeSnapshotRef.Namespace).To(Equal(ns))
		Expect(content.Spec.DeletionPolicy).To(Equal(snapshotv1.VolumeSnapshotContentRetain))

		Expect(secretData(ns, "database-credentials")).To(Equal(secretData("tenant-"+source, "database-credentials")))
		Eventually(func(g Gomega) []silov1.RestoredVolume {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			return t.Status.RestoredFrom
		}).Should(ConsistOf(silov1.RestoredVolume{Volume: "database", Tenant: source, VolumeSnapshotName: snap.Name}))
		// The source's credentials were copied: the data knows them, so no Job sets a
		// password and the database starts at once.
		Eventually(func() error { return get(&appsv1.StatefulSet{}, ns, controllers.DatabaseName) }).Should(Succeed())
		Expect(componentJobs(Default, name, controllers.RestoreComponent)).To(BeEmpty())
		Expect(get(pvc, ns, "data-database-0")).To(Succeed())
		Expect(pvc.Annotations).NotTo(HaveKey(controllers.RestoreCredentialsAnnotation))
	})

	It("refuses a snapshot of another region and creates no empty database", func() {
		name := uniqueName("rs-far")
		Expect(k8s.Create(ctx, restoring(name, "us-east-1"))).To(Succeed())
		Eventually(func(g Gomega) string { return degradedReason(g, name) }).Should(Equal(silov1.RestoreRefusedReason))
		Expect(get(&corev1.PersistentVolumeClaim{}, "tenant-"+name, "data-database-0")).To(MatchError(ContainSubstring("not found")))
		Expect(isNotFound(get(&corev1.Service{}, "tenant-"+name, "database"))).To(BeTrue(), "the held database is not built")
	})

	Context("when the source Tenant's credentials are gone", Ordered, func() {
		var gone map[string][]byte

		BeforeAll(func() {
			// The source Tenant is deleted (Retain keeps its namespace and snapshot),
			// then its credentials Secret goes, as with deletionPolicy Delete.
			ns := "tenant-" + source
			gone = secretData(ns, "database-credentials")
			Expect(k8s.Delete(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: source}})).To(Succeed())
			Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKey{Name: source}, &silov1.Tenant{})) }).Should(BeTrue())
			Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "database-credentials"}})).To(Succeed())
		})

		// restoreJob waits for the Tenant's Job that sets the password in its restored
		// data, while the database is held for it (status.components says so once the
		// pass that held it is over).
		var restoreJob func(name string) *batchv1.Job
		// startRestore creates a Tenant restoring the snapshot and waits for its Job.
		startRestore := func(prefix string) (string, string, *batchv1.Job) {
			GinkgoHelper()
			name := uniqueName(prefix)
			Expect(k8s.Create(ctx, restoring(name, "eu-west-1"))).To(Succeed())
			return name, "tenant-" + name, restoreJob(name)
		}
		restoreJob = func(name string) *batchv1.Job {
			GinkgoHelper()
			var job batchv1.Job
			Eventually(func(g Gomega) {
				jobs := componentJobs(g, name, controllers.RestoreComponent)
				g.Expect(jobs).To(HaveLen(1))
				job = jobs[0]
				t := &silov1.Tenant{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
				g.Expect(componentStatus(t, controllers.DatabaseName)).To(HaveField("Message", ContainSubstring(job.Name)))
			}).Should(Succeed())
			Expect(job.Name).To(HavePrefix("restore-credentials-"))
			Expect(isNotFound(get(&appsv1.StatefulSet{}, "tenant-"+name, controllers.DatabaseName))).To(BeTrue(),
				"the database does not start before its password is set")
			return &job
		}
		// started waits until the database StatefulSet exists, the Job is gone, and
		// the Tenant is not Degraded.
		started := func(name string) {
			GinkgoHelper()
			ns := "tenant-" + name
			Eventually(func(g Gomega) {
				g.Expect(get(&appsv1.StatefulSet{}, ns, controllers.DatabaseName)).To(Succeed())
				g.Expect(componentJobs(g, name, controllers.RestoreComponent)).To(BeEmpty(), "a succeeded Job is deleted")
				g.Expect(degradedReason(g, name)).To(BeEmpty())
				pvc := &corev1.PersistentVolumeClaim{}
				g.Expect(get(pvc, ns, "data-database-0")).To(Succeed())
				g.Expect(pvc.Annotations).NotTo(HaveKey(controllers.RestoreCredentialsAnnotation))
			}).Should(Succeed())
		}

		It("generates new credentials and holds the database until a Job has set them in the restored data", func() {
			name, ns, job := startRestore("rs-job")
			pvc := &corev1.PersistentVolumeClaim{}
			Expect(get(pvc, ns, "data-database-0")).To(Succeed())
			Expect(pvc.Annotations).To(HaveKeyWithValue(controllers.RestoreCredentialsAnnotation, "pending"))
			creds := secretData(ns, "database-credentials")
			Expect(creds["username"]).To(Equal([]byte("app")))
			Expect(creds["password"]).NotTo(BeEmpty())
			Expect(creds["password"]).NotTo(Equal(gone["password"]))
			pod := job.Spec.Template.Spec
			Expect(pod.Volumes).To(ContainElement(HaveField("PersistentVolumeClaim.ClaimName", "data-database-0")))
			Expect(pod.Containers[0].Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "database-credentials")))

			Eventually(func(g Gomega) { finishJob(g, job, true) }).Should(Succeed())
			started(name)
			Expect(secretData(ns, "database-credentials")).To(Equal(creds), "the password the Job set is the one the Tenant keeps")
			settings := secretData(ns, controllers.SettingsSecretName)
			Expect(settings["PGUSER"]).To(Equal(creds["username"]), "the app logs in as the role the Job set")
			Expect(settings["PGPASSWORD"]).To(Equal(creds["password"]))
			Eventually(func(g Gomega) []silov1.RestoredVolume {
				t := &silov1.Tenant{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
				return t.Status.RestoredFrom
			}).Should(ConsistOf(silov1.RestoredVolume{Volume: "database", Tenant: source, VolumeSnapshotName: snap.Name}))
		})

		It("is Degraded CredentialsNotRestored when the Job fails, keeps the claim and the database stopped, and tries again once the Job is deleted", func() {
			name, ns, job := startRestore("rs-jobfail")
			creds := secretData(ns, "database-credentials")
			Eventually(func(g Gomega) { finishJob(g, job, false) }).Should(Succeed())
			Eventually(func(g Gomega) {
				_, d := degradedOf(g, name)
				g.Expect(d.Reason).To(Equal(silov1.CredentialsNotRestoredReason))
				g.Expect(d.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/" + job.Name))
				g.Expect(d.Message).To(ContainSubstring("kubectl delete job -n " + ns + " " + job.Name))
			}).Should(Succeed())
			Expect(isNotFound(get(&appsv1.StatefulSet{}, ns, controllers.DatabaseName))).To(BeTrue())
			pvc := &corev1.PersistentVolumeClaim{}
			Expect(get(pvc, ns, "data-database-0")).To(Succeed())
			Expect(pvc.DeletionTimestamp).To(BeNil())
			Expect(pvc.Annotations).To(HaveKey(controllers.RestoreCredentialsAnnotation))
			Expect(get(&batchv1.Job{}, ns, job.Name)).To(Succeed(), "a failed Job is kept for its logs")

			// Positive control: the platform deletes the failed Job; a new one runs and,
			// once it succeeds, the database starts with the same credentials.
			Expect(k8s.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
			again := &batchv1.Job{}
			Eventually(func(g Gomega) {
				g.Expect(get(again, ns, job.Name)).To(Succeed())
				g.Expect(again.UID).NotTo(Equal(job.UID))
			}).Should(Succeed())
			Eventually(func(g Gomega) { finishJob(g, again, true) }).Should(Succeed())
			started(name)
			Expect(secretData(ns, "database-credentials")).To(Equal(creds))
		})

		It("resumes after a restart between any two steps without a second password", func() {
			name, ns, job := startRestore("rs-jobcrash")
			creds := &corev1.Secret{}
			Expect(get(creds, ns, "database-credentials")).To(Succeed())

			// Stopped while the Job runs: the same Job is waited for, no new password.
			restartOperator(nil)
			poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "1")
			Expect(restoreJob(name).UID).To(Equal(job.UID))

			// Stopped after the Job succeeded and the claim's mark went, before the
			// database started and the Job was deleted.
			restartOperator(func() {
				Eventually(func(g Gomega) {
					g.Expect(get(job, ns, job.Name)).To(Succeed())
					finishJob(g, job, true)
				}).Should(Succeed())
				Eventually(func(g Gomega) {
					pvc := &corev1.PersistentVolumeClaim{}
					g.Expect(get(pvc, ns, "data-database-0")).To(Succeed())
					delete(pvc.Annotations, controllers.RestoreCredentialsAnnotation)
					g.Expect(k8s.Update(ctx, pvc)).To(Succeed())
				}).Should(Succeed())
			})
			started(name)
			after := &corev1.Secret{}
			Expect(get(after, ns, "database-credentials")).To(Succeed())
			Expect(after.UID).To(Equal(creds.UID))
			Expect(after.Data).To(Equal(creds.Data), "the credentials are never generated again")
		})
	})
})

// createTenantAndSettle creates t and plays the workload controllers until it is Ready.
func createTenantAndSettle(t *silov1.Tenant) {
	ExpectWithOffset(1, k8s.Create(ctx, t)).To(Succeed())
	waitSettled(t.Name)
}

var _ = Describe("Backup and restore validation in the CRD", func() {
	refused := func(obj client.Object) string {
		err := k8s.Create(ctx, obj, client.DryRunAll)
		ExpectWithOffset(1, err).To(HaveOccurred(), "the API server accepted it")
		return err.Error()
	}
	restore := &silov1.RestoreSource{VolumeSnapshotName: "database-20261202-0300", Tenant: "acme"}

	DescribeTable("refuses what cannot work, with a message",
		func(mutate func(t *silov1.Tenant), want string) {
			t := newTenant(uniqueName("bk-val"))
			mutate(t)
			Expect(refused(t)).To(ContainSubstring(want))
		},
		Entry("a backup without a schedule and no class", func(t *silov1.Tenant) { t.Spec.Backup = &silov1.BackupSpec{} },
			"backup.schedule is required"),
		Entry("keep 0", func(t *silov1.Tenant) { t.Spec.Backup = &silov1.BackupSpec{Schedule: "@daily", Keep: ptr.To[int32](0)} },
			"spec.backup.keep"),
		Entry("restoreFrom with an external database", func(t *silov1.Tenant) {
			t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "db"}, RestoreFrom: restore}
		}, "database.restoreFrom cannot be combined with external"),
	)

	It("refuses restoreFrom in a class template, and takes a class's schedule (positive control)", func() {
		c := newClass(uniqueName("bk-class"))
		c.Spec.Template.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), RestoreFrom: restore}
		Expect(refused(c)).To(ContainSubstring("template restoreFrom is not allowed"))

		c.Spec.Template.Storage.RestoreFrom = nil
		c.Spec.Template.Backup = &silov1.BackupSpec{Schedule: "0 3 * * *"}
		Expect(k8s.Create(ctx, c, client.DryRunAll)).To(Succeed())
		t := newTenant(uniqueName("bk-ofclass"))
		t.Spec.Class = c.Name
		t.Spec.Backup = &silov1.BackupSpec{Keep: ptr.To[int32](3)}
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(Succeed(), "a Tenant of a class may leave the schedule to it")
	})
})
