package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

var _ = Describe("Honest status", func() {
	It("recovers by itself from a NamespaceConflict once the foreign namespace is gone", func() {
		name := uniqueName("squat")
		t := squatTenant(name)
		foreign := controllers.NamespaceFor(t)

		removeNamespace(foreign)
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			g.Expect(meta.IsStatusConditionFalse(t.Status.Conditions, silov1.DegradedCondition)).To(BeTrue(),
				"still degraded: %v", t.Status.Conditions)
			ns := &corev1.Namespace{}
			g.Expect(get(ns, "", foreign)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue(silov1.TenantLabel, name))
		}, "40s").Should(Succeed())
	})

	It("shows the Deleting phase while the deletion policy cannot finish, and lets the Tenant go once it can", func() {
		t := createTenant(newTenant(uniqueName("stuck")))
		ns := controllers.NamespaceFor(t)
		// Retain marks the namespace retained: refuse that, so the finalizer cannot finish.
		refuseInNamespace("test-refuse-namespace", "", "namespaces", ns, func() error {
			n := &corev1.Namespace{}
			if err := get(n, "", ns); err != nil {
				return err
			}
			return k8s.Update(ctx, n, client.DryRunAll)
		})
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(t.Status.Phase).To(Equal(silov1.PhaseDeleting))
			r := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(r.Reason).To(Equal(silov1.DeletingReason))
			g.Expect(r.Message).To(ContainSubstring("refused by the test policy"))
		}).Should(Succeed())

		liftPolicy("test-refuse-namespace")
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)) }).Should(BeTrue())
	})
})

// removeNamespace deletes a namespace and plays the namespace controller envtest
// lacks: with nothing in it, its finalizer is removed and it goes.
func removeNamespace(name string) {
	GinkgoHelper()
	ns := &corev1.Namespace{}
	Expect(get(ns, "", name)).To(Succeed())
	Expect(k8s.Delete(ctx, ns)).To(Succeed())
	cs, err := kubernetes.NewForConfig(env.Config)
	Expect(err).NotTo(HaveOccurred())
	Expect(get(ns, "", name)).To(Succeed())
	ns.Spec.Finalizers = nil
	_, err = cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Eventually(func() bool { return isNotFound(get(&corev1.Namespace{}, "", name)) }).Should(BeTrue())
}
