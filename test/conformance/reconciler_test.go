package conformance

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// Attacks through the operator itself: a tenant admin (or a Tenant's spec) making the
// operator do something on its behalf that it must not, or stop doing its work.
var _ = Describe("Attacks through the operator", func() {
	check("SILO-DEPUTY-1", "confused deputy through external Secrets: a Tenant uses only a Secret of the operator's namespace labelled for it; another Secret's keys are never copied where its owners read them", func() {
		ensureOperatorNamespace()
		victim := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "conformance-victim-db", Namespace: opConfig.OperatorNamespace},
			StringData: map[string]string{"DATABASE_URL": "postgres://victim:s3cret@db.example.com/victim"},
		}
		Expect(admin.Create(ctx, victim)).To(Succeed())
		DeferCleanup(func() { _ = admin.Delete(ctx, victim) })

		t := newTenant("conformance-deputy", "owner-deputy@conformance.example")
		t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: victim.Name}}
		Expect(admin.Create(ctx, t)).To(Succeed())
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-deputy@conformance.example")
		Expect(err).NotTo(HaveOccurred())

		label := "kubectl label secret -n " + opConfig.OperatorNamespace + " " + victim.Name + " " + silov1.TenantLabel + "=" + t.Name
		expectDegraded(t.Name, silov1.ExternalSecretNotLabelledReason, label)
		expectNoSettingsKey(owner, ns, "DATABASE_URL")

		// Labelled for another Tenant: still not this one's.
		setSecretLabel(victim, "conformance-b")
		expectDegraded(t.Name, silov1.ExternalSecretNotLabelledReason, label)
		expectNoSettingsKey(owner, ns, "DATABASE_URL")

		// Positive control: labelled for this Tenant, as the message says, it is used.
		setSecretLabel(victim, t.Name)
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(owner.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.SettingsSecretName}, s)).To(Succeed())
			g.Expect(s.Data).To(HaveKeyWithValue("DATABASE_URL", []byte("postgres://victim:s3cret@db.example.com/victim")))
			got := &silov1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(meta.IsStatusConditionFalse(got.Status.Conditions, silov1.DegradedCondition)).To(BeTrue(), "%v", got.Status.Conditions)
		}).Should(Succeed())
	})

	check("SILO-FREEZE-1", "freezing a Tenant by planting objects: an owner's Secret or PodDisruptionBudget at a name Silo is about to manage is never adopted, blocks no other change, and the Tenant names it", func() {
		t := createTenant(newTenant("conformance-freeze", "owner-freeze@conformance.example"))
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-freeze@conformance.example")
		Expect(err).NotTo(HaveOccurred())

		// Before the platform enables the cache and a second replica, the owner plants
		// the objects Silo will want at those names.
		plantedSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cache-credentials", Namespace: ns}}
		Expect(owner.Create(ctx, plantedSecret)).To(Succeed())
		plantedPDB := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: controllers.AppName, Namespace: ns},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: ptr.To(intstr.FromInt32(5)),
				Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"planted": "yes"}},
			},
		}
		Expect(owner.Create(ctx, plantedPDB)).To(Succeed())

		// The platform enables them and, in the same change, tightens a fence.
		updateTenantSpec(t.Name, func(t *silov1.Tenant) {
			t.Spec.Cache = &silov1.CacheSpec{}
			t.Spec.App.Replicas = ptr.To(int32(2))
			t.Spec.Quota.CPU = ptr.To(resource.MustParse("3"))
		})
		Eventually(func(g Gomega) {
			q := &corev1.ResourceQuota{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.QuotaName}, q)).To(Succeed())
			g.Expect(q.Spec.Hard.Name(corev1.ResourceLimitsCPU, resource.DecimalSI).String()).To(Equal("3"),
				"the smaller quota never reached the cluster")
		}).Should(Succeed())
		expectDegraded(t.Name, silov1.ChildConflictReason, "Secret cache-credentials", "PodDisruptionBudget app")

		// Neither planted object was adopted or changed.
		s := &corev1.Secret{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(plantedSecret), s)).To(Succeed())
		Expect(s.Labels).NotTo(HaveKey(silov1.ManagedByLabel))
		Expect(s.Data).To(BeEmpty())
		pdb := &policyv1.PodDisruptionBudget{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(plantedPDB), pdb)).To(Succeed())
		Expect(pdb.Labels).NotTo(HaveKey(silov1.ManagedByLabel))
		Expect(pdb.Spec.MinAvailable).To(Equal(ptr.To(intstr.FromInt32(5))))
		Expect(metav1.GetControllerOf(pdb)).To(BeNil())

		// Positive control: once the owner removes them, Silo creates its own and the
		// Tenant is no longer degraded.
		Expect(owner.Delete(ctx, plantedSecret)).To(Succeed())
		Expect(owner.Delete(ctx, plantedPDB)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(meta.IsStatusConditionFalse(got.Status.Conditions, silov1.DegradedCondition)).To(BeTrue(), "%v", got.Status.Conditions)
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(plantedSecret), s)).To(Succeed())
			g.Expect(s.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
			g.Expect(s.Data).To(HaveKey("password"))
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(plantedPDB), pdb)).To(Succeed())
			g.Expect(pdb.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
		}).Should(Succeed())
	})

	check("SILO-NET-3", "an ingress host the platform took away from a Tenant can no longer be published by its owners", func() {
		const host = "revoked.shop.example.com"
		t := newTenant("conformance-revoked", "owner-revoked@conformance.example")
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: host}
		t = createTenant(t)
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-revoked@conformance.example")
		Expect(err).NotTo(HaveOccurred())
		// Positive control: while the Tenant has the host, its owners may publish it.
		Expect(owner.Create(ctx, ingress(ns, "own", host))).To(Succeed())

		updateTenantSpec(t.Name, func(t *silov1.Tenant) { t.Spec.App.Ingress = nil })
		Eventually(func() error {
			return owner.Create(ctx, ingress(ns, "again", host), client.DryRunAll)
		}).Should(MatchError(ContainSubstring("claims a host, but this tenant has none")))
	})
})

// ensureOperatorNamespace creates the operator's namespace, where external service
// Secrets live, unless it exists.
func ensureOperatorNamespace() {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opConfig.OperatorNamespace}}
	if err := admin.Create(ctx, ns); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating namespace %s: %v", ns.Name, err)
	}
}

// setSecretLabel labels a Secret for a Tenant, as the platform would.
func setSecretLabel(s *corev1.Secret, tenant string) {
	GinkgoHelper()
	patch := []byte(`{"metadata":{"labels":{"` + silov1.TenantLabel + `":"` + tenant + `"}}}`)
	Expect(admin.Patch(ctx, s, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// expectDegraded waits until the Tenant is Degraded for reason, with a message
// containing each of says.
func expectDegraded(name, reason string, says ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		t := &silov1.Tenant{}
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		d := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.Status).To(Equal(metav1.ConditionTrue), "%v", t.Status.Conditions)
		g.Expect(d.Reason).To(Equal(reason))
		for _, s := range says {
			g.Expect(d.Message).To(ContainSubstring(s))
		}
	}).Should(Succeed())
}

// expectNoSettingsKey asserts, as the owner, that the tenant's connection settings do
// not hold key (or do not exist).
func expectNoSettingsKey(owner client.Client, ns, key string) {
	GinkgoHelper()
	s := &corev1.Secret{}
	err := owner.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.SettingsSecretName}, s)
	if apierrors.IsNotFound(err) {
		return
	}
	Expect(err).NotTo(HaveOccurred())
	Expect(s.Data).NotTo(HaveKey(key), "the owner reads a key of a Secret that is not its Tenant's")
}

// updateTenantSpec changes a Tenant's spec as the platform admin, retrying when the
// operator wrote its status in between.
func updateTenantSpec(name string, mutate func(*silov1.Tenant)) {
	GinkgoHelper()
	Eventually(func() error {
		t := &silov1.Tenant{}
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
			return err
		}
		mutate(t)
		return admin.Update(ctx, t)
	}).Should(Succeed())
}
