package e2e

import (
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
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

// snapshotClass is the VolumeSnapshotClass the backup Tenant names. Its driver does
// not exist: no CSI driver runs on the local cluster.
const snapshotClass = "e2e-csi-snapshots"

// Backups on the local cluster: the snapshot CRDs from the module the operator pins,
// the real CSI snapshot controller (built from the module proxy) as a process, and the
// operator as the chart's ServiceAccount. The volumes are host-path volumes, not CSI
// volumes, and no CSI driver runs: no snapshot becomes ready, nothing is cut. What is
// checked is that Silo's VolumeSnapshots are what the snapshot controller acts on, that
// the controller refuses them (status.error, a Warning event), and that Silo reports
// that verdict (BackupFailed) instead of waiting in silence.
// Run with: make test-e2e-backup
var _ = Describe("Backups on a real control plane", Label("backup"), Ordered, func() {
	BeforeAll(func() {
		By("installing the CSI snapshot CRDs, then restarting the operator so it finds the API")
		paths, err := testenv.SnapshotCRDPaths()
		Expect(err).NotTo(HaveOccurred())
		for _, p := range paths {
			_, err := run("kubectl", "apply", "--server-side", "-f", p)
			Expect(err).NotTo(HaveOccurred())
		}
		startOperator()
		By("starting the CSI snapshot controller as a process, as its ServiceAccount")
		_, err = run("hack/snapshot-controller.sh", "start")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			_, err := run("hack/snapshot-controller.sh", "stop")
			Expect(err).NotTo(HaveOccurred())
		})
		class := &snapshotv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: snapshotClass},
			Driver: "hostpath.csi.k8s.io", DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete}
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, class))).To(Succeed())
	})

	It("checkpoints the database with a Job run as the tenant, snapshots each volume, and reports the snapshot controller's verdict", func() {
		t := newTenant("backup")
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce"}
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi"))}
		t.Spec.Isolation.NodePool = pool
		t.Spec.Placement.Region = "eu-west-1"
		t.Spec.Backup = &silov1.BackupSpec{Schedule: "0 3 * * *", VolumeSnapshotClassName: snapshotClass}
		create(t)
		waitReady(t)

		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"1"}}}`, silov1.BackupNowAnnotation)
		Expect(k8s.Patch(ctx, t, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())

		By("the checkpoint Job: the database's image and client, the tenant's credentials, pod security and node pool")
		job := waitJob(t, "backup-checkpoint-now-6b86b273")
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		Expect(c.Image).To(Equal(workloadImage(t, controllers.DatabaseName)))
		Expect(c.Command).To(Equal([]string{"psql", "-v", "ON_ERROR_STOP=1", "-c", "CHECKPOINT"}))
		Expect(c.Env).To(ContainElement(secretEnv("PGPASSWORD", "database-credentials", "password")))
		expectNoSecretsInline(t, c)
		expectRestrictedAndPlaced(t, pod)

		By("one VolumeSnapshot per volume, of Silo's labels, claim and class, which the snapshot controller refuses")
		// kwok completes the checkpoint Job's pod; without it the snapshots follow the Job's deadline.
		_, err := run("hack/snapshot-controller.sh", "status")
		Expect(err).NotTo(HaveOccurred(), "the snapshot controller does not run")
		refusals := map[string]string{}
		for volume, claim := range map[string]string{"database": "data-database-0", "storage": "storage"} {
			name := volume + "-now-6b86b273"
			s := &snapshotv1.VolumeSnapshot{}
			Eventually(func(g Gomega) {
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: name}, s)).To(Succeed())
				// The host-path volumes are not CSI volumes: the controller says so.
				g.Expect(s.Status).NotTo(BeNil())
				g.Expect(s.Status.Error).NotTo(BeNil(), "the snapshot controller has not handled %s", name)
			}).Should(Succeed())
			Expect(s.Labels).To(SatisfyAll(HaveKeyWithValue(silov1.TenantLabel, t.Name),
				HaveKeyWithValue(silov1.VolumeLabel, volume), HaveKeyWithValue(silov1.RegionLabel, "eu-west-1")))
			Expect(s.Spec.Source.PersistentVolumeClaimName).To(HaveValue(Equal(claim)))
			Expect(s.Spec.VolumeSnapshotClassName).To(HaveValue(Equal(snapshotClass)))
			// It got as far as protecting Silo's claim, as its own ServiceAccount, which
			// silo-tenant-managed-objects lets it do (its finalizer and nothing else).
			pvc := &corev1.PersistentVolumeClaim{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: claim}, pvc)).To(Succeed())
			Expect(pvc.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
			Expect(pvc.Finalizers).To(ContainElement("snapshot.storage.kubernetes.io/pvc-as-source-protection"))
			Expect(ptr.Deref(s.Status.ReadyToUse, false)).To(BeFalse())
			msg := ptr.Deref(s.Status.Error.Message, "")
			Expect(msg).To(ContainSubstring("cannot find CSI PersistentVolumeSource"), "the controller's reason: no CSI volume")
			refusals[name] = msg
			GinkgoWriter.Printf("snapshot %s: %s\n", name, msg)
			Eventually(func(g Gomega) {
				events := &eventsv1.EventList{}
				g.Expect(k8s.List(ctx, events, client.InNamespace(ns(t)))).To(Succeed())
				found := false
				for _, e := range events.Items {
					found = found || (e.Regarding.Kind == "VolumeSnapshot" && e.Regarding.Name == name && e.Type == corev1.EventTypeWarning)
				}
				g.Expect(found).To(BeTrue(), "no Warning event of the snapshot controller on %s", name)
			}).Should(Succeed())
		}

		By("the Tenant is Degraded with BackupFailed, a message that names each snapshot and its error, and a Warning event")
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Reason).To(Equal(silov1.BackupFailedReason))
			for name, msg := range refusals {
				g.Expect(d.Message).To(ContainSubstring(fmt.Sprintf("snapshot %s failed: %s", name, msg)))
			}
			g.Expect(got.Status.Backups.LastRequest).To(Equal("1"))
			g.Expect(tenantEvents(g, t)).To(ContainElement(silov1.BackupFailedReason))
		}).Should(Succeed())
	})
})
