package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// tenantEvents returns "type reason" of every events.k8s.io event about the Tenant,
// oldest first.
func tenantEvents(g Gomega, t *silov1.Tenant) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8s.List(ctx, list)).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.UID == t.UID {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}

// eventNote returns the note of the Tenant's event with reason.
func eventNote(g Gomega, t *silov1.Tenant, reason string) string {
	list := &eventsv1.EventList{}
	g.Expect(k8s.List(ctx, list)).To(Succeed())
	for _, e := range list.Items {
		if e.Regarding.UID == t.UID && e.Reason == reason {
			return e.Note
		}
	}
	return ""
}

var _ = Describe("A Tenant's events", func() {
	It("tell its story: the children created in one event, Ready, a drift repaired, suspend and resume", func() {
		t := createTenant(newTenant(uniqueName("story")))
		ns := controllers.NamespaceFor(t)
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(Equal([]string{"Normal Created"}))
			g.Expect(eventNote(g, t, "Created")).To(MatchRegexp(`^created \d+ children: Namespace, ServiceAccount \(2\), ResourceQuota, LimitRange, NetworkPolicy \(5\)`))
		}).Should(Succeed())

		t = waitSettled(t.Name)
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(Equal([]string{"Normal Created", "Normal Ready"}))
		}).Should(Succeed())

		By("deleting a child")
		svc := &corev1.Service{}
		Expect(get(svc, ns, controllers.AppName)).To(Succeed())
		Expect(k8s.Delete(ctx, svc)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(ContainElement("Normal DriftRepaired"))
			g.Expect(eventNote(g, t, "DriftRepaired")).To(ContainSubstring("created Service " + controllers.AppName))
		}).Should(Succeed())

		By("suspending and resuming")
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(ContainElement("Normal Suspended"), "suspending is not a warning")
		}).Should(Succeed())
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Suspend = false })
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(ContainElement("Normal Resumed"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).NotTo(ContainElement(HavePrefix("Warning")))
		}, "1s").Should(Succeed())
	})

	It("tell when a class's rollout reaches the Tenant", func() {
		f := newFleet("story-rollout", 1, nil)
		t := &silov1.Tenant{}
		Expect(get(t, "", f.tenants[0])).To(Succeed())
		from := t.Status.ClassRevision
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(ContainElement("Normal RolloutReached"))
			g.Expect(eventNote(g, t, "RolloutReached")).To(And(
				HavePrefix("class "+f.class+" rolled out to this Tenant: revision "),
				ContainSubstring("(was "+from+")"),
				ContainSubstring("updated Deployment "+controllers.AppName)))
		}).Should(Succeed())
	})

	It("warn of a conflict on a new Tenant, once", func() {
		name := uniqueName("story-conflict")
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllers.NamespacePrefix + name}})).To(Succeed())
		t := newTenant(name)
		Expect(k8s.Create(ctx, t)).To(Succeed())
		DeferCleanup(func() { Expect(k8s.Delete(ctx, t)).To(Succeed()) })
		Eventually(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(Equal([]string{"Warning " + silov1.NamespaceConflictReason}))
			g.Expect(eventNote(g, t, silov1.NamespaceConflictReason)).To(ContainSubstring("does not belong to this Tenant"))
		}).Should(Succeed())
		poke(t, "again")
		Consistently(func(g Gomega) {
			g.Expect(tenantEvents(g, t)).To(HaveLen(1))
		}, "1s").Should(Succeed())
	})
})
