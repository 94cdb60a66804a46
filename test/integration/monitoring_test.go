package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// promqlWords are the PromQL words that are not metric names: aggregations, keywords,
// binary operators.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true,
	"limit_ratio": true, "by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
	"group_right": true, "and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

// promqlMetrics returns the metric names a PromQL expression selects, sorted. It skips
// strings, label matchers ({...}), ranges ([...]), numbers and durations, Grafana
// variables ($job), functions (a word before "("), aggregations and keywords, and the
// label lists after by/without/on/ignoring/group_left/group_right. A Grafana
// label_values(metric, label) query selects its first argument.
func promqlMetrics(expr string) []string {
	if m := regexp.MustCompile(`^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,`).FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	found := map[string]bool{}
	isStart := func(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	isPart := func(c byte) bool { return isStart(c) || (c >= '0' && c <= '9') }
	nextNonSpace := func(i int) byte {
		for ; i < len(expr); i++ {
			if expr[i] != ' ' && expr[i] != '\n' && expr[i] != '\t' {
				return expr[i]
			}
		}
		return 0
	}
	skipLabelList := false
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return nil
			}
			i += end + 2
		case c == '{' || c == '[':
			closer := map[byte]byte{'{': '}', '[': ']'}[c]
			end := strings.IndexByte(expr[i:], closer)
			if end < 0 {
				return nil
			}
			i += end + 1
		case c == '(' && skipLabelList:
			i += strings.IndexByte(expr[i:], ')') + 1
			skipLabelList = false
		case c == '$' || (c >= '0' && c <= '9') || c == '.':
			// A Grafana variable, a number or a duration: skip the whole word.
			i++
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.') {
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word := expr[i:j]
			switch {
			case word == "by" || word == "without" || word == "on" || word == "ignoring" ||
				word == "group_left" || word == "group_right":
				skipLabelList = nextNonSpace(j) == '('
			case promqlWords[word] || nextNonSpace(j) == '(':
			default:
				found[word] = true
			}
			i = j
		default:
			i++
		}
	}
	out := make([]string, 0, len(found))
	for w := range found {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// chartQueries returns every PromQL expression of the chart's alerts and dashboard,
// by where it is.
func chartQueries() map[string]string {
	dir := filepath.Join(testenv.RepoRoot(), "charts", "silo", "files", "monitoring")
	out := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(dir, "prometheus-rules.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	Expect(yaml.Unmarshal(raw, &rules)).To(Succeed())
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["alert "+r.Alert+r.Record] = r.Expr
		}
	}
	raw, err = os.ReadFile(filepath.Join(dir, "dashboard.json"))
	Expect(err).NotTo(HaveOccurred())
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Query json.RawMessage
			}
		}
	}
	Expect(json.Unmarshal(raw, &dash)).To(Succeed())
	for _, p := range dash.Panels {
		for i, t := range p.Targets {
			out["panel "+p.Title+" #"+string(rune('A'+i))] = t.Expr
		}
	}
	for _, v := range dash.Templating.List {
		var q struct{ Query string }
		if json.Unmarshal(v.Query, &q) == nil && q.Query != "" {
			out["variable "+v.Name] = q.Query
		}
	}
	return out
}

// exportedNames returns the names of every series the scrape holds (a histogram's
// _bucket, _sum and _count).
func exportedNames(fams map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{
		"up": true, // Prometheus's own, for every target it scrapes
	}
	for name, f := range fams {
		out[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		}
	}
	return out
}

var _ = Describe("The chart's alerts and dashboard", func() {
	DescribeTable("read the metric names of a PromQL expression",
		func(expr string, want []string) { Expect(promqlMetrics(expr)).To(Equal(want)) },
		Entry("a selector", `silo_tenant_ready{tenant="acme"} == 0`, []string{"silo_tenant_ready"}),
		Entry("aggregations, by lists, ranges and functions",
			`sum by (reason) (rate(silo_reconcile_errors_total{reason!="Conflict"}[15m])) > 0.05`,
			[]string{"silo_reconcile_errors_total"}),
		Entry("vector matching", `silo_tenant_ready == 0 unless on (tenant) (silo_tenant_suspended == 1 or silo_tenant_phase{phase="Deleting"} == 1)`,
			[]string{"silo_tenant_phase", "silo_tenant_ready", "silo_tenant_suspended"}),
		Entry("an aggregation before its by list", `histogram_quantile(0.9, sum(rate(x_bucket{job=~"$job"}[$__rate_interval])) by (le))`,
			[]string{"x_bucket"}),
		Entry("a Grafana label_values query", `label_values(silo_tenant_info, tenant)`, []string{"silo_tenant_info"}),
		Entry("absent and a string with a metric-like word", `absent(up{job="silo-metrics"} == 1) or vector(0)`, []string{"up"}),
	)

	It("use only metrics the operator exports", func() {
		By("giving every metric family a series: a Tenant with a quota, and a class")
		t := newTenant(uniqueName("monitoring"))
		t.Spec.Quota.CPU = ptr.To(resource.MustParse("4"))
		Expect(k8s.Create(ctx, t)).To(Succeed())
		waitSettled(t.Name)
		q := &corev1.ResourceQuota{}
		Expect(get(q, controllers.NamespaceFor(t), controllers.QuotaName)).To(Succeed())
		q.Status.Hard, q.Status.Used = q.Spec.Hard, corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1")}
		Expect(k8s.Status().Update(ctx, q)).To(Succeed())
		f := newFleet("monitoring", 1, nil)
		Expect(f.tenants).To(HaveLen(1))

		queries := chartQueries()
		Expect(queries).To(HaveKey("alert SiloTenantNotReady"))
		Expect(len(queries)).To(BeNumerically(">", 20), "the dashboard's panels were not read")
		Eventually(func(g Gomega) {
			exported := exportedNames(scrape(g))
			g.Expect(exported).To(HaveKey("silo_tenant_quota_used"))
			g.Expect(exported).To(HaveKey("silo_class_tenants"))
			var missing []string
			for where, expr := range queries {
				names := promqlMetrics(expr)
				g.Expect(names).NotTo(BeEmpty(), "%s selects no metric: %s", where, expr)
				for _, n := range names {
					if !exported[n] {
						missing = append(missing, where+": "+n)
					}
				}
			}
			sort.Strings(missing)
			g.Expect(missing).To(BeEmpty(), "metrics the operator does not export")
		}).Should(Succeed())
	})
})
