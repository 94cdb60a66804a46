package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

var _ = Describe("A Tenant's isolated namespace", func() {
	var (
		t  *silov1.Tenant
		ns string
	)
	BeforeEach(func() {
		t = newTenant(uniqueName("iso"))
		t.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: "alice@" + t.Name}}
		t.Spec.Quota = silov1.QuotaSpec{CPU: ptr.To(resource.MustParse("8")), Pods: ptr.To(int32(30))}
		t = createTenant(t)
		ns = controllers.NamespaceFor(t)
	})

	It("is created with the tenant label, Pod Security labels and the Tenant as controller", func() {
		n := &corev1.Namespace{}
		Expect(get(n, "", ns)).To(Succeed())
		Expect(n.Labels).To(HaveKeyWithValue(silov1.TenantLabel, t.Name))
		Expect(n.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
		for _, mode := range []string{"enforce", "audit", "warn"} {
			Expect(n.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/"+mode, "restricted"))
		}
		Expect(metav1.GetControllerOf(n)).NotTo(BeNil())
		Expect(metav1.GetControllerOf(n).UID).To(Equal(t.UID))
		Expect(t.Status.Namespace).To(Equal(ns))
	})

	It("has a ResourceQuota with the Tenant's limits, defaults for the rest, and no NodePorts or LoadBalancers", func() {
		q := &corev1.ResourceQuota{}
		Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
		hard := q.Spec.Hard
		expectQty := func(name corev1.ResourceName, want string) {
			v, ok := hard[name]
			ExpectWithOffset(1, ok).To(BeTrue(), "quota has no %s", name)
			ExpectWithOffset(1, v.Cmp(resource.MustParse(want))).To(Equal(0), "%s is %s, want %s", name, v.String(), want)
		}
		expectQty(corev1.ResourceRequestsCPU, "8")
		expectQty(corev1.ResourceLimitsCPU, "8")
		expectQty(corev1.ResourcePods, "30")
		expectQty(corev1.ResourceRequestsMemory, "8Gi")
		expectQty(corev1.ResourceRequestsEphemeralStorage, "20Gi")
		expectQty(corev1.ResourceRequestsStorage, "50Gi")
		expectQty(corev1.ResourceServices, "20")
		expectQty(corev1.ResourceSecrets, "50")
		expectQty(corev1.ResourceConfigMaps, "50")
		expectQty(corev1.ResourcePersistentVolumeClaims, "20")
		expectQty(corev1.ResourceReplicationControllers, "0")
		expectQty(corev1.ResourceQuotas, "1")
		expectQty(corev1.ResourceServicesNodePorts, "0")
		expectQty(corev1.ResourceServicesLoadBalancers, "0")
	})

	It("has a LimitRange whose defaults let a pod without resources fit the quota", func() {
		lr := &corev1.LimitRange{}
		Expect(get(lr, ns, controllers.LimitRangeName)).To(Succeed())
		Expect(lr.Spec.Limits).To(HaveLen(1))
		Expect(lr.Spec.Limits[0].Type).To(Equal(corev1.LimitTypeContainer))
		Expect(lr.Spec.Limits[0].Default).To(HaveKey(corev1.ResourceCPU))
		Expect(lr.Spec.Limits[0].Default).To(HaveKey(corev1.ResourceMemory))
		Expect(lr.Spec.Limits[0].DefaultRequest).To(HaveKey(corev1.ResourceCPU))
	})

	It("denies all traffic by default and allows the namespace, DNS and the ingress controller, but not the internet", func() {
		list := &networkingv1.NetworkPolicyList{}
		Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		names := []string{}
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		Expect(names).To(ConsistOf(controllers.NetpolDefaultDeny, controllers.NetpolAllowNamespace,
			controllers.NetpolAllowDNS, controllers.NetpolAllowDNSCache, controllers.NetpolAllowIngress))
		deny := &networkingv1.NetworkPolicy{}
		Expect(get(deny, ns, controllers.NetpolDefaultDeny)).To(Succeed())
		Expect(deny.Spec.PodSelector.MatchLabels).To(BeEmpty())
		Expect(deny.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
		Expect(deny.Spec.Ingress).To(BeEmpty())
		Expect(deny.Spec.Egress).To(BeEmpty())
	})

	It("adds internet egress only when the Tenant asks for it, and removes it when it stops asking", func() {
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Network.AllowInternetEgress = ptr.To(true) })
		Eventually(get).WithArguments(&networkingv1.NetworkPolicy{}, ns, controllers.NetpolAllowInternet).Should(Succeed())

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Network.AllowInternetEgress = ptr.To(false) })
		Eventually(func() bool {
			return isNotFound(get(&networkingv1.NetworkPolicy{}, ns, controllers.NetpolAllowInternet))
		}).Should(BeTrue())
	})

	It("binds an explicit owner Role (not the aggregated admin ClusterRole) to the owners", func() {
		rb := &rbacv1.RoleBinding{}
		Expect(get(rb, ns, controllers.OwnerRoleBindingName)).To(Succeed())
		Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: controllers.OwnerRoleName}))
		Expect(rb.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice@" + t.Name}))
		role := &rbacv1.Role{}
		Expect(get(role, ns, controllers.OwnerRoleName)).To(Succeed())
		for _, rule := range role.Rules {
			Expect(rule.Verbs).NotTo(ContainElement("*"))
			Expect(rule.Resources).NotTo(ContainElement("*"))
		}
	})

	It("turns off token automounting for the default ServiceAccount", func() {
		sa := &corev1.ServiceAccount{}
		Expect(get(sa, ns, "default")).To(Succeed())
		Expect(sa.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
	})

	Context("as seen by an owner, a real non-admin user", func() {
		var owner client.Client
		BeforeEach(func() {
			var err error
			owner, _, err = env.User("alice@" + t.Name)
			Expect(err).NotTo(HaveOccurred())
		})

		It("lets the owner create a Deployment in the tenant namespace", func() {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "own-app", Namespace: ns},
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "own"}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "own"}},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
					},
				},
			}
			Eventually(func() error { return owner.Create(ctx, d) }).Should(Succeed())
		})

		It("refuses the owner reading Secrets in another tenant's namespace", func() {
			other := createTenant(newTenant(uniqueName("other")))
			err := owner.List(ctx, &corev1.SecretList{}, client.InNamespace(controllers.NamespaceFor(other)))
			Expect(isForbidden(err)).To(BeTrue(), "listing another tenant's Secrets: %v", err)
			err = owner.Get(ctx, client.ObjectKey{Namespace: controllers.NamespaceFor(other), Name: "anything"}, &corev1.Secret{})
			Expect(isForbidden(err)).To(BeTrue(), "reading another tenant's Secret: %v", err)
		})

		It("refuses the owner updating its ResourceQuota", func() {
			q := &corev1.ResourceQuota{}
			Expect(owner.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.QuotaName}, q)).To(Succeed())
			q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
			err := owner.Update(ctx, q)
			Expect(isForbidden(err)).To(BeTrue(), "updating the quota: %v", err)
		})

		// Silo's own policies, Role and binding are kept from owners by the
		// silo-tenant-managed-objects admission policy, which the conformance tier
		// installs and proves (this tier runs none).
		It("lets the owner manage NetworkPolicies, Roles and RoleBindings of its own (self-service)", func() {
			np := &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "own"},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
						PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					}}}},
				},
			}
			Eventually(func() error { return owner.Create(ctx, np) }).Should(Succeed())
			role := &rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-reader"},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
			}
			Expect(owner.Create(ctx, role)).To(Succeed())
			Expect(owner.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-readers"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "colleague@" + t.Name}},
			})).To(Succeed())
		})

		It("refuses the owner binding itself more rights", func() {
			rb := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "escalate"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice@" + t.Name}},
			}
			err := owner.Create(ctx, rb)
			Expect(isForbidden(err)).To(BeTrue(), "creating a RoleBinding: %v", err)
		})

		It("refuses the owner anything outside the namespace", func() {
			err := owner.List(ctx, &corev1.NamespaceList{})
			Expect(isForbidden(err)).To(BeTrue(), "listing namespaces: %v", err)
			err = owner.List(ctx, &silov1.TenantList{})
			Expect(isForbidden(err)).To(BeTrue(), "listing Tenants: %v", err)
		})
	})

	It("refuses a privileged pod through Pod Security admission", func() {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "busybox",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
			}}},
		}
		err := k8s.Create(ctx, pod)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`violates PodSecurity "restricted:latest"`))
		Expect(err.Error()).To(ContainSubstring("privileged"))
	})
})

var _ = Describe("The guardrails' inputs", func() {
	It("are carried by the namespace, quota and workloads, and dropped when the Tenant drops them", func() {
		t := newTenant(uniqueName("guard"))
		t.Spec.Quota.Extended = map[string]resource.Quantity{"nvidia.com/gpu": resource.MustParse("2")}
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: t.Name + ".example.com", ClassName: "public"}
		t.Spec.DeletionProtection = true
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		n, q := &corev1.Namespace{}, &corev1.ResourceQuota{}
		Eventually(func(g Gomega) {
			g.Expect(get(n, "", ns)).To(Succeed())
			g.Expect(n.Annotations).To(And(
				HaveKeyWithValue(silov1.IngressClassAnnotation, "public"),
				HaveKeyWithValue(silov1.DeletionProtectionAnnotation, "true"),
				HaveKeyWithValue(silov1.AllowedTolerationsAnnotation, "nvidia.com/gpu"),
				HaveKeyWithValue(silov1.AllowedPriorityClassesAnnotation, managedPriorityClass),
				HaveKeyWithValue(silov1.AllowedIngressAnnotationsAnnotation, "cert-manager.io/")))
			g.Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
			g.Expect(q.Spec.Hard).To(And(
				HaveKeyWithValue(corev1.ResourceName("requests.nvidia.com/gpu"), resource.MustParse("2")),
				HaveKeyWithValue(corev1.ResourceName("requests.amd.com/gpu"), resource.MustParse("0"))))
		}).Should(Succeed())
		app := &appsv1.Deployment{}
		Expect(get(app, ns, controllers.AppName)).To(Succeed())
		Expect(app.Spec.Template.Spec.PriorityClassName).To(Equal(managedPriorityClass))

		// The namespace was created with these keys, not applied: server-side apply
		// does not remove them when Silo stops sending them.
		updateTenant(t.Name, func(t *silov1.Tenant) {
			t.Spec.Quota.Extended = nil
			t.Spec.App.Ingress.ClassName = ""
			t.Spec.DeletionProtection = false
		})
		Eventually(func(g Gomega) {
			g.Expect(get(n, "", ns)).To(Succeed())
			g.Expect(n.Annotations).NotTo(Or(
				HaveKey(silov1.IngressClassAnnotation),
				HaveKey(silov1.DeletionProtectionAnnotation),
				HaveKey(silov1.AllowedTolerationsAnnotation)))
			g.Expect(get(q, ns, controllers.QuotaName)).To(Succeed())
			g.Expect(q.Spec.Hard).To(HaveKeyWithValue(corev1.ResourceName("requests.nvidia.com/gpu"), resource.MustParse("0")))
		}).Should(Succeed())
	})
})
