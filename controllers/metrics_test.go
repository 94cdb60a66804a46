package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// seriesText renders metrics as sorted `name{label="value",...} value` lines (labels
// sorted by name, as the registry exposes them).
func seriesText(tb testing.TB, ms []prometheus.Metric) []string {
	tb.Helper()
	var out []string
	for _, m := range ms {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			tb.Fatal(err)
		}
		name := m.Desc().String()
		name = name[strings.Index(name, `fqName: "`)+9:]
		name = name[:strings.Index(name, `"`)]
		var labels []string
		for _, l := range pb.GetLabel() {
			labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		out = append(out, fmt.Sprintf("%s{%s} %g", name, strings.Join(labels, ","), pb.GetGauge().GetValue()))
	}
	sort.Strings(out)
	return out
}

func TestTenantMetrics(t *testing.T) {
	readyTenant := func() *silov1.Tenant {
		tn := testTenant()
		tn.Generation = 2
		tn.Status = silov1.TenantStatus{
			Class:              "standard",
			ClassRevision:      "5f8c2d1a",
			Phase:              silov1.PhaseReady,
			ObservedGeneration: 2,
			Components:         []silov1.ComponentStatus{{Name: "app", Ready: true}, {Name: "database"}},
			Conditions: []metav1.Condition{
				{Type: silov1.ReadyCondition, Status: metav1.ConditionTrue, Reason: silov1.ReadyReason},
				{Type: silov1.DegradedCondition, Status: metav1.ConditionFalse, Reason: silov1.AsExpectedReason},
			},
		}
		return tn
	}
	quota := &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{
		Hard: corev1.ResourceList{
			corev1.ResourceRequestsCPU:           resource.MustParse("8"),
			corev1.ResourceRequestsMemory:        resource.MustParse("16Gi"),
			corev1.ResourceServicesLoadBalancers: resource.MustParse("0"),
			// The fence against a second quota: always full, never headroom.
			corev1.ResourceQuotas: resource.MustParse("1"),
		},
		Used: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1500m"), corev1.ResourceQuotas: resource.MustParse("1")},
	}}
	common := func(ready, suspended, unobserved string, phase silov1.TenantPhase) []string {
		lines := []string{
			`silo_tenant_components{tenant="acme"} 2`,
			`silo_tenant_components_ready{tenant="acme"} 1`,
			`silo_tenant_info{class="standard",revision="5f8c2d1a",tenant="acme",tenant_namespace="tenant-acme"} 1`,
			`silo_tenant_ready{tenant="acme"} ` + ready,
			`silo_tenant_spec_unobserved{tenant="acme"} ` + unobserved,
			`silo_tenant_suspended{tenant="acme"} ` + suspended,
		}
		for _, p := range tenantPhases {
			v := "0"
			if p == phase {
				v = "1"
			}
			lines = append(lines, fmt.Sprintf(`silo_tenant_phase{phase=%q,tenant="acme"} %s`, p, v))
		}
		return lines
	}
	tests := map[string]struct {
		tenant *silov1.Tenant
		quota  *corev1.ResourceQuota
		want   []string
	}{
		"a Ready Tenant: one series per phase, condition and quota resource it can run out of": {
			tenant: readyTenant(),
			quota:  quota,
			want: append(common("1", "0", "0", silov1.PhaseReady),
				`silo_tenant_condition{condition="Degraded",reason="AsExpected",status="false",tenant="acme"} 1`,
				`silo_tenant_condition{condition="Ready",reason="Ready",status="true",tenant="acme"} 1`,
				`silo_tenant_quota_hard{resource="requests.cpu",tenant="acme"} 8`,
				`silo_tenant_quota_hard{resource="requests.memory",tenant="acme"} 1.7179869184e+10`,
				`silo_tenant_quota_used{resource="requests.cpu",tenant="acme"} 1.5`,
				`silo_tenant_quota_used{resource="requests.memory",tenant="acme"} 0`),
		},
		"a suspended Tenant with a new spec and no quota yet": {
			tenant: func() *silov1.Tenant {
				tn := readyTenant()
				tn.Spec.Suspend = true
				tn.Generation = 3
				tn.Status.Phase = silov1.PhaseSuspended
				tn.Status.Conditions = []metav1.Condition{{Type: silov1.ReadyCondition, Status: metav1.ConditionFalse, Reason: silov1.SuspendedReason}}
				return tn
			}(),
			want: append(common("0", "1", "1", silov1.PhaseSuspended),
				`silo_tenant_condition{condition="Ready",reason="Suspended",status="false",tenant="acme"} 1`),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := seriesText(t, tenantMetrics(tc.tenant, tc.quota))
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("series (-want +got):\n%s", d)
			}
		})
	}
}

func TestClassMetrics(t *testing.T) {
	c := &silov1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: "standard"},
		Status: silov1.TenantClassStatus{
			Revision: "5f8c2d1a", Tenants: 120, Updated: 40, Ready: 118, Held: 2, Failed: []string{"acme", "globex"},
			Conditions: []metav1.Condition{{Type: silov1.PausedCondition, Status: metav1.ConditionTrue, Reason: silov1.TooManyFailuresReason}},
		},
	}
	want := []string{
		`silo_class_condition{class="standard",condition="Paused",reason="TooManyFailures",status="true"} 1`,
		`silo_class_info{class="standard",revision="5f8c2d1a"} 1`,
		`silo_class_rollout_paused{class="standard"} 1`,
		`silo_class_tenants{class="standard"} 120`,
		`silo_class_tenants_failed{class="standard"} 2`,
		`silo_class_tenants_held{class="standard"} 2`,
		`silo_class_tenants_ready{class="standard"} 118`,
		`silo_class_tenants_updated{class="standard"} 40`,
	}
	sort.Strings(want)
	if d := cmp.Diff(want, seriesText(t, classMetrics(c))); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
}

func TestTenantCollectorReadsTheLatestLeader(t *testing.T) {
	reader := func(names ...string) client.Reader {
		b := fake.NewClientBuilder().WithScheme(NewScheme())
		for _, n := range names {
			tn := testTenant()
			tn.Name = n
			b = b.WithObjects(tn)
		}
		return b.Build()
	}
	c := &tenantCollector{}
	tenants := func() []string {
		ch := make(chan prometheus.Metric, 100)
		c.Collect(ch)
		close(ch)
		var out []string
		for m := range ch {
			var pb dto.Metric
			if err := m.Write(&pb); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(m.Desc().String(), `"silo_tenant_info"`) {
				for _, l := range pb.GetLabel() {
					if l.GetName() == "tenant" {
						out = append(out, l.GetValue())
					}
				}
			}
		}
		return out
	}
	if got := tenants(); len(got) != 0 {
		t.Errorf("exported %v while no manager leads (a standby must export nothing)", got)
	}
	releaseFirst := c.lead(reader("acme"))
	if got := tenants(); !cmp.Equal(got, []string{"acme"}) {
		t.Errorf("first leader: %v, want [acme]", got)
	}
	releaseSecond := c.lead(reader("globex"))
	if got := tenants(); !cmp.Equal(got, []string{"globex"}) {
		t.Errorf("second leader: %v, want [globex]", got)
	}
	releaseSecond()
	if got := tenants(); !cmp.Equal(got, []string{"acme"}) {
		t.Errorf("after the second stopped: %v, want the first's [acme]", got)
	}
	releaseFirst()
	if got := tenants(); len(got) != 0 {
		t.Errorf("exported %v after every leader stopped", got)
	}
}

func TestErrorReason(t *testing.T) {
	gr := schema.GroupResource{Resource: "deployments"}
	tests := map[string]struct {
		obs  *observation
		err  error
		want string
	}{
		"a blockage names its condition reason": {
			obs: &observation{blocked: &blockage{reason: silov1.NamespaceConflictReason}}, err: errors.New("x"), want: silov1.NamespaceConflictReason,
		},
		"an API error wrapped by the reconciler keeps its status reason": {
			obs: &observation{}, err: fmt.Errorf("applying: %w", apierrors.NewForbidden(gr, "app", errors.New("no"))), want: "Forbidden",
		},
		"a joined conflict": {
			obs: &observation{}, err: errors.Join(errors.New("a"), apierrors.NewConflict(gr, "app", errors.New("stale"))), want: "Conflict",
		},
		"a timeout":     {obs: &observation{}, err: fmt.Errorf("reading: %w", context.DeadlineExceeded), want: "Timeout"},
		"anything else": {obs: &observation{}, err: errors.New("boom"), want: "Unknown"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := errorReason(tc.obs, tc.err); got != tc.want {
				t.Errorf("errorReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIsFirstReady(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	withReady := func(status metav1.ConditionStatus, at time.Time) *silov1.Tenant {
		tn := testTenant()
		tn.CreationTimestamp = metav1.NewTime(created)
		if status != "" {
			tn.Status.Conditions = []metav1.Condition{{Type: silov1.ReadyCondition, Status: status, LastTransitionTime: metav1.NewTime(at)}}
		}
		return tn
	}
	nowReady := withReady(metav1.ConditionTrue, created.Add(48*time.Hour))
	tests := map[string]struct {
		orig, next *silov1.Tenant
		want       bool
	}{
		"Ready in its first pass":                      {orig: withReady("", created), next: nowReady, want: true},
		"Ready after provisioning":                     {orig: withReady(metav1.ConditionFalse, created.Add(time.Second)), next: nowReady, want: true},
		"still Ready: no observation":                  {orig: withReady(metav1.ConditionTrue, created.Add(time.Minute)), next: nowReady, want: false},
		"not Ready yet":                                {orig: withReady(metav1.ConditionFalse, created), next: withReady(metav1.ConditionFalse, created), want: false},
		"recovered a day after creation: not new":      {orig: withReady(metav1.ConditionFalse, created.Add(24*time.Hour)), next: nowReady, want: false},
		"first passes delayed by a backlog: still new": {orig: withReady(metav1.ConditionFalse, created.Add(10*time.Minute)), next: nowReady, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := isFirstReady(tc.orig, tc.next); got != tc.want {
				t.Errorf("isFirstReady = %v, want %v", got, tc.want)
			}
		})
	}
}
