package conformance

import (
	"slices"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Snapshots hold a customer's whole data: they are the platform's (the operator
// takes, keeps and deletes them), never the tenant admins'.
var _ = Describe("Snapshots are not the owners'", func() {
	check("SILO-SNAP-1", "owners can neither take, read nor delete VolumeSnapshots in their namespace, nor read any VolumeSnapshotContent", func() {
		snap := &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: "owner-snapshot", Namespace: nsB},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("storage")}},
		}
		expectRBACRefusal(ownerB.Create(ctx, snap.DeepCopy(), client.DryRunAll), "volumesnapshots", nsB)
		expectRBACRefusal(ownerB.List(ctx, &snapshotv1.VolumeSnapshotList{}, client.InNamespace(nsB)), "volumesnapshots")
		expectRBACRefusal(ownerB.Delete(ctx, snap.DeepCopy()), "volumesnapshots")
		expectRBACRefusal(ownerB.List(ctx, &snapshotv1.VolumeSnapshotContentList{}), "volumesnapshotcontents")

		// The platform's admin may (positive control: the kinds are served).
		Expect(admin.Create(ctx, snap.DeepCopy(), client.DryRunAll)).To(Succeed())
		Expect(admin.List(ctx, &snapshotv1.VolumeSnapshotContentList{})).To(Succeed())
	})
})

var _ = Describe("The operator's snapshot contents", func() {
	check("SILO-SNAP-2", "the operator's token may write only the snapshot contents of tenant namespaces, labelled for a Tenant", func() {
		op := operatorIdentity("snap-")
		content := func(name, namespace string, labels map[string]string) *snapshotv1.VolumeSnapshotContent {
			return &snapshotv1.VolumeSnapshotContent{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
				Spec: snapshotv1.VolumeSnapshotContentSpec{
					VolumeSnapshotRef: corev1.ObjectReference{Kind: "VolumeSnapshot", Namespace: namespace, Name: "restore-database"},
					DeletionPolicy:    snapshotv1.VolumeSnapshotContentRetain,
					Driver:            "csi.example.com",
					Source:            snapshotv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To("snap-1")},
				},
			}
		}
		forB := map[string]string{silov1.TenantLabel: tenantB.Name}
		expectPolicyRefusal(op.Create(ctx, content("snap-elsewhere", metav1.NamespaceDefault, forB), client.DryRunAll),
			"silo-operator-scope", "may not create volumesnapshotcontents snap-elsewhere (cluster-scoped)")
		expectPolicyRefusal(op.Create(ctx, content("snap-unlabelled", nsB, nil), client.DryRunAll),
			"silo-operator-scope", "may not create volumesnapshotcontents")

		// What restore and retention need is allowed.
		Expect(op.Create(ctx, content("snap-restore", nsB, forB), client.DryRunAll)).To(Succeed())
		snap := &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: "restore-database", Namespace: nsB},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{VolumeSnapshotContentName: ptr.To("snap-restore")}},
		}
		Expect(op.Create(ctx, snap, client.DryRunAll)).To(Succeed())
	})
})

// pvcSourceFinalizer is the finalizer the CSI snapshot controller puts on a claim
// while it is snapshotted (external-snapshotter's utils.PVCFinalizer).
const pvcSourceFinalizer = "snapshot.storage.kubernetes.io/pvc-as-source-protection"

var _ = Describe("The CSI snapshot controller on managed claims", func() {
	check("SILO-SNAP-3", "the CSI snapshot controller may add and remove its finalizer on a managed claim, and change nothing else", func() {
		claim := claimIn(nsB, "snap-source")
		claim.Labels = map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: tenantB.Name,
			silov1.ComponentLabel: "storage"}
		Expect(operatorIdentity("snap3-").Create(ctx, claim)).To(Succeed())
		snapshotter := kubernetesController("snap3-", "snapshot-controller")
		withFinalizer := func(c *corev1.PersistentVolumeClaim, finalizer string) *corev1.PersistentVolumeClaim {
			c = c.DeepCopy()
			c.Finalizers = append(c.Finalizers, finalizer)
			return c
		}

		By("what it does before it takes a snapshot, and after")
		Expect(snapshotter.Update(ctx, withFinalizer(claim, pvcSourceFinalizer))).To(Succeed())
		protected := &corev1.PersistentVolumeClaim{}
		Expect(snapshotter.Get(ctx, client.ObjectKeyFromObject(claim), protected)).To(Succeed())
		Expect(protected.Finalizers).To(ContainElement(pvcSourceFinalizer))
		released := protected.DeepCopy()
		released.Finalizers = slices.DeleteFunc(released.Finalizers, func(f string) bool { return f == pvcSourceFinalizer })
		Expect(snapshotter.Update(ctx, released)).To(Succeed())

		By("nothing else: another finalizer, an annotation, a label")
		cur := &corev1.PersistentVolumeClaim{}
		Expect(snapshotter.Get(ctx, client.ObjectKeyFromObject(claim), cur)).To(Succeed())
		expectPolicyRefusal(snapshotter.Update(ctx, withFinalizer(cur, "example.com/hold"), client.DryRunAll),
			"silo-tenant-managed-objects", "is managed by Silo", "not system:serviceaccount:kube-system:snapshot-controller")
		annotated := withFinalizer(cur, pvcSourceFinalizer)
		annotated.Annotations = map[string]string{"example.com/note": "x"}
		expectPolicyRefusal(snapshotter.Update(ctx, annotated, client.DryRunAll), "silo-tenant-managed-objects", "is managed by Silo")
		relabelled := withFinalizer(cur, pvcSourceFinalizer)
		relabelled.Labels[silov1.ComponentLabel] = "database"
		expectPolicyRefusal(snapshotter.Update(ctx, relabelled, client.DryRunAll), "silo-tenant-managed-objects", "is managed by Silo")

		By("and its finalizer is its own: another controller may not add it")
		jobs := kubernetesController("snap3-", "job-controller")
		expectPolicyRefusal(jobs.Update(ctx, withFinalizer(cur, pvcSourceFinalizer), client.DryRunAll),
			"silo-tenant-managed-objects", "is managed by Silo")
	})
})
