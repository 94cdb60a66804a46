package conformance

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/silo-dev/silo/controllers"
)

// The Multi-Tenancy Benchmarks, profile level 1, that apply to Silo. IDs are those of
// kubectl-mtb; checks the benchmark drafted without an ID carry MTB-PL1-DRAFT.
var _ = Describe("MTB profile level 1", func() {
	check("MTB-PL1-CC-CPI-1", "block access to cluster resources: an owner can read or create no cluster-scoped resource", func() {
		dyn, err := dynamic.NewForConfig(ownerACfg)
		Expect(err).NotTo(HaveOccurred())
		for _, gvr := range []schema.GroupVersionResource{
			{Version: "v1", Resource: "namespaces"},
			{Version: "v1", Resource: "nodes"},
			{Version: "v1", Resource: "persistentvolumes"},
			{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
			{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
			{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
			{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
			{Group: "node.k8s.io", Version: "v1", Resource: "runtimeclasses"},
			{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"},
			{Group: "silo.dev", Version: "v1alpha1", Resource: "tenants"},
		} {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
			expectRBACRefusal(err, fmt.Sprintf("cannot list resource %q", gvr.Resource), "at the cluster scope")
		}
		err = ownerA.Get(ctx, client.ObjectKey{Name: nsA}, &corev1.Namespace{})
		expectRBACRefusal(err, `cannot get resource "namespaces"`)
		err = ownerA.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "owner-a-escape"}})
		expectRBACRefusal(err, `cannot create resource "namespaces"`)
	})

	check("MTB-PL1-DRAFT", "block access to other tenant resources: tenant A's owner can do nothing the owner Role grants in B's namespace", func() {
		expectNoAccessAcross(ownerACfg, nsA, nsB)
	})

	check("MTB-PL1-DRAFT", "block access to other tenant resources: tenant B's owner can do nothing the owner Role grants in A's namespace", func() {
		expectNoAccessAcross(ownerBCfg, nsB, nsA)
	})

	check("MTB-PL1-CC-FNS-1", "namespace resource quotas: the quota caps CPU, memory, ephemeral storage and storage, requests and limits", func() {
		hard := quotaOf(nsA)
		for _, r := range []corev1.ResourceName{
			corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU,
			corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory,
			corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage,
			corev1.ResourceRequestsStorage,
		} {
			Expect(hard).To(HaveKey(r))
			q := hard[r]
			Expect(q.Sign()).To(Equal(1), "%s must be a positive cap", r)
		}
	})

	check("MTB-PL1-CC-FNS-2", "namespace object limits: the quota caps pods, Services, Secrets, ConfigMaps, claims, and allows no NodePort or LoadBalancer", func() {
		hard := quotaOf(nsA)
		for _, r := range []corev1.ResourceName{
			corev1.ResourcePods, corev1.ResourceServices, corev1.ResourceSecrets, corev1.ResourceConfigMaps,
			corev1.ResourcePersistentVolumeClaims, corev1.ResourceReplicationControllers, corev1.ResourceQuotas,
		} {
			Expect(hard).To(HaveKey(r))
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers} {
			Expect(hard).To(HaveKey(r))
			q := hard[r]
			Expect(q.IsZero()).To(BeTrue(), "%s must be 0", r)
		}
	})

	check("MTB-PL1-CC-TI-1", "block modification of resource quotas: RBAC refuses the owner, the managed-objects policy refuses even a cluster admin", func() {
		q := &corev1.ResourceQuota{}
		Expect(ownerA.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.QuotaName}, q)).To(Succeed())
		q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
		expectRBACRefusal(ownerA.Update(ctx, q), `cannot update resource "resourcequotas"`)
		expectRBACRefusal(ownerA.Status().Update(ctx, q), `cannot update resource "resourcequotas/status"`)
		expectRBACRefusal(ownerA.Delete(ctx, q), `cannot delete resource "resourcequotas"`)
		extra := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "more", Namespace: nsA}}
		expectRBACRefusal(ownerA.Create(ctx, extra), `cannot create resource "resourcequotas"`)

		expectPolicyRefusal(admin.Update(ctx, q), "silo-tenant-managed-objects", "is managed by Silo")
		expectPolicyRefusal(admin.Delete(ctx, q), "silo-tenant-managed-objects", "is managed by Silo")
	})

	check("MTB-PL1-BC-CPI-2", "block modification of multi-tenancy resources: the owner cannot change the network policies, limits, Role, binding or ServiceAccount Silo manages", func() {
		lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: controllers.LimitRangeName}}
		expectRBACRefusal(ownerA.Delete(ctx, lr), `cannot delete resource "limitranges"`)

		// The owner Role grants NetworkPolicies, Roles and RoleBindings (owners' own,
		// self-service) and ServiceAccounts (owners run their own workloads under their
		// own accounts), so here the policy, not RBAC, protects Silo's.
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: controllers.NetpolDefaultDeny}}
		expectPolicyRefusal(ownerA.Delete(ctx, np), "silo-tenant-managed-objects", "NetworkPolicy "+controllers.NetpolDefaultDeny)
		role := &rbacv1.Role{}
		Expect(ownerA.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.OwnerRoleName}, role)).To(Succeed())
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
		expectRBACRefusal(ownerA.Update(ctx, role), "is attempting to grant RBAC permissions not currently held")
		role.Rules = role.Rules[:len(role.Rules)-1]
		role.Labels["edited"] = "yes"
		expectPolicyRefusal(ownerA.Update(ctx, role), "silo-tenant-managed-objects", "Role "+controllers.OwnerRoleName)
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: controllers.OwnerRoleBindingName}}
		expectPolicyRefusal(ownerA.Delete(ctx, rb), "silo-tenant-managed-objects", "RoleBinding "+controllers.OwnerRoleBindingName)

		sa := &corev1.ServiceAccount{}
		Expect(ownerA.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "default"}, sa)).To(Succeed())
		sa.AutomountServiceAccountToken = ptr.To(true)
		expectPolicyRefusal(ownerA.Update(ctx, sa), "silo-tenant-managed-objects",
			"ServiceAccount default in namespace "+nsA+" is managed by Silo", "owner-a@conformance.example")
		expectPolicyRefusal(ownerA.Delete(ctx, sa), "silo-tenant-managed-objects", "is managed by Silo")
	})

	Context("Pod Security admission at the restricted level", func() {
		create := func(mutate func(*corev1.Pod)) error {
			pod := restrictedPod(nsB, "mtb", imageB)
			mutate(pod)
			return ownerB.Create(ctx, pod)
		}
		check("MTB-PL1-BC-CPI-3", "block add capabilities: Pod Security (restricted) refuses an owner's pod that adds a capability", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			}), `"NET_ADMIN" in securityContext.capabilities.add`)
		})
		check("MTB-PL1-BC-CPI-4", "require running as non-root: Pod Security refuses a pod that may run as root or as UID 0", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
			}), "runAsNonRoot != true")
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsUser = ptr.To(int64(0))
			}), "runAsUser=0")
		})
		check("MTB-PL1-BC-CPI-5", "block privileged containers: Pod Security refuses a privileged container", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
				p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
			}), "privileged")
		})
		check("MTB-PL1-BC-CPI-6", "block privilege escalation: Pod Security refuses allowPrivilegeEscalation", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
			}), "allowPrivilegeEscalation != false")
		})
		check("MTB-PL1-BC-HI-1", "block host path volumes: Pod Security refuses a hostPath volume", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
			}), `restricted volume type "hostPath"`)
		})
		check("MTB-PL1-BC-HI-3", "block host networking and ports: Pod Security refuses hostNetwork and hostPort", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) { p.Spec.HostNetwork = true }), "hostNetwork=true")
			expectPodSecurityRefusal(create(func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 8080}}
			}), "hostPort")
		})
		check("MTB-PL1-BC-HI-4", "block host PID: Pod Security refuses hostPID", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) { p.Spec.HostPID = true }), "hostPID=true")
		})
		check("MTB-PL1-BC-HI-5", "block host IPC: Pod Security refuses hostIPC", func() {
			expectPodSecurityRefusal(create(func(p *corev1.Pod) { p.Spec.HostIPC = true }), "hostIPC=true")
		})
	})

	check("MTB-PL1-BC-HI-2", "block NodePort Services: the service-exposure policy refuses an owner's NodePort Service", func() {
		svc := service(nsB, "nodeport", corev1.ServiceTypeNodePort)
		expectPolicyRefusal(ownerB.Create(ctx, svc), "silo-tenant-service-exposure", "is of type NodePort", "Use type ClusterIP")
	})

	check("MTB-PL1-BC-NI-1", "default deny across tenants (configuration: enforcing it needs a CNI): a default-deny policy selects every pod, and owners cannot change it or open it with policies of their own", func() {
		deny := &networkingv1.NetworkPolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.NetpolDefaultDeny}, deny)).To(Succeed())
		Expect(deny.Spec.PodSelector.MatchLabels).To(BeEmpty())
		Expect(deny.Spec.PodSelector.MatchExpressions).To(BeEmpty())
		Expect(deny.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
		Expect(deny.Spec.Ingress).To(BeEmpty())
		Expect(deny.Spec.Egress).To(BeEmpty())
		open := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "allow-all"},
			Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			},
		}
		expectPolicyRefusal(ownerA.Create(ctx, open), "silo-tenant-self-service", "has a rule without from (ingress) or to (egress)")
		deny.Spec.PodSelector.MatchLabels = map[string]string{"none": "none"}
		expectPolicyRefusal(ownerA.Update(ctx, deny), "silo-tenant-managed-objects", "NetworkPolicy "+controllers.NetpolDefaultDeny)
	})
})

// quotaOf returns the hard limits of the tenant quota in namespace.
func quotaOf(namespace string) corev1.ResourceList {
	GinkgoHelper()
	q := &corev1.ResourceQuota{}
	Expect(admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: controllers.QuotaName}, q)).To(Succeed())
	return q.Spec.Hard
}

// service returns a Service of type typ.
func service(namespace, name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

// expectNoAccessAcross proves that the owner behind cfg, who owns namespace own, can
// make none of the requests the owner Role grants in namespace other: for every
// resource and verb of every rule of the owner Role (read from the cluster, so the
// check follows the Role as it changes), the same request RBAC refuses in other is
// first shown to pass RBAC in own (so the refusal is about the namespace, not the
// request).
func expectNoAccessAcross(cfg *rest.Config, own, other string) {
	GinkgoHelper()
	fast := rest.CopyConfig(cfg)
	fast.QPS, fast.Burst = 500, 1000        // hundreds of requests; the client's default limit would dominate
	fast.WarningHandler = rest.NoWarnings{} // deprecation warnings of the kinds tried, not findings
	dyn, err := dynamic.NewForConfig(fast)
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.Role{}
	Expect(admin.Get(ctx, client.ObjectKey{Namespace: own, Name: controllers.OwnerRoleName}, role)).To(Succeed())
	mapper := admin.RESTMapper()
	tried := 0
	for _, rule := range role.Rules {
		for _, group := range rule.APIGroups {
			for _, res := range rule.Resources {
				base, sub, _ := strings.Cut(res, "/")
				gvr, err := mapper.ResourceFor(schema.GroupVersionResource{Group: group, Resource: base})
				Expect(err).NotTo(HaveOccurred(), "resource %s in group %q", base, group)
				gvk, err := mapper.KindFor(gvr)
				Expect(err).NotTo(HaveOccurred())
				for _, verb := range rule.Verbs {
					if sub != "" && verb != "get" && verb != "create" && verb != "update" && verb != "patch" {
						continue // not a request the API serves for a subresource
					}
					tried++
					err := request(dyn, gvr, gvk.Kind, sub, verb, other)
					expectRBACRefusal(err, fmt.Sprintf("cannot %s resource %q", verb, res), fmt.Sprintf("in the namespace %q", other))
					if sub == "" && (verb == "list" || verb == "watch") {
						Expect(request(dyn, gvr, gvk.Kind, sub, verb, own)).To(Succeed(), "%s %s in the owner's own namespace", verb, res)
					}
				}
			}
		}
	}
	Expect(tried).To(BeNumerically(">", 50), "the owner Role should grant many requests to try")
}

// request makes one request of verb on resource gvr (and subresource sub) in
// namespace, against an object that need not exist: RBAC decides before the object
// is looked up.
func request(dyn dynamic.Interface, gvr schema.GroupVersionResource, kind, sub, verb, namespace string) error {
	r := dyn.Resource(gvr).Namespace(namespace)
	subs := []string{}
	if sub != "" {
		subs = append(subs, sub)
	}
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(gvr.GroupVersion().String())
	obj.SetKind(kind)
	obj.SetName("conformance-probe")
	obj.SetNamespace(namespace)
	switch verb {
	case "get":
		_, err := r.Get(ctx, "conformance-probe", metav1.GetOptions{}, subs...)
		return err
	case "list":
		_, err := r.List(ctx, metav1.ListOptions{Limit: 1})
		return err
	case "watch":
		w, err := r.Watch(ctx, metav1.ListOptions{TimeoutSeconds: ptr.To(int64(1))})
		if err == nil {
			w.Stop()
		}
		return err
	case "create":
		_, err := r.Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}, subs...)
		return err
	case "update":
		_, err := r.Update(ctx, obj, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}, subs...)
		return err
	case "patch":
		_, err := r.Patch(ctx, "conformance-probe", types.MergePatchType, []byte(`{}`),
			metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}, subs...)
		return err
	case "delete":
		return r.Delete(ctx, "conformance-probe", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}, subs...)
	case "deletecollection":
		return r.DeleteCollection(ctx, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}, metav1.ListOptions{})
	}
	Fail("no request for verb " + verb)
	return nil
}
