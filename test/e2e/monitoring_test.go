package e2e

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// monitoringValues turn on every monitoring object of the chart.
var monitoringValues = []string{
	"--set", "monitoring.serviceMonitor.enabled=true",
	"--set", "monitoring.prometheusRule.enabled=true",
	"--set", "monitoring.dashboard.enabled=true",
}

// templateUnstructured renders the chart with args into objects of any kind.
func templateUnstructured(args ...string) []*unstructured.Unstructured {
	out, err := helm(append([]string{"template", release, "charts/silo", "-n", operatorNamespace}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	var objs []*unstructured.Unstructured
	d := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := d.Decode(&u.Object)
		if err == io.EOF {
			return objs
		}
		Expect(err).NotTo(HaveOccurred())
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// kinds returns the rendered objects of kind.
func kinds(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

var _ = Describe("The chart's monitoring", Label("chart", "monitoring"), func() {
	It("renders no ServiceMonitor, PrometheusRule or dashboard unless asked", func() {
		objs := templateUnstructured()
		Expect(kinds(objs, "ServiceMonitor")).To(BeEmpty())
		Expect(kinds(objs, "PrometheusRule")).To(BeEmpty())
		for _, cm := range kinds(objs, "ConfigMap") {
			Expect(cm.GetLabels()).NotTo(HaveKey("grafana_dashboard"))
		}
	})

	It("renders them, matched to the release, when asked", func() {
		objs := templateUnstructured(monitoringValues...)
		sm := kinds(objs, "ServiceMonitor")
		Expect(sm).To(HaveLen(1))
		endpoints, _, _ := unstructured.NestedSlice(sm[0].Object, "spec", "endpoints")
		Expect(endpoints).To(ConsistOf(And(HaveKeyWithValue("port", "metrics"), HaveKeyWithValue("scheme", "https"))),
			"the metrics endpoint serves HTTPS to authorized callers")
		rule := kinds(objs, "PrometheusRule")
		Expect(rule).To(HaveLen(1))
		groups, _, _ := unstructured.NestedSlice(rule[0].Object, "spec", "groups")
		Expect(groups).NotTo(BeEmpty())
		raw, _ := json.Marshal(groups)
		Expect(string(raw)).To(ContainSubstring(`up{job=\"silo-metrics\"}`), "the alerts select the release's metrics Service")
		var dashboards []*unstructured.Unstructured
		for _, cm := range kinds(objs, "ConfigMap") {
			if cm.GetLabels()["grafana_dashboard"] == "1" {
				dashboards = append(dashboards, cm)
			}
		}
		Expect(dashboards).To(HaveLen(1))
		board, _, _ := unstructured.NestedString(dashboards[0].Object, "data", "silo.json")
		var parsed map[string]any
		Expect(json.Unmarshal([]byte(board), &parsed)).To(Succeed(), "the dashboard is not JSON")
		Expect(parsed).To(HaveKeyWithValue("uid", "silo-operator"))
	})

	It("refuses a ServiceMonitor without the metrics endpoint", func() {
		_, err := helm("template", release, "charts/silo", "--set", "monitoring.serviceMonitor.enabled=true", "--set", "metrics.enabled=false")
		Expect(err).To(MatchError(ContainSubstring("monitoring.serviceMonitor.enabled needs metrics.enabled")))
	})

	It("installs with the monitoring values on: the Prometheus Operator's CRDs from its module, and the objects apply", func() {
		By("installing the ServiceMonitor and PrometheusRule CRDs generated from the prometheus-operator module")
		out, err := run("hack/monitoring-crds.sh")
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		dir := lines[len(lines)-1]
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(2))
		for _, f := range files {
			_, err := run("kubectl", "apply", "--server-side", "-f", f)
			Expect(err).NotTo(HaveOccurred())
		}
		for _, name := range []string{"servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"} {
			Eventually(func(g Gomega) {
				crd := &apiextensionsv1.CustomResourceDefinition{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, crd)).To(Succeed())
				established := false
				for _, c := range crd.Status.Conditions {
					established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
				}
				g.Expect(established).To(BeTrue(), "CRD %s is not established", name)
			}).Should(Succeed())
		}
		DeferCleanup(func() {
			By("putting the suite's release back, then removing the CRDs")
			installChart()
			for _, f := range files {
				_, err := run("kubectl", "delete", "--ignore-not-found", "-f", f)
				Expect(err).NotTo(HaveOccurred())
			}
		})

		By("upgrading the release with the monitoring values")
		_, err = helm(append([]string{"upgrade", "--install", release, "charts/silo", "-n", operatorNamespace,
			"-f", "hack/demo/values.yaml", "--wait", "--timeout", "2m"}, monitoringValues...)...)
		Expect(err).NotTo(HaveOccurred())

		sm := &unstructured.Unstructured{}
		sm.SetAPIVersion("monitoring.coreos.com/v1")
		sm.SetKind("ServiceMonitor")
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "silo"}, sm)).To(Succeed())
		rule := &unstructured.Unstructured{}
		rule.SetAPIVersion("monitoring.coreos.com/v1")
		rule.SetKind("PrometheusRule")
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "silo"}, rule)).To(Succeed())
		groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
		Expect(groups).NotTo(BeEmpty(), "the API server kept no rule groups")
		dashboard := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "silo-dashboard"}, dashboard)).To(Succeed())
		Expect(dashboard.Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	})
})

var _ = Describe("The chart's hygiene", Label("chart"), func() {
	It("needs Kubernetes 1.30, and helm template works without a cluster", func() {
		_, err := helm("template", release, "charts/silo")
		Expect(err).NotTo(HaveOccurred())
		_, err = helm("template", release, "charts/silo", "--kube-version", "1.29.0")
		Expect(err).To(MatchError(ContainSubstring("kubeVersion")))
		chart, err := os.ReadFile(filepath.Join(root, "charts", "silo", "Chart.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(chart)).To(ContainSubstring("artifacthub.io/license: Apache-2.0"))
	})

	It("names every object after fullnameOverride, and labels them after nameOverride", func() {
		objs := template("--set", "fullnameOverride=platform-silo", "--set", "nameOverride=tenancy")
		dep := find[*appsv1.Deployment](objs, "platform-silo")
		Expect(dep.Spec.Selector.MatchLabels).To(HaveKeyWithValue("app.kubernetes.io/name", "tenancy"))
		find[*corev1.Service](objs, "platform-silo-metrics")
	})

	It("adds a PodDisruptionBudget and anti-affinity with more than one replica, not with one", func() {
		one := template()
		for _, o := range one {
			_, isPDB := o.(*policyv1.PodDisruptionBudget)
			Expect(isPDB).To(BeFalse(), "a PodDisruptionBudget for a single replica blocks every node drain")
		}
		Expect(find[*appsv1.Deployment](one, "silo").Spec.Template.Spec.Affinity).To(BeNil())

		two := template("--set", "replicaCount=2")
		pdb := find[*policyv1.PodDisruptionBudget](two, "silo")
		Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(1))
		dep := find[*appsv1.Deployment](two, "silo")
		Expect(pdb.Spec.Selector.MatchLabels).To(Equal(dep.Spec.Selector.MatchLabels))
		anti := dep.Spec.Template.Spec.Affinity.PodAntiAffinity
		Expect(anti.PreferredDuringSchedulingIgnoredDuringExecution).To(ConsistOf(
			HaveField("PodAffinityTerm.TopologyKey", "kubernetes.io/hostname")))
	})

	DescribeTable("refuses more than one replica without leader election, through values.schema.json",
		func(set []string, ok bool) {
			_, err := helm(append([]string{"template", release, "charts/silo"}, set...)...)
			if ok {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(ContainSubstring("leaderElection/enabled")))
		},
		Entry("two replicas with leader election", []string{"--set", "replicaCount=2"}, true),
		Entry("one replica without leader election", []string{"--set", "leaderElection.enabled=false"}, true),
		Entry("two replicas without leader election", []string{"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"}, false),
	)

	It("has a helm test that asks the operator's metrics Service for Silo's metrics, as a restricted pod allowed to read them", func() {
		objs := template()
		var test *corev1.Pod
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && p.Annotations["helm.sh/hook"] == "test" {
				test = p
			}
		}
		Expect(test).NotTo(BeNil(), "no helm test pod")
		Expect(test.Spec.Containers[0].Args[0]).To(And(
			ContainSubstring("https://silo-metrics.default.svc:8443/metrics"), ContainSubstring("Authorization: Bearer")))
		Expect(test.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(test.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		binding := find[*rbacv1.ClusterRoleBinding](objs, test.Spec.ServiceAccountName)
		Expect(binding.RoleRef.Name).To(Equal("silo-metrics-reader"))
		Expect(binding.Annotations).To(HaveKeyWithValue("helm.sh/hook", "test"))
		Expect(find[*corev1.ServiceAccount](objs, test.Spec.ServiceAccountName).Annotations).To(HaveKeyWithValue("helm.sh/hook", "test"))
	})

	It("serves pprof only when pprof.bindAddress is set", func() {
		Expect(find[*appsv1.Deployment](template(), "silo").Spec.Template.Spec.Containers[0].Args).NotTo(
			ContainElement(HavePrefix("--pprof-bind-address")))
		Expect(find[*appsv1.Deployment](template("--set", "pprof.bindAddress=127.0.0.1:8082"), "silo").Spec.Template.Spec.Containers[0].Args).To(
			ContainElement("--pprof-bind-address=127.0.0.1:8082"))
	})
})
