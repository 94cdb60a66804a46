package conformance

import (
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
