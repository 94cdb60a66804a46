package conformance

import (
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
