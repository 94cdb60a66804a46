package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("The Helm chart", Label("chart"), func() {
	It("passes helm lint", func() {
		_, err := helm("lint", "--strict", "charts/silo")
		Expect(err).NotTo(HaveOccurred())
	})

	It("renders the operator with leader election, a restricted security context, probes, resources and every flag from values", func() {
		objs := template("-n", "platform",
			"--set", "concurrency=8", "--set", "kubeAPI.qps=75", "--set", "kubeAPI.burst=150",
			"--set", "componentImages.nats=nats:1", "--set", "componentImages.valkey=valkey:1", "--set", "componentImages.postgres=postgres:1",
			"--set", "componentImages.exportUploader=curl:1", "--set", "apps.exportObjectStorage.eu-west-1=exports-eu",
			"--set", "regionStorageClasses.eu-west-1=fast-eu", "--set", "regionStorageClasses.us-east-1=fast-us",
			"--set", "ingressNamespace=edge", "--set", "dnsNamespace=dns", "--set", "logging.level=debug",
			"--set", "guardrails.roleBindingServiceAccountNamespaces={ci,monitoring}")
		dep := find[*appsv1.Deployment](objs, "silo")
		pod := dep.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal("silo"))
		Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))

		c := pod.Containers[0]
		Expect(c.Args).To(ContainElements(
			"--leader-elect=true", "--operator-namespace=platform",
			"--metrics-bind-address=:8443", "--metrics-secure=true", "--health-probe-bind-address=:8081",
			"--concurrency=8", "--kube-api-qps=75", "--kube-api-burst=150",
			"--nats-image=nats:1", "--valkey-image=valkey:1", "--postgres-image=postgres:1",
			"--export-uploader-image=curl:1", "--export-object-storage=eu-west-1=exports-eu",
			"--region-storage-class=eu-west-1=fast-eu", "--region-storage-class=us-east-1=fast-us",
			"--ingress-namespace=edge", "--dns-namespace=dns", "--zap-log-level=debug",
			"--rolebinding-serviceaccount-namespaces=ci,monitoring"))
		sc := c.SecurityContext
		Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
		Expect(sc.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceMemory))

		probePort := portNamed(c, c.LivenessProbe.HTTPGet.Port.String())
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(probePort).To(BeEquivalentTo(8081))
		Expect(portNamed(c, c.ReadinessProbe.HTTPGet.Port.String())).To(BeEquivalentTo(8081))

		svc := find[*corev1.Service](objs, "silo-metrics")
		Expect(svc.Spec.Ports).To(ConsistOf(HaveField("Port", BeEquivalentTo(8443))))
	})

	DescribeTable("rejects a bad value at template time, through values.schema.json",
		func(set string, ok bool) {
			_, err := helm("template", "silo", "charts/silo", "--set", set)
			if ok {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(ContainSubstring("values don't meet the specifications of the schema")))
		},
		Entry("a good value is accepted", "concurrency=16", true),
		Entry("concurrency below 1", "concurrency=0", false),
		Entry("an unknown log level", "logging.level=verbose", false),
		Entry("a StorageClass name that is not a DNS name", "regionStorageClasses.eu-west-1=Fast_Class", false),
		Entry("a misspelt key", "concurency=4", false),
		Entry("a ServiceAccount namespace for owners' bindings that is not a namespace name", "guardrails.roleBindingServiceAccountNamespaces={Bad_NS}", false),
		Entry("a negative QPS", "kubeAPI.qps=-1", false),
		Entry("an unknown pull policy", "image.pullPolicy=Sometimes", false),
		Entry("an ingress namespace that is not a DNS label", "ingressNamespace=Ingress NGINX", false),
		Entry("guardrail allow-lists", "guardrails.priorityClasses={tenant-high},guardrails.tolerations={example.com/spot}", true),
		Entry("an ingress snippet on the allow-list", "guardrails.ingressAnnotations={nginx.ingress.kubernetes.io/server-snippet}", false),
		Entry("Silo's own pool taint for every tenant", "guardrails.tolerations={silo.dev/node-pool}", false),
		Entry("an extended resource without domain", "guardrails.extendedResources={gpu}", false),
		Entry("a priority class that is not a DNS name", "guardrails.defaultPriorityClass=High_Priority", false),
	)

	It("grants exactly the rules generated from the RBAC markers (config/rbac/role.yaml)", func() {
		role := find[*rbacv1.ClusterRole](template(), "silo-manager")
		data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		generated := find[*rbacv1.ClusterRole](decode(string(data)), "silo-manager")
		Expect(role.Rules).To(Equal(generated.Rules))
	})

	It("ships the generated CRD unchanged", func() {
		chartCRD, err := os.ReadFile(filepath.Join(root, "charts", "silo", "crds", "silo.dev_tenants.yaml"))
		Expect(err).NotTo(HaveOccurred())
		generated, err := os.ReadFile(filepath.Join(root, "config", "crd", "bases", "silo.dev_tenants.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(chartCRD)).To(Equal(string(generated)), "run `make manifests`")
	})

	It("renders every policy file with the release's ServiceAccount in place of silo-system:silo and its snapshot controllers, unless policies are off", func() {
		chart := copyChart()
		policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: e2e-check
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations:
  - expression: request.userInfo.username == 'system:serviceaccount:silo-system:silo'
`
		Expect(os.WriteFile(filepath.Join(chart, "files", "policies", "e2e-check.yaml"), []byte(policy), 0o644)).To(Succeed())

		out, err := helm("template", "silo", chart, "-n", "platform", "--set", "serviceAccount.name=operator")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("request.userInfo.username == 'system:serviceaccount:platform:operator'"))
		Expect(out).NotTo(ContainSubstring("system:serviceaccount:silo-system:silo"))
		Expect(out).NotTo(ContainSubstring("files/policies/README.md"))
		Expect(out).To(ContainSubstring(`["system:serviceaccount:kube-system:snapshot-controller"]`), "the default snapshot controller")

		out, err = helm("template", "silo", chart, "--set", "policies.snapshotControllers={system:serviceaccount:storage:snapshots}")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(`["system:serviceaccount:storage:snapshots"]`))
		Expect(out).NotTo(ContainSubstring("kube-system:snapshot-controller"))

		out, err = helm("template", "silo", chart, "--set", "policies.enabled=false")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).NotTo(ContainSubstring("e2e-check"))
	})

	It("is installed: CRD established, operator pod admitted under restricted Pod Security, running as its ServiceAccount", func() {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "tenants.silo.dev"}, crd)).To(Succeed())
		Expect(crd.Status.Conditions).To(ContainElement(And(
			HaveField("Type", apiextensionsv1.Established), HaveField("Status", apiextensionsv1.ConditionTrue))))

		ns := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: operatorNamespace}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		dep := &appsv1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "silo"}, dep)).To(Succeed())
			g.Expect(dep.Status.AvailableReplicas).To(BeEquivalentTo(1), "the (simulated) operator pod was not admitted or scheduled")
		}).Should(Succeed())
		Expect(dep.Spec.Template.Spec.ServiceAccountName).To(Equal(serviceAccount))
	})

	DescribeTable("gives the operator's ServiceAccount only what it needs",
		func(attrs authorizationv1.ResourceAttributes, allowed bool) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               "system:serviceaccount:" + operatorNamespace + ":" + serviceAccount,
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + operatorNamespace, "system:authenticated"},
				ResourceAttributes: &attrs,
			}}
			Expect(k8s.Create(ctx, sar)).To(Succeed())
			Expect(sar.Status.Allowed).To(Equal(allowed), sar.Status.Reason)
		},
		Entry("leader election in its namespace", authorizationv1.ResourceAttributes{Namespace: operatorNamespace, Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, true),
		Entry("external service Secrets in its namespace", authorizationv1.ResourceAttributes{Namespace: operatorNamespace, Verb: "get", Resource: "secrets"}, true),
		Entry("Tenant status", authorizationv1.ResourceAttributes{Verb: "patch", Group: "silo.dev", Resource: "tenants", Subresource: "status"}, true),
		Entry("tenant namespaces", authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}, true),
		Entry("no leases elsewhere", authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "update", Group: "coordination.k8s.io", Resource: "leases"}, false),
		Entry("no cluster-wide grants", authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, false),
		Entry("no nodes", authorizationv1.ResourceAttributes{Verb: "update", Resource: "nodes"}, false),
		Entry("no exec into pods", authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "create", Resource: "pods", Subresource: "exec"}, false),
	)
})

// template renders the chart with args and decodes the result.
func template(args ...string) []runtime.Object {
	out, err := helm(append([]string{"template", "silo", "charts/silo"}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	return decode(out)
}

// decode decodes a stream of YAML documents into typed objects.
func decode(stream string) []runtime.Object {
	var objs []runtime.Object
	d := yaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var raw runtime.RawExtension
		err := d.Decode(&raw)
		if err == io.EOF {
			return objs
		}
		Expect(err).NotTo(HaveOccurred())
		if len(raw.Raw) == 0 || string(raw.Raw) == "null" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		Expect(err).NotTo(HaveOccurred(), string(raw.Raw))
		objs = append(objs, obj)
	}
}

// find returns the object of type T named name.
func find[T client.Object](objs []runtime.Object, name string) T {
	for _, o := range objs {
		if t, ok := o.(T); ok && t.GetName() == name {
			return t
		}
	}
	var zero T
	Fail(fmt.Sprintf("no %T named %s in the rendered chart", zero, name))
	return zero
}

// portNamed resolves a probe's port (a name or a number) to the container port.
func portNamed(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port {
			return p.ContainerPort
		}
	}
	Fail("no container port named " + port)
	return 0
}

// copyChart copies the chart to a temporary folder a spec may change.
func copyChart() string {
	dst := filepath.Join(GinkgoT().TempDir(), "silo")
	src := filepath.Join(root, "charts", "silo")
	Expect(filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})).To(Succeed())
	return dst
}

var _ = Describe("The kustomize layout (config/default)", Label("chart"), func() {
	It("renders the same operator as the chart: identity, namespaced RBAC, image and security context", func() {
		out, err := run("kubectl", "kustomize", "config/default")
		Expect(err).NotTo(HaveOccurred())
		kustomized := decode(out)
		chart := template("-n", operatorNamespace)

		sa := find[*corev1.ServiceAccount](kustomized, serviceAccount)
		Expect(sa.Namespace).To(Equal(operatorNamespace))
		Expect(find[*rbacv1.Role](kustomized, "silo-operator").Rules).To(Equal(find[*rbacv1.Role](chart, "silo-operator").Rules))
		Expect(find[*rbacv1.ClusterRole](kustomized, "silo-manager").Rules).To(Equal(find[*rbacv1.ClusterRole](chart, "silo-manager").Rules))
		Expect(find[*rbacv1.ClusterRole](kustomized, "silo-metrics-reader").Rules).To(Equal(find[*rbacv1.ClusterRole](chart, "silo-metrics-reader").Rules))
		crb := find[*rbacv1.ClusterRoleBinding](kustomized, "silo-manager")
		Expect(crb.Subjects).To(ConsistOf(HaveField("Name", serviceAccount)))

		kc := find[*appsv1.Deployment](kustomized, "silo").Spec.Template.Spec
		hc := find[*appsv1.Deployment](chart, "silo").Spec.Template.Spec
		Expect(kc.ServiceAccountName).To(Equal(hc.ServiceAccountName))
		Expect(kc.SecurityContext).To(Equal(hc.SecurityContext))
		Expect(kc.Containers[0].Image).To(Equal(hc.Containers[0].Image))
		Expect(kc.Containers[0].SecurityContext).To(Equal(hc.Containers[0].SecurityContext))
		Expect(kc.Containers[0].LivenessProbe).To(Equal(hc.Containers[0].LivenessProbe))
		Expect(kc.Containers[0].ReadinessProbe).To(Equal(hc.Containers[0].ReadinessProbe))
		Expect(kc.Containers[0].Args).To(ContainElement("--leader-elect"))
	})
})
