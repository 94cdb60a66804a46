package conformance

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// Tenant C is what the attacks below aim at, or try to get: it has its own
// IngressClass, an autoscaled app and a managed database, one GPU, and deletion
// protection. The operator the suite runs has these allow-lists (on an existing
// cluster, the checks that need them are skipped or read what is installed).
const (
	ownerCName       = "owner-c@conformance.example"
	hostC            = "c.shop.example.com"
	ingressClassC    = "conformance-c"
	ingressClassElse = "conformance-shared"
	// platformPriority is on the operator's --allowed-priority-classes.
	platformPriority = "conformance-tenant"
	// managedPriority is the operator's --default-priority-class.
	managedPriority = "conformance-managed"
	// platformToleration is on the operator's --allowed-tolerations.
	platformToleration = "conformance.example/spot"
	gpu                = corev1.ResourceName("nvidia.com/gpu")
	hpaController      = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
)

// conformanceConfig is the operator configuration of the suite's own control plane:
// the defaults plus a platform list for each guardrail that has one.
func conformanceConfig() controllers.Config {
	cfg := controllers.DefaultConfig()
	cfg.Guardrails.PriorityClasses = []string{platformPriority}
	cfg.Guardrails.DefaultPriorityClass = managedPriority
	cfg.Guardrails.Tolerations = []string{platformToleration}
	return cfg
}

var (
	tenantC *silov1.Tenant
	nsC     string
	ownerC  client.Client
)

// The attacks of the second red-team round (issue 12), each a check named after the
// attack with a positive control beside it, run with the operator running and again
// with it stopped: the guardrails are the API server's, not the operator's.
var _ = Describe("Attacks on the fences", Ordered, ContinueOnFailure, func() {
	BeforeAll(func() {
		for _, o := range []client.Object{
			&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: ingressClassC},
				Spec: networkingv1.IngressClassSpec{Controller: "example.com/conformance"}},
			&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: ingressClassElse},
				Spec: networkingv1.IngressClassSpec{Controller: "example.com/conformance"}},
			&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: platformPriority}, Value: 1000},
			&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: managedPriority}, Value: 100},
		} {
			createCleanedUp(o)
		}
		c := newTenant("conformance-c", ownerCName)
		c.Spec.App.Ingress = &silov1.IngressSpec{Host: hostC, ClassName: ingressClassC}
		c.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MaxReplicas: 3}
		c.Spec.Database = &silov1.DatabaseSpec{}
		c.Spec.Quota.Extended = map[string]resource.Quantity{string(gpu): resource.MustParse("1")}
		c.Spec.DeletionProtection = true
		tenantC = createTenant(c)
		nsC = controllers.NamespaceFor(tenantC)
		DeferCleanup(deleteProtectedTenant, tenantC)
		var err error
		ownerC, _, err = user(ownerCName)
		Expect(err).NotTo(HaveOccurred())
	})

	Context("with the operator running", func() { attacks("up") })

	Context("with the operator stopped", Ordered, func() {
		var late *silov1.Tenant
		BeforeAll(func() {
			onEnvtest("it stops the operator the suite runs; on a cluster, scale the operator to zero and run these checks alone")
			t := newTenant("conformance-late", "owner-late@conformance.example")
			t.Spec.DeletionProtection = true
			late = createTenant(t)
			stopOperatorUntilCleanup()
		})

		attacks("down")

		check("SILO-NS-DELETE", "namespace deletion, operator stopped: lifting a Tenant's protection leaves its namespace protected until the operator has seen it", func() {
			Expect(admin.Patch(ctx, late, client.RawPatch(types.MergePatchType,
				[]byte(`{"spec":{"deletionProtection":false}}`)))).To(Succeed())
			Expect(admin.Delete(ctx, late)).To(Succeed(), "the Tenant itself is no longer protected")
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllers.NamespaceFor(late)}}
			expectPolicyRefusal(admin.Delete(ctx, ns), "silo-tenant-namespace-deletion", "belongs to a Tenant with spec.deletionProtection: true")
		})
	})

	Context("when the operator is back", func() {
		check("SILO-NS-DELETE", "namespace deletion: the operator's own deletion (deletionPolicy Delete) of a Tenant deleted while it was down goes through its namespace's protection mark", func() {
			onEnvtest("it follows the checks with the operator stopped")
			ns := &corev1.Namespace{}
			Eventually(func(g Gomega) {
				err := admin.Get(ctx, client.ObjectKey{Name: controllers.NamespaceFor(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "conformance-late"}})}, ns)
				if apierrors.IsNotFound(err) {
					return
				}
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(ns.DeletionTimestamp).NotTo(BeNil(), "the operator has not deleted the namespace")
			}).Should(Succeed())
			Expect(ns.Annotations).To(HaveKeyWithValue(silov1.DeletionProtectionAnnotation, "true"),
				"the namespace was still marked when the operator deleted it")
		})
	})
})

// attacks declares one check per attack; run names the run ("up" or "down"), so the
// objects each run creates do not collide.
func attacks(run string) {
	when := map[string]string{"up": "", "down": " (operator stopped)"}[run]
	name := func(base string) string { return base + "-" + run }

	check("SILO-PRIORITY", "priority and eviction: a pod or pod template may not name a PriorityClass outside the platform's list; no class, a listed class and the cluster's globalDefault are admitted"+when, func() {
		pod := restrictedPod(nsB, name("critical"), imageB)
		pod.Spec.PriorityClassName = "system-node-critical"
		expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-priority-class",
			"pod "+pod.Name+" uses priorityClassName system-node-critical, which tenant namespaces may not use")
		d := deployment(restrictedPod(nsB, "", imageB), name("critical"))
		d.Spec.Template.Spec.PriorityClassName = "system-cluster-critical"
		expectPolicyRefusal(ownerB.Create(ctx, d), "silo-tenant-priority-class",
			"the pod template of Deployment "+d.Name+" uses priorityClassName system-cluster-critical")
		if env != nil {
			pod = restrictedPod(nsB, name("high"), imageB)
			pod.Spec.PriorityClassName = platformPriority
			Expect(ownerB.Create(ctx, pod)).To(Succeed(), "a class on the platform's list")
			pod = restrictedPod(nsB, name("managed-class"), imageB)
			pod.Spec.PriorityClassName = managedPriority
			Expect(ownerB.Create(ctx, pod)).To(Succeed(), "the managed workloads' class")
		}
		Expect(ownerB.Create(ctx, restrictedPod(nsB, name("plain"), imageB))).To(Succeed())

		// The cluster's globalDefault class, which the Priority admission plugin writes
		// into a pod that names none: once the policy knows the class, a pod naming it is
		// refused; once the class is the default, a plain pod gets it and is admitted.
		if env == nil {
			return // making a PriorityClass the cluster's globalDefault is for the suite's own cluster
		}
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name("conformance-default")}, Value: 10}
		Expect(admin.Create(ctx, pc)).To(Succeed())
		DeferCleanup(func() { Expect(admin.Delete(ctx, pc)).To(Succeed()) })
		named := restrictedPod(nsB, name("names-default"), imageB)
		named.Spec.PriorityClassName = pc.Name
		Eventually(func() error { return ownerB.Create(ctx, named.DeepCopy(), client.DryRunAll) }).Should(HaveOccurred())
		pc.GlobalDefault = true
		Expect(admin.Update(ctx, pc)).To(Succeed())
		plain := restrictedPod(nsB, name("defaulted"), imageB)
		Eventually(func(g Gomega) {
			got := plain.DeepCopy()
			g.Expect(ownerB.Create(ctx, got, client.DryRunAll)).To(Succeed())
			g.Expect(got.Spec.PriorityClassName).To(Equal(pc.Name), "the Priority admission plugin has not defaulted the class yet")
		}).Should(Succeed())
	})

	check("SILO-TOLERATION", "foreign tolerations: a pod may not tolerate the control plane's or GPU nodes' taints; node.kubernetes.io, the platform's and a granted resource's are admitted"+when, func() {
		for _, key := range []string{"node-role.kubernetes.io/control-plane", string(gpu)} {
			pod := restrictedPod(nsB, name("tolerates"), imageB)
			pod.Spec.Tolerations = []corev1.Toleration{{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
			expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-placement",
				"pod "+pod.Name+" tolerates the taint "+key+", which tenant namespaces may not")
		}
		d := deployment(restrictedPod(nsB, "", imageB), name("tolerates"))
		d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists}}
		expectPolicyRefusal(ownerB.Create(ctx, d), "silo-tenant-placement", "the pod template of Deployment "+d.Name+" tolerates the taint")

		pod := restrictedPod(nsB, name("not-ready"), imageB)
		pod.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(30))}}
		Expect(ownerB.Create(ctx, pod)).To(Succeed())
		pod = restrictedPod(nsC, name("gpu-node"), imageB)
		pod.Spec.Tolerations = []corev1.Toleration{{Key: string(gpu), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		Expect(ownerC.Create(ctx, pod)).To(Succeed(), "tenant C is granted GPUs")
		if env != nil {
			pod = restrictedPod(nsB, name("spot"), imageB)
			pod.Spec.Tolerations = []corev1.Toleration{{Key: platformToleration, Operator: corev1.TolerationOpExists}}
			Expect(ownerB.Create(ctx, pod)).To(Succeed(), "a taint on the platform's list")
		}
	})

	check("SILO-EXTENDED", "extended resources: a tenant gets none of the GPUs the platform names unless its Tenant grants them, and no more than granted"+when, func() {
		for ns, want := range map[string]string{nsB: "0", nsC: "1"} {
			q := &corev1.ResourceQuota{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.QuotaName}, q)).To(Succeed())
			Expect(q.Spec.Hard).To(HaveKeyWithValue(corev1.DefaultResourceRequestsPrefix+gpu, resource.MustParse(want)), ns)
		}
		if env != nil {
			standInForQuotaController(nsC)
		}
		pod := gpuPod(nsC, name("two-gpus"), 2)
		err := ownerC.Create(ctx, pod)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want the quota to refuse 2 GPUs, got: %v", err)
		Expect(err.Error()).To(And(ContainSubstring("exceeded quota"), ContainSubstring("limited: requests.nvidia.com/gpu=1")))
		pod = gpuPod(nsC, name("one-gpu"), 1)
		Expect(ownerC.Create(ctx, pod)).To(Succeed())
		Expect(ownerC.Delete(ctx, pod)).To(Succeed())
	})

	check("SILO-INGRESS-ANNOTATION", "ingress annotations: server-alias, auth-url, mirror-target, snippets and annotations off the platform's list are refused; cert-manager.io is admitted"+when, func() {
		for key, says := range map[string]string{
			"nginx.ingress.kubernetes.io/server-alias":          "which tenant namespaces never allow",
			"nginx.ingress.kubernetes.io/auth-url":              "which tenant namespaces never allow",
			"nginx.ingress.kubernetes.io/mirror-target":         "which tenant namespaces never allow",
			"nginx.ingress.kubernetes.io/configuration-snippet": "which tenant namespaces never allow",
			"nginx.ingress.kubernetes.io/rewrite-target":        "which is not on the platform's list for tenant Ingresses (cert-manager.io/)",
		} {
			ing := ingressWithClass(nsC, name("annotated"), hostC, ingressClassC)
			ing.Annotations = map[string]string{key: "http://app." + nsA + ".svc.cluster.local"}
			expectPolicyRefusal(ownerC.Create(ctx, ing), "silo-tenant-ingress-annotations",
				"Ingress "+ing.Name+" carries the annotation "+key+", "+says)
		}
		// The legacy way to pick another tenant's controller.
		legacy := ingress(nsA, name("legacy-class"), hostA)
		legacy.Annotations = map[string]string{"kubernetes.io/ingress.class": ingressClassC}
		expectPolicyRefusal(ownerA.Create(ctx, legacy), "silo-tenant-ingress-annotations",
			"carries the annotation kubernetes.io/ingress.class, which is not on the platform's list")
		ing := ingressWithClass(nsC, name("tls"), hostC, ingressClassC)
		ing.Annotations = map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"}
		Expect(ownerC.Create(ctx, ing)).To(Succeed())
	})

	check("SILO-INGRESS-CLASS", "ingress class: an Ingress may use only its Tenant's IngressClass, or without one the cluster's default"+when, func() {
		expectPolicyRefusal(ownerC.Create(ctx, ingressWithClass(nsC, name("other-class"), hostC, ingressClassElse)),
			"silo-tenant-ingress-class", "uses IngressClass "+ingressClassElse+", but this tenant's Ingresses are served by IngressClass "+ingressClassC)
		expectPolicyRefusal(ownerC.Create(ctx, ingress(nsC, name("no-class"), hostC)),
			"silo-tenant-ingress-class", "names no IngressClass", "set spec.ingressClassName: "+ingressClassC)
		// The policy reads IngressClasses from the API server's informer, which learns
		// of the ones the suite created a moment after.
		var err error
		Eventually(func() error {
			err = ownerA.Create(ctx, ingressWithClass(nsA, name("takes-c"), hostA, ingressClassC), client.DryRunAll)
			return err
		}).Should(HaveOccurred())
		expectPolicyRefusal(err, "silo-tenant-ingress-default-class",
			"uses IngressClass "+ingressClassC+", but this tenant has no IngressClass of its own")
		Expect(ownerC.Create(ctx, ingressWithClass(nsC, name("own-class"), hostC, ingressClassC))).To(Succeed())
		Expect(ownerA.Create(ctx, ingress(nsA, name("default-class"), hostA))).To(Succeed())

		// The cluster's default IngressClass, which the DefaultIngressClass admission
		// plugin writes into an Ingress that names none: a tenant without a class of its
		// own may name it.
		if env == nil {
			return // making an IngressClass the cluster's default is for the suite's own cluster
		}
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name("conformance-default")},
			Spec: networkingv1.IngressClassSpec{Controller: "example.com/conformance"}}
		Expect(admin.Create(ctx, ic)).To(Succeed())
		DeferCleanup(func() { Expect(admin.Delete(ctx, ic)).To(Succeed()) })
		named := ingressWithClass(nsA, name("names-default"), hostA, ic.Name)
		Eventually(func() error { return ownerA.Create(ctx, named.DeepCopy(), client.DryRunAll) }).Should(HaveOccurred())
		ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		Expect(admin.Update(ctx, ic)).To(Succeed())
		Eventually(func(g Gomega) {
			got := ingress(nsA, name("defaulted"), hostA)
			g.Expect(ownerA.Create(ctx, got, client.DryRunAll)).To(Succeed())
			g.Expect(got.Spec.IngressClassName).To(HaveValue(Equal(ic.Name)), "the DefaultIngressClass plugin has not defaulted the class yet")
		}).Should(Succeed())
	})

	check("SILO-IMAGE-VOLUME", "image volumes: a pod or pod template may not mount an image from outside the registry allow-list; one from an allowed registry is admitted"+when, func() {
		pod := withImageVolume(podInA(name("image-volume")), imageB)
		expectPolicyRefusal(ownerA.Create(ctx, pod), "silo-tenant-image-registries",
			"pod "+pod.Name+": image "+imageB+" is not from a registry this tenant allows")
		d := deployment(withImageVolume(podInA(""), imageB), name("image-volume"))
		expectPolicyRefusal(ownerA.Create(ctx, d), "silo-tenant-image-registries",
			"the pod template of Deployment "+d.Name+": image "+imageB)
		Expect(ownerA.Create(ctx, withImageVolume(podInA(name("allowed-volume")), registryA+"shop/data:1"))).To(Succeed())
	})

	check("SILO-SCALE", "scale subresource: only the operator scales the managed workloads, and the autoscaler the autoscaled app; an owner scales its own"+when, func() {
		app := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: nsC, Name: controllers.AppName}}
		db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: nsC, Name: controllers.DatabaseName}}
		expectPolicyRefusal(scale(ownerC, app, 0), "silo-tenant-managed-scale",
			"Deployment app is managed by Silo: its replica count is the Tenant's", "may not scale it")
		expectPolicyRefusal(scale(ownerC, db, 0), "silo-tenant-managed-scale", "StatefulSet database is managed by Silo")
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsC, Name: name("own-autoscaler")},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: controllers.AppName},
				MinReplicas:    ptr.To(int32(50)), MaxReplicas: 100,
			},
		}
		expectPolicyRefusal(ownerC.Create(ctx, hpa), "silo-tenant-managed-scale",
			"HorizontalPodAutoscaler "+hpa.Name+" targets Deployment app, which is managed by Silo")

		autoscaler := hpaControllerClient()
		Expect(scale(autoscaler, app, 2)).To(Succeed(), "the autoscaler scales the autoscaled app")
		expectPolicyRefusal(scale(autoscaler, db, 2), "silo-tenant-managed-scale", "StatefulSet database is managed by Silo")

		own := deployment(restrictedPod(nsC, "", imageB), name("own-scaled"))
		Expect(ownerC.Create(ctx, own)).To(Succeed())
		Expect(scale(ownerC, own, 3)).To(Succeed())
	})

	check("SILO-NS-DELETE", "namespace deletion: the namespace of a Tenant with deletion protection cannot be deleted, by a cluster admin either"+when, func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsC}}
		expectRBACRefusal(ownerC.Delete(ctx, ns), `cannot delete resource "namespaces"`)
		expectPolicyRefusal(admin.Delete(ctx, ns), "silo-tenant-namespace-deletion",
			"namespace "+nsC+" belongs to a Tenant with spec.deletionProtection: true, so it cannot be deleted")
		unmark := client.RawPatch(types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"`+silov1.DeletionProtectionAnnotation+`":null}}}`))
		expectPolicyRefusal(admin.Patch(ctx, ns.DeepCopy(), unmark), "silo-tenant-namespace",
			"only the Silo operator may change its labels and annotations "+silov1.DeletionProtectionAnnotation)
		if run == "down" {
			return
		}
		// Without protection (the operator removes the mark), the namespace can be deleted.
		t := newTenant("conformance-unprotected", "owner-unprotected@conformance.example")
		t.Spec.DeletionProtection = true
		t = createTenant(t)
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		Expect(admin.Patch(ctx, t, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"deletionProtection":false}}`)))).To(Succeed())
		Eventually(func() error {
			return admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllers.NamespaceFor(t)}})
		}).Should(Succeed())
	})
}

// createCleanedUp creates a cluster-scoped object the suite needs, and deletes it at
// the end of the container; an object already there (an earlier run on an existing
// cluster) is used as it is.
func createCleanedUp(o client.Object) {
	GinkgoHelper()
	err := admin.Create(ctx, o)
	if apierrors.IsAlreadyExists(err) {
		return
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = admin.Delete(ctx, o) })
}

// deleteProtectedTenant lifts t's deletion protection and deletes it.
func deleteProtectedTenant(t *silov1.Tenant) {
	_ = admin.Patch(ctx, t, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"deletionProtection":false}}`)))
	_ = admin.Delete(ctx, t)
}

// ingressWithClass returns ingress with spec.ingressClassName class.
func ingressWithClass(namespace, name, host, class string) *networkingv1.Ingress {
	ing := ingress(namespace, name, host)
	ing.Spec.IngressClassName = ptr.To(class)
	return ing
}

// gpuPod returns a pod asking for gpus GPUs.
func gpuPod(namespace, name string, gpus int64) *corev1.Pod {
	pod := restrictedPod(namespace, name, imageB)
	pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{gpu: *resource.NewQuantity(gpus, resource.DecimalSI)}
	return pod
}

// withImageVolume mounts an image volume of image into pod's first container.
func withImageVolume(pod *corev1.Pod, image string) *corev1.Pod {
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "data",
		VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: image}}})
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "data", MountPath: "/data", ReadOnly: true})
	return pod
}

// scale sets the replicas of workload through its scale subresource, as kubectl
// scale and the HorizontalPodAutoscaler controller do.
func scale(c client.Client, workload client.Object, replicas int32) error {
	patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	return c.SubResource("scale").Patch(ctx, workload, patch, client.WithSubResourceBody(&autoscalingv1.Scale{}))
}

// hpaControllerClient returns a client acting as kube-controller-manager's
// HorizontalPodAutoscaler controller; on envtest (no controller manager) it is given
// the controller's right to scale workloads.
func hpaControllerClient() client.Client {
	GinkgoHelper()
	if env != nil {
		grantClusterRole("conformance-hpa-controller", hpaController, rbacv1.PolicyRule{
			APIGroups: []string{"apps"}, Resources: []string{"deployments/scale", "statefulsets/scale"},
			Verbs: []string{"get", "update", "patch"},
		})
	}
	c, _, err := user(hpaController, "system:serviceaccounts", "system:serviceaccounts:kube-system")
	Expect(err).NotTo(HaveOccurred())
	return c
}
