package e2e

import (
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

const (
	// appDeployment and storagePVC are the names the operator gives a tenant's app
	// Deployment and file storage volume.
	appDeployment = "app"
	storagePVC    = "storage"
	regionLabel   = "topology.kubernetes.io/region"
)

var _ = Describe("Tenants on a real control plane", Label("tenants"), func() {
	It("become Ready with their app pods scheduled and Running (simulated) and their volumes Bound by the real provisioner", Label("workloads"), func() {
		t := newTenant("ready")
		t.Spec.App.Replicas = ptr.To[int32](2)
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi"))}
		create(t)
		waitReady(t)

		pods := appPods(t, 2)
		for _, p := range pods {
			Expect(p.Spec.NodeName).NotTo(BeEmpty())
		}
		pvc := &corev1.PersistentVolumeClaim{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: storagePVC}, pvc)).To(Succeed())
		Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
		pv := &corev1.PersistentVolume{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv)).To(Succeed())
		Expect(pv.Annotations).To(HaveKeyWithValue("pv.kubernetes.io/provisioned-by", "kubernetes.io/host-path"))
	})

	It("with placement.region, run their pods only on nodes of that region and put their volumes on the region's StorageClass", Label("workloads"), func() {
		t := newTenant("region")
		t.Spec.App.Replicas = ptr.To[int32](4)
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		t.Spec.Placement.Region = "us-east-1"
		create(t)
		waitReady(t)

		for _, p := range appPods(t, 4) {
			Expect(nodeOf(p).Labels).To(HaveKeyWithValue(regionLabel, "us-east-1"), "pod %s on node %s", p.Name, p.Spec.NodeName)
		}
		pvc := &corev1.PersistentVolumeClaim{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: storagePVC}, pvc)).To(Succeed())
		Expect(pvc.Spec.StorageClassName).To(HaveValue(Equal("local-us-east-1")))
		Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
	})

	It("with isolation.nodePool, run their pods only on the pool's (tainted) nodes", Label("workloads"), func() {
		t := newTenant("pool")
		t.Spec.App.Replicas = ptr.To[int32](3)
		t.Spec.Isolation.NodePool = pool
		create(t)
		waitReady(t)

		for _, p := range appPods(t, 3) {
			Expect(nodeOf(p).Labels).To(HaveKeyWithValue(silov1.NodePoolLabel, pool), "pod %s on node %s", p.Name, p.Spec.NodeName)
		}
	})

	It("with deletionPolicy Delete, lose their namespace for real when deleted", func() {
		t := newTenant("delete")
		t.Spec.DeletionPolicy = silov1.DeletionPolicyDelete
		create(t)
		waitReady(t)
		namespace := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, namespace)).To(Succeed())

		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})
		}).Should(Satisfy(apierrors.IsNotFound), "the Tenant's finalizer was not released")
		// The namespace controller of kube-controller-manager empties and removes it.
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, &corev1.Namespace{})
		}).Should(Satisfy(apierrors.IsNotFound), "namespace %s is still there", ns(t))
	})

	It("with deletionPolicy Retain, keep their namespace (marked retained) after the Tenant is gone, despite garbage collection", func() {
		t := newTenant("retain")
		create(t)
		waitReady(t)
		before := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, before)).To(Succeed())

		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})
		}).Should(Satisfy(apierrors.IsNotFound))
		// The garbage collector would remove a namespace still owned by the deleted
		// Tenant within seconds; the retained one stays.
		Consistently(func(g Gomega) {
			after := &corev1.Namespace{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, after)).To(Succeed())
			g.Expect(after.UID).To(Equal(before.UID))
			g.Expect(after.DeletionTimestamp).To(BeNil())
			g.Expect(after.Annotations).To(HaveKey(silov1.RetainedAnnotation))
		}, 5*time.Second, 500*time.Millisecond).Should(Succeed())
	})

	It("with deletionPolicy Retain, keep their volumes (Bound) and credential Secrets, and scale the app to zero", Label("workloads"), func() {
		t := newTenant("keepdata")
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi"))}
		create(t)
		waitReady(t)
		pvcs, secrets := dataOf(Default, t)
		Expect(pvcs).To(HaveKey(storagePVC))
		Expect(secrets).NotTo(BeEmpty(), "a tenant with a database has credentials")

		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})
		}).Should(Satisfy(apierrors.IsNotFound))
		Consistently(func(g Gomega) {
			afterPVCs, afterSecrets := dataOf(g, t)
			g.Expect(afterPVCs).To(Equal(pvcs), "volumes (name -> UID) changed")
			g.Expect(afterSecrets).To(Equal(secrets), "credential Secrets (name -> UID) changed")
		}, 5*time.Second, 500*time.Millisecond).Should(Succeed())
		list := &corev1.PersistentVolumeClaimList{}
		Expect(k8s.List(ctx, list, client.InNamespace(ns(t)))).To(Succeed())
		for _, pvc := range list.Items {
			Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound), pvc.Name)
		}
		Eventually(func(g Gomega) {
			g.Expect(appPodsNow(g, t)).To(BeEmpty())
		}).Should(Succeed(), "the app was not scaled to zero")
	})

	It("survive helm uninstall with their namespace and data, and a reinstall picks them up again", func() {
		t := newTenant("uninstall")
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		create(t)
		waitReady(t)
		before := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, before)).To(Succeed())
		pvcs, secrets := dataOf(Default, t)

		_, err := run("hack/local-operator.sh", "stop")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			// Put the operator back for the specs that follow, whatever happened.
			installChart()
			startOperator()
		})
		_, err = helm("uninstall", release, "-n", operatorNamespace, "--wait", "--timeout", "2m")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: serviceAccount}, &corev1.ServiceAccount{})
		}).Should(Satisfy(apierrors.IsNotFound), "helm uninstall left the ServiceAccount")

		Consistently(func(g Gomega) {
			// helm never deletes crds/, so the Tenant stays, and everything it made.
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})).To(Succeed())
			after := &corev1.Namespace{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, after)).To(Succeed())
			g.Expect(after.UID).To(Equal(before.UID))
			g.Expect(after.DeletionTimestamp).To(BeNil())
			afterPVCs, afterSecrets := dataOf(g, t)
			g.Expect(afterPVCs).To(Equal(pvcs))
			g.Expect(afterSecrets).To(Equal(secrets))
		}, 5*time.Second, 500*time.Millisecond).Should(Succeed())

		installChart()
		startOperator()
		// A spec change after the reinstall is reconciled by the new operator.
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		patched := t.DeepCopy()
		patched.Spec.DisplayName = "after reinstall"
		Expect(k8s.Patch(ctx, patched, client.MergeFrom(t))).To(Succeed())
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, silov1.ReadyCondition)).To(BeTrue())
		}).Should(Succeed())
		after := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, after)).To(Succeed())
		Expect(after.UID).To(Equal(before.UID))
	})
})

// newTenant returns a minimal Tenant named e2e-<what>-<run id>.
func newTenant(what string) *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e2e-%s-%s", what, runID)},
		Spec: silov1.TenantSpec{
			App: silov1.AppSpec{Image: "registry.example.com/shop/app:1.4.2"},
		},
	}
}

// create creates t and removes it, and its namespace, when the spec ends.
func create(t *silov1.Tenant) {
	Expect(k8s.Create(ctx, t)).To(Succeed())
	DeferCleanup(func() {
		cur := &silov1.Tenant{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(t), cur); err == nil {
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, cur))).To(Succeed())
			Eventually(func() error {
				return k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})
			}).Should(Satisfy(apierrors.IsNotFound))
		}
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns(t)}}
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, namespace))).To(Succeed())
	})
}

// waitReady waits until the operator reports t Ready for its current spec.
func waitReady(t *silov1.Tenant) {
	Eventually(func(g Gomega) {
		got := &silov1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		ready := meta.FindStatusCondition(got.Status.Conditions, silov1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "%s: %s", ready.Reason, ready.Message)
	}).Should(Succeed(), "Tenant %s did not become Ready", t.Name)
}

func ns(t *silov1.Tenant) string { return "tenant-" + t.Name }

// appPods waits for n Running app pods of t and returns them.
func appPods(t *silov1.Tenant, n int) []corev1.Pod {
	var pods []corev1.Pod
	Eventually(func(g Gomega) {
		pods = appPodsNow(g, t)
		g.Expect(pods).To(HaveLen(n))
		for _, p := range pods {
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", p.Name)
		}
	}).Should(Succeed(), "the app Deployment of %s has no %d Running pods", t.Name, n)
	return pods
}

func appPodsNow(g Gomega, t *silov1.Tenant) []corev1.Pod {
	list := &corev1.PodList{}
	g.Expect(k8s.List(ctx, list, client.InNamespace(ns(t)),
		client.MatchingLabels{silov1.ComponentLabel: appDeployment})).To(Succeed())
	var live []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return live
}

func nodeOf(p corev1.Pod) *corev1.Node {
	node := &corev1.Node{}
	Expect(k8s.Get(ctx, types.NamespacedName{Name: p.Spec.NodeName}, node)).To(Succeed())
	return node
}

// dataOf returns the UIDs, by name, of the PVCs and of the Secrets Silo made in the
// tenant's namespace.
func dataOf(g Gomega, t *silov1.Tenant) (pvcs, secrets map[string]types.UID) {
	pvcs, secrets = map[string]types.UID{}, map[string]types.UID{}
	pl := &corev1.PersistentVolumeClaimList{}
	g.Expect(k8s.List(ctx, pl, client.InNamespace(ns(t)))).To(Succeed())
	for _, p := range pl.Items {
		pvcs[p.Name] = p.UID
	}
	sl := &corev1.SecretList{}
	g.Expect(k8s.List(ctx, sl, client.InNamespace(ns(t)), client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue})).To(Succeed())
	for _, s := range sl.Items {
		secrets[s.Name] = s.UID
	}
	return pvcs, secrets
}
