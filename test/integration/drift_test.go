package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// reconcileCount is how many times the tenant controller has finished a reconcile.
func reconcileCount() float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "controller") == "tenant" {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// childVersions returns the resourceVersion of the namespace and of every child Silo
// manages in it, by kind and name.
func childVersions(t *silov1.Tenant) map[string]string {
	ns := controllers.NamespaceFor(t)
	out := map[string]string{}
	n := &corev1.Namespace{}
	Expect(get(n, "", ns)).To(Succeed())
	out["Namespace/"+ns] = n.ResourceVersion
	lists := map[string]client.ObjectList{
		"ServiceAccount": &corev1.ServiceAccountList{}, "ResourceQuota": &corev1.ResourceQuotaList{},
		"LimitRange": &corev1.LimitRangeList{}, "NetworkPolicy": &networkingv1.NetworkPolicyList{},
		"Role": &rbacv1.RoleList{}, "RoleBinding": &rbacv1.RoleBindingList{},
	}
	for kind, list := range lists {
		Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue})).To(Succeed())
		items, err := metaItems(list)
		Expect(err).NotTo(HaveOccurred())
		for _, o := range items {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	return out
}

var _ = Describe("Drift repair and idempotence", func() {
	var (
		t  *silov1.Tenant
		ns string
	)
	BeforeEach(func() {
		t = newTenant(uniqueName("drift"))
		t.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: "drift-admins"}}
		t = createTenant(t)
		ns = controllers.NamespaceFor(t)
	})

	It("puts back a deleted NetworkPolicy through its watch", func() {
		np := &networkingv1.NetworkPolicy{}
		Expect(get(np, ns, controllers.NetpolDefaultDeny)).To(Succeed())
		oldUID := np.UID
		Expect(k8s.Delete(ctx, np)).To(Succeed())
		Eventually(func(g Gomega) {
			back := &networkingv1.NetworkPolicy{}
			g.Expect(get(back, ns, controllers.NetpolDefaultDeny)).To(Succeed())
			g.Expect(back.UID).NotTo(Equal(oldUID))
		}).Should(Succeed())
	})

	It("restores an edited ResourceQuota", func() {
		q := &corev1.ResourceQuota{}
		Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
		q.Spec.Hard[corev1.ResourceServicesNodePorts] = resource.MustParse("5")
		Expect(k8s.Update(ctx, q)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
			v := q.Spec.Hard[corev1.ResourceServicesNodePorts]
			g.Expect(v.IsZero()).To(BeTrue(), "services.nodeports is %s", v.String())
		}).Should(Succeed())
	})

	It("restores a namespace whose Pod Security label was loosened", func() {
		n := &corev1.Namespace{}
		Expect(get(n, "", ns)).To(Succeed())
		n.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
		Expect(k8s.Update(ctx, n)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(get(n, "", ns)).To(Succeed())
			g.Expect(n.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		}).Should(Succeed())
	})

	It("removes a stale owner binding when the Tenant's owners are removed", func() {
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Owners = nil })
		Eventually(func() bool {
			return isNotFound(get(&rbacv1.RoleBinding{}, ns, controllers.OwnerRoleBindingName))
		}).Should(BeTrue())
	})

	It("sends no write request and changes no resourceVersion when an unchanged Tenant is reconciled again", func() {
		t = waitSettled(t.Name)
		before := childVersions(t)
		count := reconcileCount()
		// Only this Tenant's writes: another spec's Tenant may still be retrying a
		// refused child with backoff while this one runs.
		writes := tenantWrites(t)
		poke(t, "1")
		pokedRV := t.ResourceVersion
		Eventually(reconcileCount).Should(BeNumerically(">", count))
		Expect(childVersions(t)).To(Equal(before))
		Expect(tenantWrites(t)).To(Equal(writes), "the operator sent write requests for an unchanged Tenant: %v", mgr.Requests.Snapshot())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		Expect(t.ResourceVersion).To(Equal(pokedRV), "the status was written again")
	})

	It("records the reconciled generation and a Ready condition with a reason", func() {
		Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
		Expect(t.Status.Phase).NotTo(BeEmpty())
		for _, typ := range []string{silov1.ReadyCondition, silov1.ProgressingCondition, silov1.DegradedCondition} {
			Expect(t.Status.Conditions).To(ContainElement(HaveField("Type", typ)))
		}
		Expect(t.Status.Conditions).To(ContainElement(And(
			HaveField("Type", silov1.DegradedCondition), HaveField("Status", metav1.ConditionFalse))))
	})
})
