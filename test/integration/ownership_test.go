package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// otherManager is the field manager of another controller editing Silo's children.
var otherManager = client.FieldOwner("other-controller")

var _ = Describe("Apply and ownership", func() {
	It("drops the namespace keys of settings the Tenant no longer has: the ingress host, then the node pool", func() {
		t := newTenant(uniqueName("keys"))
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: t.Name + ".shop.example.com"}
		t.Spec.Isolation.NodePool = "pool-keys"
		t = createTenant(t)
		ns := &corev1.Namespace{}
		Expect(get(ns, "", controllers.NamespaceFor(t))).To(Succeed())
		Expect(ns.Annotations).To(HaveKeyWithValue(silov1.IngressHostAnnotation, t.Name+".shop.example.com"))
		Expect(ns.Labels).To(HaveKeyWithValue(silov1.NamespaceNodePoolLabel, "pool-keys"))

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Ingress = nil })
		Eventually(func(g Gomega) {
			g.Expect(get(ns, "", controllers.NamespaceFor(t))).To(Succeed())
			g.Expect(ns.Annotations).NotTo(HaveKey(silov1.IngressHostAnnotation),
				"the tenant keeps the right to publish a host the platform took away")
		}).Should(Succeed())

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Isolation.NodePool = "" })
		Eventually(func(g Gomega) {
			g.Expect(get(ns, "", controllers.NamespaceFor(t))).To(Succeed())
			g.Expect(ns.Labels).NotTo(HaveKey(silov1.NamespaceNodePoolLabel))
		}).Should(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(silov1.TenantLabel, t.Name), "a key Silo still sends went too")
	})

	It("drops them too from a namespace an earlier version created, whose keys an Update entry of the same manager owns", func() {
		name := uniqueName("legacy")
		host := name + ".shop.example.com"
		// What the earlier version's plain create left: every key owned by the field
		// manager silo with operation Update.
		legacy := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: controllers.NamespacePrefix + name,
			Labels: map[string]string{
				silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: name,
				silov1.NamespaceNodePoolLabel: "pool-legacy",
			},
			Annotations: map[string]string{silov1.IngressHostAnnotation: host},
		}}
		Expect(k8s.Create(ctx, legacy, client.FieldOwner(controllers.FieldOwner))).To(Succeed())
		t := newTenant(name)
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: host}
		t.Spec.Isolation.NodePool = "pool-legacy"
		t = createTenant(t)

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Ingress, t.Spec.Isolation.NodePool = nil, "" })
		ns := &corev1.Namespace{}
		Eventually(func(g Gomega) {
			g.Expect(get(ns, "", legacy.Name)).To(Succeed())
			g.Expect(ns.Annotations).NotTo(HaveKey(silov1.IngressHostAnnotation))
			g.Expect(ns.Labels).NotTo(HaveKey(silov1.NamespaceNodePoolLabel))
		}).Should(Succeed())
		for _, e := range ns.ManagedFields {
			Expect(e.Manager == controllers.FieldOwner && e.Operation == metav1.ManagedFieldsOperationUpdate).To(BeFalse(),
				"the Update entry of %s was not migrated to its Apply entry: %+v", controllers.FieldOwner, ns.ManagedFields)
		}
	})
})

var _ = Describe("Drift in a field Silo sets, whatever its value", func() {
	var (
		t  *silov1.Tenant
		ns string
	)
	BeforeEach(func() {
		t = createTenant(newTenant(uniqueName("empty")))
		ns = controllers.NamespaceFor(t)
	})

	// repairsPeer edits the same-namespace policy's peer {podSelector: {}} and waits
	// for Silo to put it back.
	repairsPeer := func(edit func(peer *networkingv1.NetworkPolicyPeer)) {
		np := &networkingv1.NetworkPolicy{}
		Expect(get(np, ns, controllers.NetpolAllowNamespace)).To(Succeed())
		Expect(np.Spec.Ingress[0].From[0].PodSelector).NotTo(BeNil())
		edit(&np.Spec.Ingress[0].From[0])
		Expect(k8s.Update(ctx, np)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(get(np, ns, controllers.NetpolAllowNamespace)).To(Succeed())
			peer := np.Spec.Ingress[0].From[0]
			g.Expect(peer.NamespaceSelector).To(BeNil(), "the policy still admits every namespace")
			g.Expect(peer.PodSelector).NotTo(BeNil())
		}).Should(Succeed())
	}

	It("repairs a peer {podSelector: {}} edited to {namespaceSelector: {}}, which admits every namespace", func() {
		repairsPeer(func(peer *networkingv1.NetworkPolicyPeer) {
			*peer = networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}
		})
	})

	It("repairs a peer {podSelector: {}} widened with namespaceSelector: {} beside it, which admits every pod of every namespace", func() {
		repairsPeer(func(peer *networkingv1.NetworkPolicyPeer) {
			peer.NamespaceSelector = &metav1.LabelSelector{}
		})
	})

	It("repairs a default deny whose podSelector {} was narrowed to some pods", func() {
		np := &networkingv1.NetworkPolicy{}
		Expect(get(np, ns, controllers.NetpolDefaultDeny)).To(Succeed())
		np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"fenced": "yes"}}
		Expect(k8s.Update(ctx, np)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(get(np, ns, controllers.NetpolDefaultDeny)).To(Succeed())
			g.Expect(np.Spec.PodSelector.MatchLabels).To(BeEmpty(), "the default deny covers only some pods")
		}).Should(Succeed())
	})
})

var _ = Describe("No write when nothing changed, beside other managers", func() {
	// settledTenant returns a settled Tenant whose app has two env entries.
	settledTenant := func(prefix string, mutate func(*silov1.Tenant)) *silov1.Tenant {
		t := newTenant(uniqueName(prefix))
		t.Spec.App.Env = []corev1.EnvVar{{Name: "ALPHA", Value: "1"}, {Name: "BETA", Value: "2"}}
		if mutate != nil {
			mutate(t)
		}
		createTenant(t)
		return settledReady(t.Name)
	}

	DescribeTable("another field manager edits the app Deployment; Silo neither undoes it nor writes again",
		func(edit func(d *appsv1.Deployment), kept func(g Gomega, d *appsv1.Deployment)) {
			t := settledTenant("beside", nil)
			ns := controllers.NamespaceFor(t)
			d := &appsv1.Deployment{}
			Expect(get(d, ns, controllers.AppName)).To(Succeed())
			before := d.DeepCopy()
			edit(d)
			Expect(k8s.Patch(ctx, d, client.MergeFrom(before), otherManager)).To(Succeed())
			edited := d.Generation
			// The edit may start a rollout: play the Deployment controller first.
			t = settledReady(t.Name)
			writes := tenantWrites(t)

			reconcileAgain(t, 3)
			Expect(get(d, ns, controllers.AppName)).To(Succeed())
			Expect(d.Generation).To(Equal(edited), "Silo changed the Deployment back")
			kept(Default, d)
			Expect(tenantWrites(t)).To(Equal(writes), "Silo sent write requests: %v", mgr.Requests.Snapshot())
		},
		Entry("an annotation", func(d *appsv1.Deployment) {
			metav1.SetMetaDataAnnotation(&d.ObjectMeta, "example.com/checked", "yes")
		}, func(g Gomega, d *appsv1.Deployment) {
			g.Expect(d.Annotations).To(HaveKeyWithValue("example.com/checked", "yes"))
		}),
		Entry("a toleration (the Tenant sets none)", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Tolerations = append(d.Spec.Template.Spec.Tolerations,
				corev1.Toleration{Key: "example.com/spot", Operator: corev1.TolerationOpExists})
		}, func(g Gomega, d *appsv1.Deployment) {
			g.Expect(d.Spec.Template.Spec.Tolerations).To(ContainElement(HaveField("Key", "example.com/spot")))
		}),
		Entry("an env entry", func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "INJECTED", Value: "by another controller"})
		}, func(g Gomega, d *appsv1.Deployment) {
			g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(HaveField("Name", "INJECTED")))
		}),
		Entry("the env entries in another order", func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Env[0], c.Env[1] = c.Env[1], c.Env[0]
		}, func(g Gomega, d *appsv1.Deployment) {
			g.Expect(d.Spec.Template.Spec.Containers[0].Env[0].Name).To(Equal("BETA"))
		}),
	)

	It("writes once, not on every reconcile, when a mutating admission policy adds a toleration to what Silo applies", func() {
		t := settledTenant("mutated", func(t *silov1.Tenant) { t.Spec.Isolation.NodePool = "pool-mutated" })
		ns := controllers.NamespaceFor(t)
		injectToleration(ns)
		// A spec change makes Silo apply the Deployment; admission adds the toleration.
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Env[0].Value = "changed" })
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(get(d, ns, controllers.AppName)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Env[0].Value).To(Equal("changed"))
			g.Expect(d.Spec.Template.Spec.Tolerations).To(ContainElement(HaveField("Key", "example.com/injected")))
		}).Should(Succeed())
		t = settledReady(t.Name)
		writes := tenantWrites(t)
		reconcileAgain(t, 3)
		Expect(tenantWrites(t)).To(Equal(writes), "Silo writes on every reconcile: %v", mgr.Requests.Snapshot())
	})

	It("after a restart, sends no write for children other managers added to", func() {
		t := settledTenant("restart", nil)
		ns := controllers.NamespaceFor(t)
		d := &appsv1.Deployment{}
		Expect(get(d, ns, controllers.AppName)).To(Succeed())
		before := d.DeepCopy()
		c := &d.Spec.Template.Spec.Containers[0]
		c.Env = append(c.Env, corev1.EnvVar{Name: "INJECTED", Value: "yes"})
		Expect(k8s.Patch(ctx, d, client.MergeFrom(before), otherManager)).To(Succeed())
		// Ready too, so the stopped operator leaves no status write for the new one.
		t = settledReady(t.Name)

		restartOperator(nil)
		writes := tenantWrites(t)
		reconcileAgain(t, 2)
		Expect(tenantWrites(t)).To(Equal(writes), "the restarted operator wrote: %v", mgr.Requests.Snapshot())
	})
})

var _ = Describe("One child that cannot be written", func() {
	It("blocks neither the fences nor the pruning of children no longer wanted", func() {
		t := newTenant(uniqueName("onefails"))
		t.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: "onefails-admins"}}
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: t.Name + ".shop.example.com"}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		refuseInNamespace("test-refuse-ingress", "networking.k8s.io", "ingresses", ns, func() error {
			ing := &networkingv1.Ingress{}
			if err := get(ing, ns, controllers.AppName); err != nil {
				return err
			}
			return k8s.Update(ctx, ing, client.DryRunAll)
		})

		updateTenant(t.Name, func(t *silov1.Tenant) {
			t.Spec.App.Ingress.Host = "moved." + t.Spec.App.Ingress.Host
			t.Spec.Owners = nil
			t.Spec.Quota.CPU = ptr.To(resource.MustParse("3"))
		})
		Eventually(func(g Gomega) {
			g.Expect(isNotFound(get(&rbacv1.RoleBinding{}, ns, controllers.OwnerRoleBindingName))).To(BeTrue(),
				"the removed owners keep their binding")
			q := &corev1.ResourceQuota{}
			g.Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
			g.Expect(q.Spec.Hard.Name(corev1.ResourceLimitsCPU, resource.DecimalSI).String()).To(Equal("3"))
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			d := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Message).To(ContainSubstring("Ingress"))
			g.Expect(d.Message).To(ContainSubstring("refused by the test policy"))
		}).Should(Succeed())
		ing := &networkingv1.Ingress{}
		Expect(get(ing, ns, controllers.AppName)).To(Succeed(), "the child that failed was pruned")
	})
})

// injectToleration installs, for the rest of the spec, a MutatingAdmissionPolicy that
// adds a toleration to every Deployment written in namespace ns, as a mutating
// webhook would, and waits until the API server applies it.
func injectToleration(ns string) {
	GinkgoHelper()
	name := "test-inject-" + ns
	policy := &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr.To(admissionv1.Fail),
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				},
			}}},
			MatchConditions: []admissionv1.MatchCondition{{
				Name:       "in-namespace",
				Expression: `object.metadata.namespace == "` + ns + `"`,
			}},
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeJSONPatch,
				JSONPatch: &admissionv1.JSONPatch{Expression: `
					object.spec.template.spec.?tolerations.orValue([]).exists(t, t.key == "example.com/injected") ? [] :
					[JSONPatch{op: "add", path: "/spec/template/spec/tolerations/-",
					  value: Object.spec.template.spec.tolerations{key: "example.com/injected", operator: "Exists"}}]`},
			}},
		},
	}
	binding := &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name},
	}
	Expect(k8s.Create(ctx, policy)).To(Succeed())
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func() {
		_ = client.IgnoreNotFound(k8s.Delete(ctx, binding))
		_ = client.IgnoreNotFound(k8s.Delete(ctx, policy))
	})
	Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(get(d, ns, controllers.AppName)).To(Succeed())
		g.Expect(k8s.Update(ctx, d, client.DryRunAll)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Tolerations).To(ContainElement(HaveField("Key", "example.com/injected")))
	}).Should(Succeed())
}

// settledReady waits until the Tenant is settled and its Ready condition is True, so
// no status write is still due when a spec starts counting writes.
func settledReady(name string) *silov1.Tenant {
	GinkgoHelper()
	waitSettled(name)
	t := &silov1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		settleWorkloads(g, t)
		g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
		g.Expect(meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition)).To(BeTrue(), "not Ready: %v", t.Status.Conditions)
	}).Should(Succeed())
	return t
}
