package e2e

import (
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
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

// Backups on the local cluster: the snapshot CRDs from the module the operator pins,
// the real CSI snapshot controller (built from the module proxy) as a process, and the
// operator as the chart's ServiceAccount. The host-path provisioner is not a CSI
// driver, so no snapshot becomes ready: what is checked is that Silo's objects are
// what the snapshot controller acts on, and that Silo reports its verdict.
// Run with: make test-e2e E2E_FLAGS=-ginkgo.label-filter=backup
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
		By("starting the CSI snapshot controller")
		_, err = run("hack/snapshot-controller.sh", "start")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			_, err := run("hack/snapshot-controller.sh", "stop")
			Expect(err).NotTo(HaveOccurred())
		})
	})

	It("checkpoints the database with a Job run as the tenant, snapshots each volume, and reports the snapshot controller's verdict", func() {
		t := newTenant("backup")
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce"}
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi"))}
		t.Spec.Isolation.NodePool = pool
		t.Spec.Backup = &silov1.BackupSpec{Schedule: "0 3 * * *"}
		create(t)
		waitReady(t)

		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"1"}}}`, silov1.BackupNowAnnotation)
		Expect(k8s.Patch(ctx, t, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())

		By("the checkpoint Job: the database's image and client, the tenant's credentials, pod security and node pool")
		job := &batchv1.Job{}
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: "backup-checkpoint-now-6b86b273"}, job)
		}).Should(Succeed())
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		Expect(c.Image).To(Equal(controllers.DefaultConfig().Images.Postgres))
		Expect(c.Command).To(Equal([]string{"psql", "-v", "ON_ERROR_STOP=1", "-c", "CHECKPOINT"}))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "PGPASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "database-credentials"}, Key: "password"}}}))
		Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(pod.NodeSelector).To(HaveKeyWithValue(silov1.NodePoolLabel, pool))

		By("one VolumeSnapshot per volume, which the snapshot controller handles")
		// kwok completes the Job's pod; without it the snapshots follow the Job's deadline.
		for _, name := range []string{"database-now-6b86b273", "storage-now-6b86b273"} {
			s := &snapshotv1.VolumeSnapshot{}
			Eventually(func(g Gomega) {
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: name}, s)).To(Succeed())
				g.Expect(s.Labels).To(HaveKeyWithValue(silov1.TenantLabel, t.Name))
				// Host-path volumes are not CSI volumes: the controller says so.
				g.Expect(s.Status).NotTo(BeNil())
				g.Expect(s.Status.Error).NotTo(BeNil(), "the snapshot controller has not handled %s", name)
			}).WithTimeout(5 * time.Minute).Should(Succeed())
			GinkgoWriter.Printf("snapshot %s: %s\n", name, ptr.Deref(s.Status.Error.Message, ""))
		}

		By("the Tenant is Degraded with BackupFailed and a Warning event")
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Reason).To(Equal(silov1.BackupFailedReason))
			g.Expect(got.Status.Backups.LastRequest).To(Equal("1"))
			events := &eventsv1.EventList{}
			g.Expect(k8s.List(ctx, events)).To(Succeed())
			found := false
			for _, e := range events.Items {
				found = found || (e.Regarding.Name == t.Name && e.Reason == silov1.BackupFailedReason)
			}
			g.Expect(found).To(BeTrue(), "no BackupFailed event")
		}).Should(Succeed())
	})
})
