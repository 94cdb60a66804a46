package conformance

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// Silo's own guardrails, beyond the benchmark.
var _ = Describe("Silo guardrails", func() {
	check("SILO-NET-1", "no LoadBalancer Service and no externalIPs in a tenant namespace", func() {
		expectPolicyRefusal(ownerB.Create(ctx, service(nsB, "lb", corev1.ServiceTypeLoadBalancer)),
			"silo-tenant-service-exposure", "is of type LoadBalancer")
		svc := service(nsB, "external-ip", corev1.ServiceTypeClusterIP)
		svc.Spec.ExternalIPs = []string{"203.0.113.10"}
		expectPolicyRefusal(ownerB.Create(ctx, svc), "silo-tenant-service-exposure", "sets spec.externalIPs")
	})

	check("SILO-NET-2", "no ExternalName Service, and an Ingress may claim only its tenant's host and subdomains, with no default backend", func() {
		svc := service(nsB, "external-name", corev1.ServiceTypeExternalName)
		svc.Spec.ExternalName = "app." + nsA + ".svc.cluster.local"
		svc.Spec.Selector, svc.Spec.Ports = nil, nil
		expectPolicyRefusal(ownerB.Create(ctx, svc), "silo-tenant-service-exposure", "is of type ExternalName")

		expectPolicyRefusal(ownerB.Create(ctx, ingress(nsB, "take-a", hostA)), "silo-tenant-ingress-hosts",
			"claims a host, but this tenant has none")
		expectPolicyRefusal(ownerA.Create(ctx, ingress(nsA, "take-b", "b.shop.example.com")), "silo-tenant-ingress-hosts",
			"claims b.shop.example.com, which this tenant does not own: it may claim only "+hostA)
		expectPolicyRefusal(ownerA.Create(ctx, ingress(nsA, "suffix", "evil"+hostA)), "silo-tenant-ingress-hosts",
			"claims evil"+hostA)
		expectPolicyRefusal(ownerA.Create(ctx, ingress(nsA, "catch-all", "")), "silo-tenant-ingress-hosts",
			"every host (a rule without host)")
		tls := ingress(nsA, "tls-b", hostA)
		tls.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"b.shop.example.com"}, SecretName: "b-tls"}}
		expectPolicyRefusal(ownerA.Create(ctx, tls), "silo-tenant-ingress-hosts", "which this tenant does not own")
		def := ingress(nsA, "default", hostA)
		def.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "app", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		expectPolicyRefusal(ownerA.Create(ctx, def), "silo-tenant-ingress-hosts", "sets spec.defaultBackend")

		Expect(ownerA.Create(ctx, ingress(nsA, "own", hostA))).To(Succeed())
		Expect(ownerA.Create(ctx, ingress(nsA, "api", "api."+hostA))).To(Succeed())
	})

	check("SILO-MO-1", "even a cluster admin cannot edit or delete what Silo manages: network policies, limits, Role, binding", func() {
		np := &networkingv1.NetworkPolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: nsB, Name: controllers.NetpolDefaultDeny}, np)).To(Succeed())
		expectPolicyRefusal(admin.Delete(ctx, np), "silo-tenant-managed-objects",
			"NetworkPolicy default-deny in namespace "+nsB+" is managed by Silo", "Change the Tenant instead")
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		expectPolicyRefusal(admin.Update(ctx, np), "silo-tenant-managed-objects", "is managed by Silo")
		lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: controllers.LimitRangeName}}
		expectPolicyRefusal(admin.Delete(ctx, lr), "silo-tenant-managed-objects", "LimitRange "+controllers.LimitRangeName)
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: controllers.OwnerRoleName}}
		expectPolicyRefusal(admin.Delete(ctx, role), "silo-tenant-managed-objects", "Role "+controllers.OwnerRoleName)
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: controllers.OwnerRoleBindingName}}
		expectPolicyRefusal(admin.Delete(ctx, rb), "silo-tenant-managed-objects", "RoleBinding "+controllers.OwnerRoleBindingName)
	})

	check("SILO-MO-2", "nobody but the operator may put Silo's managed-by label on an object, at creation or later", func() {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "pretend", Namespace: nsB,
			Labels: map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue},
		}}
		expectPolicyRefusal(ownerB.Create(ctx, cm), "silo-tenant-managed-objects",
			"only the operator may set it; remove it from ConfigMap pretend")
		cm.Labels = nil
		Expect(ownerB.Create(ctx, cm)).To(Succeed())
		cm.Labels = map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue}
		expectPolicyRefusal(ownerB.Update(ctx, cm), "silo-tenant-managed-objects", "only the operator may set it")
	})

	check("SILO-MO-4", "nobody but the operator may pass a Job for a migration Job of Silo's (the managed-by label); an owner's own Job is fine", func() {
		pod := restrictedPod(nsB, "", imageB)
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "migrate-pretend", Namespace: nsB,
				Labels: map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue, silov1.ComponentLabel: controllers.MigrationComponent}},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: pod.Spec}},
		}
		expectPolicyRefusal(ownerB.Create(ctx, job), "silo-tenant-managed-objects",
			"only the operator may set it; remove it from Job migrate-pretend")
		job.Labels = nil
		job.Name = "own-batch"
		Expect(ownerB.Create(ctx, job)).To(Succeed())
	})

	check("SILO-MO-3", "the fences leave Kubernetes' own quota accounting alone: the quota controller and the API server still write quota status", func() {
		t := createTenant(newTenant("conformance-accounting", "owner-acc@conformance.example"))
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		if env != nil {
			standInForQuotaController(ns)
		}
		q := &corev1.ResourceQuota{}
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.QuotaName}, q)).To(Succeed())
			g.Expect(q.Status.Hard).To(HaveKey(corev1.ResourcePods))
		}).Should(Succeed())

		// Quota admission now counts every pod, recording usage as system:apiserver.
		owner, _, err := user("owner-acc@conformance.example")
		Expect(err).NotTo(HaveOccurred())
		Expect(owner.Create(ctx, restrictedPod(ns, "counted", imageB))).To(Succeed())
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(q), q)).To(Succeed())
		Expect(q.Status.Used).To(HaveKeyWithValue(corev1.ResourcePods, resource.MustParse("1")))

		// Anyone else writing quota status is refused, the cluster admin included.
		q.Status.Hard[corev1.ResourcePods] = resource.MustParse("1000")
		expectPolicyRefusal(admin.Status().Update(ctx, q), "silo-tenant-managed-objects", "ResourceQuota "+controllers.QuotaName)
	})

	Context("the tenant namespace", func() {
		check("SILO-NS-1", "its labels and Silo annotations cannot be changed: RBAC refuses the owner, the namespace policy refuses even a cluster admin", func() {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsA}}
			patch := client.RawPatch("application/merge-patch+json",
				[]byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`))
			expectRBACRefusal(ownerA.Patch(ctx, ns, patch), `cannot patch resource "namespaces"`)
			expectPolicyRefusal(admin.Patch(ctx, ns, patch), "silo-tenant-namespace",
				"only the Silo operator may change its labels and annotations pod-security.kubernetes.io/enforce")
			for _, p := range []string{
				`{"metadata":{"labels":{"silo.dev/tenant":null}}}`,
				`{"metadata":{"labels":{"silo.dev/node-pool":"pool-b"}}}`,
				`{"metadata":{"labels":{"silo.dev/region":null}}}`,
				`{"metadata":{"annotations":{"silo.dev/allowed-registries":"docker.io/"}}}`,
				`{"metadata":{"annotations":{"silo.dev/runtime-class":null}}}`,
			} {
				err := admin.Patch(ctx, ns.DeepCopy(), client.RawPatch("application/merge-patch+json", []byte(p)))
				expectPolicyRefusal(err, "silo-tenant-namespace", "belongs to a Silo tenant")
			}
			// Labels that are not fences stay the platform team's to set.
			Expect(admin.Patch(ctx, ns.DeepCopy(), client.RawPatch("application/merge-patch+json",
				[]byte(`{"metadata":{"labels":{"team":"payments"}}}`)))).To(Succeed())
		})

		check("SILO-NS-2", "nobody but the operator may create a namespace labelled as a tenant's", func() {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: "tenant-squatter", Labels: map[string]string{silov1.TenantLabel: "squatter"},
			}}
			expectPolicyRefusal(admin.Create(ctx, ns), "silo-tenant-namespace", "only the Silo operator may create a tenant namespace")
		})
	})

	check("SILO-DP-1", "a Tenant with deletion protection cannot be deleted, one by one or all at once, until the protection is lifted", func() {
		t := newTenant("conformance-guarded", "owner-guarded@conformance.example")
		t.Labels = map[string]string{"conformance": "guarded"}
		t.Spec.DeletionProtection = true
		t = createTenant(t)
		expectPolicyRefusal(admin.Delete(ctx, t), "silo-tenant-deletion-protection",
			"Tenant conformance-guarded has spec.deletionProtection: true", "first set spec.deletionProtection to false")
		err := admin.DeleteAllOf(ctx, &silov1.Tenant{}, client.MatchingLabels{"conformance": "guarded"})
		expectPolicyRefusal(err, "silo-tenant-deletion-protection", "Tenant conformance-guarded")
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		Expect(t.DeletionTimestamp).To(BeNil())

		Expect(admin.Patch(ctx, t, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"deletionProtection":false}}`)))).To(Succeed())
		Expect(admin.Delete(ctx, t)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{}))
		}).Should(BeTrue())
	})

	Context("the image registry allow-list", func() {
		check("SILO-IMG-1", "refuses an image from another registry in a container, an init container or an ephemeral container", func() {
			pod := podInA("elsewhere")
			pod.Spec.Containers[0].Image = "docker.io/library/busybox:1.37"
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-image-registries",
				"image docker.io/library/busybox:1.37 is not from a registry this tenant allows ("+registryA)
			pod = podInA("init-elsewhere")
			pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example.com.evil.io/x:1", SecurityContext: restrictedContainer()}}
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-image-registries", "image registry.example.com.evil.io/x:1")
			pod = podInA("debugged")
			Expect(ownerA.Create(ctx, pod)).To(Succeed())
			// Owners may not add debug containers at all (RBAC); the policy refuses even
			// a cluster admin's from another registry.
			pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "docker.io/library/busybox:1.37", SecurityContext: restrictedContainer(),
			}}}
			cs := kubernetes.NewForConfigOrDie(adminCfg)
			_, err := cs.CoreV1().Pods(nsA).UpdateEphemeralContainers(ctx, pod.Name, pod, metav1.UpdateOptions{})
			expectPolicyRefusal(err, "silo-tenant-image-registries", "image docker.io/library/busybox:1.37")
		})

		check("SILO-IMG-2", "admits images from the allowed registries, and the operator's own component images", func() {
			Expect(ownerA.Create(ctx, podInA("allowed"))).To(Succeed())
			// The operator appends its component repositories to the namespace's list.
			ns := &corev1.Namespace{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: nsA}, ns)).To(Succeed())
			allowed := strings.Split(ns.Annotations[silov1.AllowedRegistriesAnnotation], ",")
			Expect(allowed).To(HaveLen(4), "the Tenant's registry and three component repositories")
			Expect(allowed[0]).To(Equal(registryA))
			pod := podInA("component")
			pod.Spec.Containers[0].Image = allowed[3] + ":1"
			Expect(ownerA.Create(ctx, pod)).To(Succeed())
		})
	})

	Context("placement", func() {
		check("SILO-PL-1", "a pod in a tenant with a node pool must select that pool", func() {
			pod := podInA("no-pool")
			delete(pod.Spec.NodeSelector, silov1.NodePoolLabel)
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement",
				"must run on this tenant's dedicated node pool "+poolA)
		})

		check("SILO-PL-2", "no pod may select or tolerate another tenant's node pool, nor name its node", func() {
			pod := podInA("prefers-b")
			pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
					Weight: 1,
					Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
						Key: silov1.NodePoolLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"pool-b"},
					}}},
				}},
			}}
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement", "selects a node pool that is not this tenant's ("+poolA+")")

			pod = restrictedPod(nsB, "selects-a", imageB)
			pod.Spec.NodeSelector = map[string]string{silov1.NodePoolLabel: poolA}
			expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-placement", "selects a node pool that is not this tenant's (it has none)")

			pod = restrictedPod(nsB, "tolerates-a", imageB)
			pod.Spec.Tolerations = []corev1.Toleration{{Key: silov1.NodePoolLabel, Operator: corev1.TolerationOpEqual, Value: poolA}}
			expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-placement", "tolerates the taint of a node pool that is not this tenant's")

			pod = restrictedPod(nsB, "tolerates-all", imageB)
			pod.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-placement", "or every taint (a toleration without a key)")

			pod = restrictedPod(nsB, "named-node", imageB)
			pod.Spec.NodeName = "pool-a-node-1"
			expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-placement", "sets spec.nodeName")
		})

		check("SILO-PL-3", "a pod in a tenant with a runtime class must use it", func() {
			pod := podInA("no-sandbox")
			pod.Spec.RuntimeClassName = nil
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement", "must use this tenant's runtime class "+runtimeA)
		})

		check("SILO-PL-4", "a pod in a tenant with a region must be pinned to it, by node selector or by required node affinity", func() {
			pod := podInA("anywhere")
			delete(pod.Spec.NodeSelector, corev1.LabelTopologyRegion)
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement", "must stay in this tenant's region "+regionA)
			pod.Spec.Affinity = regionAffinity(regionA, "us-east-1")
			expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement", "must stay in this tenant's region "+regionA)
			pod.Spec.Affinity = regionAffinity(regionA)
			Expect(ownerA.Create(ctx, pod)).To(Succeed())
		})
	})

	check("SILO-PL-5", "workloads' pod templates are held to the same rules as pods, so a breaking workload is refused when applied", func() {
		d := deployment(podInA(""), "unpinned")
		delete(d.Spec.Template.Spec.NodeSelector, silov1.NodePoolLabel)
		expectPolicyRefusal(ownerA.Create(ctx, d), "silo-tenant-placement",
			"the pod template of Deployment unpinned must run on this tenant's dedicated node pool "+poolA)

		job := podInA("")
		job.Spec.Containers[0].Image = imageB
		job.Spec.RestartPolicy = corev1.RestartPolicyNever
		cj := &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: nsA},
			Spec: batchv1.CronJobSpec{
				Schedule: "0 3 * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
					Template: corev1.PodTemplateSpec{Spec: job.Spec},
				}},
			},
		}
		expectPolicyRefusal(ownerA.Create(ctx, cj), "silo-tenant-image-registries",
			"the pod template of CronJob nightly: image "+imageB+" is not from a registry this tenant allows")

		Expect(ownerA.Create(ctx, deployment(podInA(""), "placed"))).To(Succeed())
	})

	Context("what owners keep", func() {
		check("SILO-POS-1", "an owner can create a ClusterIP Service", func() {
			Expect(ownerB.Create(ctx, service(nsB, "web", corev1.ServiceTypeClusterIP))).To(Succeed())
		})

		check("SILO-POS-2", "an owner can create and edit its own Deployment", func() {
			d := deployment(restrictedPod(nsB, "", imageB), "own")
			Expect(ownerB.Create(ctx, d)).To(Succeed())
			d.Spec.Replicas = ptr.To(int32(3))
			d.Spec.Template.Spec.Containers[0].Image = "docker.io/library/busybox:1.38"
			Expect(ownerB.Update(ctx, d)).To(Succeed())
		})

		check("SILO-POS-3", "a compliant pod is admitted, in the most fenced tenant and in a plain one", func() {
			Expect(ownerA.Create(ctx, podInA("compliant"))).To(Succeed())
			Expect(ownerB.Create(ctx, restrictedPod(nsB, "compliant", imageB))).To(Succeed())
		})
	})

	check("SILO-OP-2", "the operator runs with the generated ClusterRole only: no wildcards, escalate and bind only on the owner Role", func() {
		onEnvtest("an installation may name the operator's ClusterRole otherwise")
		role := &rbacv1.ClusterRole{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: "silo-manager"}, role)).To(Succeed())
		for _, r := range role.Rules {
			Expect(r.APIGroups).NotTo(ContainElement("*"))
			Expect(r.Resources).NotTo(ContainElement("*"))
			Expect(r.Verbs).NotTo(ContainElement("*"))
			if len(r.NonResourceURLs) > 0 {
				Fail("the operator needs no non-resource URLs")
			}
			for _, v := range r.Verbs {
				if v == "escalate" || v == "bind" || v == "impersonate" {
					Expect(r.ResourceNames).To(Equal([]string{controllers.OwnerRoleName}), "%s must be limited to the owner Role", v)
				}
			}
		}
		// The tenants of this suite were provisioned by the operator under this role.
		Expect(tenantA.Status.Namespace).To(Equal(nsA))
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.OwnerRoleName}, &rbacv1.Role{})).To(Succeed())
	})
})

// The guardrails live in the API server: with the operator stopped they still hold.
var _ = Describe("Guardrails with the operator stopped", Ordered, func() {
	BeforeAll(func() {
		onEnvtest("it stops the operator the suite runs; on a cluster, scale the operator to zero and run this check alone")
		stopOperatorUntilCleanup()
	})

	check("SILO-OP-1", "with the operator down, a NodePort, an edit of a fence, a foreign image and an unpinned pod are still refused", func() {
		expectPolicyRefusal(ownerB.Create(ctx, service(nsB, "down-nodeport", corev1.ServiceTypeNodePort)),
			"silo-tenant-service-exposure", "is of type NodePort")
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: controllers.NetpolDefaultDeny}}
		expectPolicyRefusal(admin.Delete(ctx, np), "silo-tenant-managed-objects", "is managed by Silo")
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "default"}}
		expectPolicyRefusal(ownerB.Delete(ctx, sa), "silo-tenant-managed-objects", "is managed by Silo")
		pod := podInA("down-foreign")
		pod.Spec.Containers[0].Image = imageB
		expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-image-registries", "is not from a registry this tenant allows")
		pod = podInA("down-unpinned")
		pod.Spec.NodeSelector = nil
		expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-placement", "must run on this tenant's dedicated node pool")
		// ...while the cluster keeps working: nothing here waits for the operator.
		Expect(ownerA.Create(ctx, podInA("down-compliant"))).To(Succeed())
	})
})

// ingress returns an Ingress with one rule for host ("" for a rule without host).
func ingress(namespace, name, host string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "app", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}},
		}}},
	}
}

// deployment returns a one-replica Deployment named name running pod's spec, in pod's
// namespace.
func deployment(pod *corev1.Pod, name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       pod.Spec,
			},
		},
	}
}

// standInForQuotaController writes the status of the quota in namespace the way
// kube-controller-manager's resourcequota controller does (envtest runs none), under
// its real identity and with just the right to write quota status.
func standInForQuotaController(namespace string) {
	GinkgoHelper()
	grantClusterRole("quota-status-writer", "system:serviceaccount:kube-system:resourcequota-controller",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"resourcequotas/status"}, Verbs: []string{"update"}})
	quotaController, _, err := env.User("system:serviceaccount:kube-system:resourcequota-controller",
		"system:serviceaccounts", "system:serviceaccounts:kube-system")
	Expect(err).NotTo(HaveOccurred())
	q := &corev1.ResourceQuota{}
	Expect(quotaController.Get(ctx, client.ObjectKey{Namespace: namespace, Name: controllers.QuotaName}, q)).To(Succeed())
	q.Status.Hard = q.Spec.Hard
	q.Status.Used = corev1.ResourceList{}
	for name := range q.Spec.Hard {
		q.Status.Used[name] = resource.MustParse("0")
	}
	Expect(quotaController.Status().Update(ctx, q)).To(Succeed())
}

// grantClusterRole creates a ClusterRole with rules and binds it to user, unless an
// earlier check did.
func grantClusterRole(name, user string, rules ...rbacv1.PolicyRule) {
	GinkgoHelper()
	Expect(client.IgnoreAlreadyExists(admin.Create(ctx,
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}))).To(Succeed())
	Expect(client.IgnoreAlreadyExists(admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}))).To(Succeed())
}
