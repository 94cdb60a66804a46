package integration

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

var _ = Describe("Tenant deletion", func() {
	It("deletes the namespace when deletionPolicy is Delete", func() {
		t := newTenant(uniqueName("del"))
		t.Spec.DeletionPolicy = silov1.DeletionPolicyDelete
		t = createTenant(t)
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)) }).Should(BeTrue())
		// envtest runs no namespace controller: the namespace stays Terminating.
		n := &corev1.Namespace{}
		Expect(get(n, "", controllers.NamespaceFor(t))).To(Succeed())
		Expect(n.DeletionTimestamp).NotTo(BeNil(), "the namespace was not deleted")
	})

	It("keeps the namespace when deletionPolicy is unset (Retain), and a new Tenant of the same name adopts it", func() {
		name := uniqueName("keep")
		t := newTenant(name)
		t.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: "carol"}}
		t = createTenant(t)
		Expect(t.Spec.DeletionPolicy).To(BeEmpty(), "unset means Retain")
		ns := controllers.NamespaceFor(t)
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, &silov1.Tenant{})) }).Should(BeTrue())

		n := &corev1.Namespace{}
		Expect(get(n, "", ns)).To(Succeed())
		Expect(n.DeletionTimestamp).To(BeNil(), "a retained namespace must not be deleted")
		Expect(n.Annotations).To(HaveKey(silov1.RetainedAnnotation))
		Expect(n.OwnerReferences).To(BeEmpty(), "garbage collection would delete a namespace still owned by the gone Tenant")
		q := &corev1.ResourceQuota{}
		Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
		Expect(q.OwnerReferences).To(BeEmpty())
		Expect(isNotFound(get(&rbacv1.RoleBinding{}, ns, controllers.OwnerRoleBindingName))).To(BeTrue(),
			"the owners of a deleted Tenant keep access to its namespace")

		again := createTenant(newTenant(name))
		Eventually(func(g Gomega) {
			g.Expect(get(n, "", ns)).To(Succeed())
			g.Expect(n.Annotations).NotTo(HaveKey(silov1.RetainedAnnotation))
			g.Expect(metav1.GetControllerOf(n)).NotTo(BeNil())
			g.Expect(metav1.GetControllerOf(n).UID).To(Equal(again.UID))
			g.Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
			g.Expect(metav1.GetControllerOf(q)).NotTo(BeNil())
			g.Expect(metav1.GetControllerOf(q).UID).To(Equal(again.UID))
		}).Should(Succeed())
	})

	It("refuses to take over a namespace that belongs to something else, and says so", func() {
		name := uniqueName("taken")
		t := squatTenant(name)
		Expect(t.Status.Phase).To(Equal(silov1.PhaseDegraded))
		n := &corev1.Namespace{}
		Expect(get(n, "", controllers.NamespacePrefix+name)).To(Succeed())
		Expect(n.Labels).NotTo(HaveKey(silov1.TenantLabel), "Silo took over a namespace that was not its own")
		// Deleting the Tenant must leave the foreign namespace alone.
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, t)) }).Should(BeTrue())
		Expect(get(n, "", controllers.NamespacePrefix+name)).To(Succeed())
		Expect(n.DeletionTimestamp).To(BeNil())
	})
})

// squatTenant creates a namespace of a Tenant's name that is not the Tenant's, then
// the Tenant, and returns it once it says so: Degraded, NamespaceConflict.
func squatTenant(name string) *silov1.Tenant {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllers.NamespacePrefix + name}})).To(Succeed())
	Expect(k8s.Create(ctx, newTenant(name))).To(Succeed())
	t := &silov1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		c := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(silov1.NamespaceConflictReason))
		g.Expect(c.Message).To(ContainSubstring("does not belong to this Tenant"))
	}).Should(Succeed())
	return t
}

var _ = Describe("kubectl get tenants", func() {
	It("shows the Namespace, Phase, Ready, Components and Age columns, and Region and Class at -o wide", func() {
		t := newTenant(uniqueName("table"))
		t.Spec.Placement.Region = "eu-west-1"
		createTenant(t)
		cs, err := kubernetes.NewForConfig(env.Config)
		Expect(err).NotTo(HaveOccurred())
		raw, err := cs.RESTClient().Get().AbsPath("/apis/silo.dev/v1alpha1/tenants").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		table := &metav1.Table{}
		Expect(json.Unmarshal(raw, table)).To(Succeed())
		var names []string
		wide := map[string]bool{}
		for _, c := range table.ColumnDefinitions {
			names = append(names, c.Name)
			wide[c.Name] = c.Priority > 0
		}
		Expect(names).To(Equal([]string{"Name", "Namespace", "Phase", "Ready", "Components", "Age", "Region", "Class"}))
		Expect(wide["Region"]).To(BeTrue(), "Region shows only with -o wide")
		Expect(wide["Class"]).To(BeTrue(), "Class shows only with -o wide")
		Expect(wide["Phase"]).To(BeFalse())
		var row []any
		for _, r := range table.Rows {
			if r.Cells[0] == t.Name {
				row = r.Cells
			}
		}
		Expect(row).NotTo(BeNil())
		Expect(row[1]).To(Equal(controllers.NamespaceFor(t)))
		Expect(row[6]).To(Equal("eu-west-1"))
	})
})
