package controllers

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// The fleet's metrics are read from the informer cache at scrape time, the way
// kube-state-metrics does: each scrape describes the Tenants and TenantClasses that
// exist now, so a deleted Tenant's series are gone at the next scrape and nothing has
// to remember to delete them. Every per-Tenant metric carries the label tenant and at most one more
// label with a fixed set of values (phase, condition, quota resource): one bounded
// series set per Tenant, nothing per pod.
var (
	tenantInfoDesc = prometheus.NewDesc("silo_tenant_info",
		"A Tenant: its namespace, its class and the class revision it runs (empty without a class). Always 1.",
		[]string{"tenant", "tenant_namespace", "class", "revision"}, nil)
	tenantPhaseDesc = prometheus.NewDesc("silo_tenant_phase",
		"1 for the Tenant's status.phase, 0 for the other phases.",
		[]string{"tenant", "phase"}, nil)
	tenantReadyDesc = prometheus.NewDesc("silo_tenant_ready",
		"1 when the Tenant's Ready condition is True, else 0.",
		[]string{"tenant"}, nil)
	tenantComponentsDesc = prometheus.NewDesc("silo_tenant_components",
		"Components the Tenant runs (status.components).",
		[]string{"tenant"}, nil)
	tenantComponentsReadyDesc = prometheus.NewDesc("silo_tenant_components_ready",
		"Components of the Tenant that are ready.",
		[]string{"tenant"}, nil)
	tenantConditionDesc = prometheus.NewDesc("silo_tenant_condition",
		"One series per condition of the Tenant, with its status and reason. Always 1.",
		[]string{"tenant", "condition", "status", "reason"}, nil)
	tenantSuspendedDesc = prometheus.NewDesc("silo_tenant_suspended",
		"1 when the Tenant's spec.suspend is true, else 0.",
		[]string{"tenant"}, nil)
	tenantGenerationLagDesc = prometheus.NewDesc("silo_tenant_spec_unobserved",
		"1 when the operator has not yet reconciled the Tenant's latest spec (status.observedGeneration < metadata.generation), else 0.",
		[]string{"tenant"}, nil)
	tenantQuotaHardDesc = prometheus.NewDesc("silo_tenant_quota_hard",
		"Hard limit of the tenant namespace's ResourceQuota, per resource the Tenant can run out of (cores, bytes or a count).",
		[]string{"tenant", "resource"}, nil)
	tenantQuotaUsedDesc = prometheus.NewDesc("silo_tenant_quota_used",
		"Usage of the tenant namespace's ResourceQuota, per resource the Tenant can run out of (a hard limit above 0; not resourcequotas).",
		[]string{"tenant", "resource"}, nil)
)

// The rollout of each TenantClass, from its status: one series set per class.
var (
	classInfoDesc = prometheus.NewDesc("silo_class_info",
		"A TenantClass and its current revision. Always 1.",
		[]string{"class", "revision"}, nil)
	classTenantsDesc = prometheus.NewDesc("silo_class_tenants",
		"Tenants of the class.",
		[]string{"class"}, nil)
	classUpdatedDesc = prometheus.NewDesc("silo_class_tenants_updated",
		"Tenants of the class running its current revision.",
		[]string{"class"}, nil)
	classReadyDesc = prometheus.NewDesc("silo_class_tenants_ready",
		"Tenants of the class that are Ready, on any revision.",
		[]string{"class"}, nil)
	classHeldDesc = prometheus.NewDesc("silo_class_tenants_held",
		"Tenants of the class held on an older revision by classUpdatePolicy Manual.",
		[]string{"class"}, nil)
	classFailedDesc = prometheus.NewDesc("silo_class_tenants_failed",
		"Tenants of the class that failed its current revision.",
		[]string{"class"}, nil)
	classPausedDesc = prometheus.NewDesc("silo_class_rollout_paused",
		"1 while the class's rollout moves no further Tenant (its Paused condition is True: reason Manual or TooManyFailures), else 0.",
		[]string{"class"}, nil)
	classConditionDesc = prometheus.NewDesc("silo_class_condition",
		"One series per condition of the TenantClass (Ready, Progressing, Paused), with its status and reason. Always 1.",
		[]string{"class", "condition", "status", "reason"}, nil)
)

// tenantPhases are the values of the phase label, in a fixed order.
var tenantPhases = []silov1.TenantPhase{
	silov1.PhaseProvisioning, silov1.PhaseReady, silov1.PhaseDegraded, silov1.PhaseSuspended, silov1.PhaseDeleting,
}

// scrapeTimeout bounds one scrape's reads from the cache.
const scrapeTimeout = 10 * time.Second

// tenantCollector is a prometheus.Collector of the fleet's per-Tenant metrics. It
// reads the cache of the manager that leads: a standby replica exports no Tenant
// series, so two replicas never report the same Tenant twice. Tests run several
// managers in one process; the one that started leading last is read.
type tenantCollector struct {
	mu      sync.Mutex
	leaders []client.Reader
}

// fleet is the collector registered with controller-runtime's metrics registry.
var fleet = &tenantCollector{}

// lead makes the collector read r until release is called.
func (c *tenantCollector) lead(r client.Reader) (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leaders = append(c.leaders, r)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := len(c.leaders) - 1; i >= 0; i-- {
			if c.leaders[i] == r {
				c.leaders = append(c.leaders[:i], c.leaders[i+1:]...)
				return
			}
		}
	}
}

// source is the reader of the latest leader, or nil while nothing leads.
func (c *tenantCollector) source() client.Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.leaders) == 0 {
		return nil
	}
	return c.leaders[len(c.leaders)-1]
}

// Describe implements prometheus.Collector.
func (c *tenantCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		tenantInfoDesc, tenantPhaseDesc, tenantReadyDesc, tenantComponentsDesc, tenantComponentsReadyDesc,
		tenantConditionDesc, tenantSuspendedDesc, tenantGenerationLagDesc, tenantQuotaHardDesc, tenantQuotaUsedDesc,
		classInfoDesc, classTenantsDesc, classUpdatedDesc, classReadyDesc, classHeldDesc, classFailedDesc,
		classPausedDesc, classConditionDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it lists Tenants and their ResourceQuotas
// from the cache (no request to the API server) and emits their series.
func (c *tenantCollector) Collect(ch chan<- prometheus.Metric) {
	reader := c.source()
	if reader == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	log := ctrl.Log.WithName("metrics")
	tenants := &silov1.TenantList{}
	// Read-only: the cache's objects are not copied for a scrape.
	if err := reader.List(ctx, tenants, client.UnsafeDisableDeepCopy); err != nil {
		if !errors.As(err, new(*cache.ErrCacheNotStarted)) {
			log.Error(err, "listing Tenants for metrics")
		}
		return
	}
	quotas := &corev1.ResourceQuotaList{}
	if err := reader.List(ctx, quotas, client.UnsafeDisableDeepCopy,
		client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue}); err != nil {
		log.Error(err, "listing ResourceQuotas for metrics")
	}
	byNamespace := make(map[string]*corev1.ResourceQuota, len(quotas.Items))
	for i := range quotas.Items {
		if q := &quotas.Items[i]; q.Name == QuotaName {
			byNamespace[q.Namespace] = q
		}
	}
	for i := range tenants.Items {
		t := &tenants.Items[i]
		for _, m := range tenantMetrics(t, byNamespace[NamespaceFor(t)]) {
			ch <- m
		}
	}
	classes := &silov1.TenantClassList{}
	if err := reader.List(ctx, classes, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "listing TenantClasses for metrics")
		return
	}
	for i := range classes.Items {
		for _, m := range classMetrics(&classes.Items[i]) {
			ch <- m
		}
	}
}

// classMetrics returns the series of one TenantClass's rollout. It is pure.
func classMetrics(c *silov1.TenantClass) []prometheus.Metric {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
		return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{c.Name}, labels...)...)
	}
	st := &c.Status
	out := []prometheus.Metric{
		gauge(classInfoDesc, 1, st.Revision),
		gauge(classTenantsDesc, float64(st.Tenants)),
		gauge(classUpdatedDesc, float64(st.Updated)),
		gauge(classReadyDesc, float64(st.Ready)),
		gauge(classHeldDesc, float64(st.Held)),
		gauge(classFailedDesc, float64(len(st.Failed))),
		gauge(classPausedDesc, boolValue(meta.IsStatusConditionTrue(st.Conditions, silov1.PausedCondition))),
	}
	for _, cond := range st.Conditions {
		out = append(out, gauge(classConditionDesc, 1, cond.Type, conditionStatusLabel(cond.Status), cond.Reason))
	}
	return out
}

// tenantMetrics returns the series of one Tenant. It is pure, so a table test can pin
// every series.
func tenantMetrics(t *silov1.Tenant, quota *corev1.ResourceQuota) []prometheus.Metric {
	name := t.Name
	gauge := func(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
		return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
	}
	class, revision := tenantClassLabels(t)
	out := []prometheus.Metric{gauge(tenantInfoDesc, 1, NamespaceFor(t), class, revision)}
	for _, p := range tenantPhases {
		out = append(out, gauge(tenantPhaseDesc, boolValue(t.Status.Phase == p), string(p)))
	}
	out = append(out, gauge(tenantReadyDesc, boolValue(meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition))))
	ready := 0
	for _, comp := range t.Status.Components {
		if comp.Ready {
			ready++
		}
	}
	out = append(out,
		gauge(tenantComponentsDesc, float64(len(t.Status.Components))),
		gauge(tenantComponentsReadyDesc, float64(ready)),
		gauge(tenantSuspendedDesc, boolValue(t.Spec.Suspend)),
		gauge(tenantGenerationLagDesc, boolValue(t.Status.ObservedGeneration < t.Generation)))
	for _, cond := range t.Status.Conditions {
		out = append(out, gauge(tenantConditionDesc, 1, cond.Type, conditionStatusLabel(cond.Status), cond.Reason))
	}
	if quota != nil {
		for _, res := range slices.Sorted(maps.Keys(quota.Status.Hard)) {
			hard := quota.Status.Hard[res]
			if !QuotaHeadroom(res, hard) {
				continue
			}
			used := quota.Status.Used[res]
			out = append(out,
				gauge(tenantQuotaHardDesc, hard.AsApproximateFloat64(), string(res)),
				gauge(tenantQuotaUsedDesc, used.AsApproximateFloat64(), string(res)))
		}
	}
	return out
}

// tenantClassLabels returns the class a Tenant runs and the class revision, for the
// class and revision labels of silo_tenant_info.
func tenantClassLabels(t *silov1.Tenant) (class, revision string) {
	return t.Status.Class, t.Status.ClassRevision
}

// conditionStatusLabel is a condition status as a lowercase label value, as
// kube-state-metrics spells them (true, false, unknown).
func conditionStatusLabel(s metav1.ConditionStatus) string {
	switch s {
	case metav1.ConditionTrue:
		return "true"
	case metav1.ConditionFalse:
		return "false"
	}
	return "unknown"
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
