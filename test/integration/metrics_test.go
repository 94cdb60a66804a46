package integration

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// scrape reads the operator's metrics endpoint, as Prometheus does.
func scrape(g Gomega) map[string]*dto.MetricFamily {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return fams
}

// sample returns the value of the series of family name whose labels include want,
// and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// tenantSeries counts the series that name the Tenant.
func tenantSeries(fams map[string]*dto.MetricFamily, tenant string) int {
	n := 0
	for _, fam := range fams {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "tenant" && l.GetValue() == tenant {
					n++
				}
			}
		}
	}
	return n
}

var _ = Describe("The metrics endpoint", func() {
	It("exports a Tenant's phase, readiness, components, conditions and quota usage, its time to Ready, and drops its series when it goes", func() {
		var readyBefore float64
		Eventually(func(g Gomega) {
			readyBefore, _ = sample(scrape(g), "silo_tenant_time_to_ready_seconds", nil)
		}).Should(Succeed())

		t := newTenant(uniqueName("metrics"))
		t.Spec.Database = &silov1.DatabaseSpec{}
		t.Spec.Quota.CPU = ptr.To(resource.MustParse("8"))
		t.Spec.DeletionPolicy = silov1.DeletionPolicyDelete
		Expect(k8s.Create(ctx, t)).To(Succeed())
		waitSettled(t.Name)
		tenant := map[string]string{"tenant": t.Name}

		By("playing the quota controller: 7.5 of 8 cores requested")
		q := &corev1.ResourceQuota{}
		Expect(get(q, controllers.NamespaceFor(t), controllers.QuotaName)).To(Succeed())
		q.Status.Hard = q.Spec.Hard
		q.Status.Used = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("7500m")}
		Expect(k8s.Status().Update(ctx, q)).To(Succeed())

		Eventually(func(g Gomega) {
			fams := scrape(g)
			expect := func(name string, labels map[string]string, want float64) {
				all := map[string]string{"tenant": t.Name}
				for k, v := range labels {
					all[k] = v
				}
				v, ok := sample(fams, name, all)
				g.Expect(ok).To(BeTrue(), "no series %s%v", name, all)
				g.Expect(v).To(Equal(want), "%s%v", name, all)
			}
			expect("silo_tenant_info", map[string]string{"tenant_namespace": controllers.NamespaceFor(t), "class": "", "revision": ""}, 1)
			expect("silo_tenant_phase", map[string]string{"phase": "Ready"}, 1)
			expect("silo_tenant_phase", map[string]string{"phase": "Provisioning"}, 0)
			expect("silo_tenant_ready", nil, 1)
			expect("silo_tenant_components", nil, 2)
			expect("silo_tenant_components_ready", nil, 2)
			expect("silo_tenant_condition", map[string]string{"condition": "Ready", "status": "true", "reason": silov1.ReadyReason}, 1)
			expect("silo_tenant_condition", map[string]string{"condition": "Degraded", "status": "false", "reason": silov1.AsExpectedReason}, 1)
			expect("silo_tenant_suspended", nil, 0)
			expect("silo_tenant_spec_unobserved", nil, 0)
			expect("silo_tenant_quota_hard", map[string]string{"resource": "requests.cpu"}, 8)
			expect("silo_tenant_quota_used", map[string]string{"resource": "requests.cpu"}, 7.5)
			readyAfter, _ := sample(fams, "silo_tenant_time_to_ready_seconds", nil)
			g.Expect(readyAfter).To(BeNumerically(">", readyBefore), "the new Tenant's time to Ready was not observed")
		}).Should(Succeed())

		By("suspending it")
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			fams := scrape(g)
			v, _ := sample(fams, "silo_tenant_suspended", tenant)
			g.Expect(v).To(Equal(1.0))
			v, _ = sample(fams, "silo_tenant_phase", map[string]string{"tenant": t.Name, "phase": "Suspended"})
			g.Expect(v).To(Equal(1.0))
			_, stale := sample(fams, "silo_tenant_condition", map[string]string{"tenant": t.Name, "condition": "Ready", "reason": silov1.ReadyReason})
			g.Expect(stale).To(BeFalse(), "the old reason's series is still exported")
		}).Should(Succeed())

		By("deleting it")
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(tenantSeries(scrape(g), t.Name)).To(BeZero(), "the deleted Tenant's series are still exported")
		}).Should(Succeed())
	})

	It("exports each class's rollout and the class and revision of its Tenants", func() {
		f := newFleet("metrics-class", 1, nil)
		var revision string
		Eventually(func(g Gomega) {
			revision = f.status(g).Revision
			fams := scrape(g)
			class := map[string]string{"class": f.class}
			for name, want := range map[string]float64{
				"silo_class_tenants": 1, "silo_class_tenants_updated": 1, "silo_class_tenants_ready": 1,
				"silo_class_tenants_failed": 0, "silo_class_tenants_held": 0, "silo_class_rollout_paused": 0,
			} {
				v, ok := sample(fams, name, class)
				g.Expect(ok).To(BeTrue(), "no series %s%v", name, class)
				g.Expect(v).To(Equal(want), "%s%v", name, class)
			}
			_, ok := sample(fams, "silo_class_info", map[string]string{"class": f.class, "revision": revision})
			g.Expect(ok).To(BeTrue())
			_, ok = sample(fams, "silo_tenant_info", map[string]string{"tenant": f.tenants[0], "class": f.class, "revision": revision})
			g.Expect(ok).To(BeTrue(), "the Tenant's info names its class and revision %s", revision)
		}).Should(Succeed())

		By("pausing the rollout")
		f.update(func(c *silov1.TenantClass) { c.Spec.Rollout.Paused = true })
		Eventually(func(g Gomega) {
			fams := scrape(g)
			v, _ := sample(fams, "silo_class_rollout_paused", map[string]string{"class": f.class})
			g.Expect(v).To(Equal(1.0))
			_, ok := sample(fams, "silo_class_condition", map[string]string{"class": f.class, "condition": silov1.PausedCondition,
				"status": "true", "reason": silov1.ManualReason})
			g.Expect(ok).To(BeTrue())
		}).Should(Succeed())
	})

	It("counts failed passes by the API server's reason", func() {
		t := createTenant(newTenant(uniqueName("metrics-refused")))
		ns := controllers.NamespaceFor(t)
		refuseInNamespace("test-refuse-quota", "", "resourcequotas", ns, func() error {
			q := &corev1.ResourceQuota{}
			if err := get(q, ns, controllers.QuotaName); err != nil {
				return err
			}
			return k8s.Update(ctx, q, client.DryRunAll)
		})
		// A policy's refusal is the API server's Invalid.
		reason := map[string]string{"reason": "Invalid"}
		var before float64
		Eventually(func(g Gomega) { before, _ = sample(scrape(g), "silo_reconcile_errors_total", reason) }).Should(Succeed())

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Quota.CPU = ptr.To(resource.MustParse("3")) })
		Eventually(func(g Gomega) {
			fams := scrape(g)
			v, _ := sample(fams, "silo_reconcile_errors_total", reason)
			g.Expect(v).To(BeNumerically(">", before))
			v, _ = sample(fams, "silo_tenant_spec_unobserved", map[string]string{"tenant": t.Name})
			g.Expect(v).To(Equal(1.0), "the refused spec is not reconciled")
		}).Should(Succeed())
	})
})
