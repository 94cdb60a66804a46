package conformance

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// What a real app may ask of the platform, held to the platform's allow-lists: a
// tenant admin cannot use what the platform did not allow, and what it did allow
// still works.
var _ = Describe("Allowances of a real app", func() {
	check("SILO-WI-1", "a tenant admin cannot give a ServiceAccount a cloud workload identity; the platform gives the workload ServiceAccount one through the Tenant", func() {
		t := newTenant("conformance-identity", "owner-identity@conformance.example")
		t.Spec.ServiceAccount = &silov1.ServiceAccountSpec{Annotations: map[string]string{
			"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/identity"}}
		t = createTenant(t)
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-identity@conformance.example")
		Expect(err).NotTo(HaveOccurred())

		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "borrowed", Namespace: ns,
			Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/other-tenant"}}}
		expectPolicyRefusal(owner.Create(ctx, sa), "silo-tenant-service-accounts",
			"ServiceAccount borrowed sets eks.amazonaws.com/role-arn", "tenant admins may not set it")
		gke := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "gke", Namespace: ns,
			Annotations: map[string]string{"iam.gke.io/gcp-service-account": "platform@p.iam.gserviceaccount.com"}}}
		expectPolicyRefusal(owner.Create(ctx, gke), "silo-tenant-service-accounts", "sets iam.gke.io/gcp-service-account")

		// Positive controls: the owner's own ServiceAccount with other annotations, and
		// the workload ServiceAccount the operator annotated from the Tenant.
		own := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "own", Namespace: ns,
			Annotations: map[string]string{"example.com/team": "payments"}}}
		Expect(owner.Create(ctx, own)).To(Succeed())
		own.Annotations["eks.amazonaws.com/role-arn"] = "arn:aws:iam::111122223333:role/identity"
		expectPolicyRefusal(owner.Update(ctx, own), "silo-tenant-service-accounts", "sets eks.amazonaws.com/role-arn")
		workload := &corev1.ServiceAccount{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.WorkloadSAName}, workload)).To(Succeed())
		Expect(workload.Annotations).To(HaveKeyWithValue("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/identity"))
		app := &appsv1.Deployment{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.AppName}, app)).To(Succeed())
		Expect(app.Spec.Template.Spec.ServiceAccountName).To(Equal(controllers.WorkloadSAName))
	})

	check("SILO-NET-3", "egress to a private range is the platform's to grant in the Tenant: a tenant admin can neither add one nor widen the operator's", func() {
		t := newTenant("conformance-egress", "owner-egress@conformance.example")
		t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.20.0.0/16", Ports: []int32{5432}}}
		t = createTenant(t)
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-egress@conformance.example")
		Expect(err).NotTo(HaveOccurred())

		// Refused by RBAC, or by the self-service policy where owners may write
		// NetworkPolicies of their own: either way, no ipBlock from a tenant admin.
		np := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "to-the-vpc", Namespace: ns},
			Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}}}},
			},
		}
		err = owner.Create(ctx, np)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "an owner created an egress NetworkPolicy to 10.0.0.0/8: %v", err)

		granted := &networkingv1.NetworkPolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.NetpolAllowEgress}, granted)).To(Succeed())
		Expect(granted.Spec.Egress[0].To[0].IPBlock.CIDR).To(Equal("10.20.0.0/16"), "the range the platform granted")
		granted.Spec.Egress[0].To[0].IPBlock.CIDR = "10.0.0.0/8"
		Expect(apierrors.IsForbidden(owner.Update(ctx, granted))).To(BeTrue(), "an owner widened the granted range")
		// Not even a cluster admin (managed-objects or self-service refuses it first).
		err = admin.Update(ctx, granted)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a cluster admin widened the granted range: %v", err)
		Expect(err.Error()).To(ContainSubstring("ValidatingAdmissionPolicy"))
	})

	check("SILO-TLS-1", "a tenant admin's Ingress may ask only the platform's ClusterIssuers for a certificate", func() {
		expectPolicyRefusal(ownerA.Create(ctx, issuedIngress("internal", "internal-ca")), "silo-tenant-cluster-issuers",
			"asks ClusterIssuer internal-ca for its certificate, which this tenant may not use: name one of "+allowedIssuer)
		Expect(ownerA.Create(ctx, issuedIngress("public", allowedIssuer))).To(Succeed())
	})
})

var _ = Describe("Volume kinds", func() {
	check("SILO-VOL-1", "a pod may use only the volume kinds the platform allows, even where Pod Security (baseline) would admit a network file system", func() {
		t := newTenant("conformance-volumes", "owner-volumes@conformance.example")
		t.Spec.Isolation.PodSecurity = silov1.PodSecurityBaseline
		t = createTenant(t)
		DeferCleanup(func() { _ = admin.Delete(ctx, t) })
		ns := controllers.NamespaceFor(t)
		owner, _, err := user("owner-volumes@conformance.example")
		Expect(err).NotTo(HaveOccurred())

		pod := restrictedPod(ns, "nfs", imageB)
		pod.Spec.Volumes = []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "198.51.100.7", Path: "/export"}}}}
		expectPolicyRefusal(owner.Create(ctx, pod), "silo-tenant-volumes",
			"pod nfs uses a volume of kind nfs, which this tenant may not use")
		d := deployment(pod, "nfs-app")
		expectPolicyRefusal(owner.Create(ctx, d), "silo-tenant-volumes", "the pod template of Deployment nfs-app uses a volume of kind nfs")

		pod = restrictedPod(ns, "configmap", imageB)
		pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
		Expect(owner.Create(ctx, pod)).To(Succeed())
	})
})

var _ = Describe("Gateway API routes", func() {
	check("SILO-NET-4", "a tenant admin's HTTPRoute may claim only its tenant's host and subdomains, and must name one", func() {
		route := func(name string, hosts ...gatewayv1.Hostname) *gatewayv1.HTTPRoute {
			return &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsA},
				Spec: gatewayv1.HTTPRouteSpec{
					CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
						Namespace: ptr.To(gatewayv1.Namespace("gateway-system")), Name: "public"}}},
					Hostnames: hosts,
				},
			}
		}
		expectPolicyRefusal(ownerA.Create(ctx, route("take-b", "b.shop.example.com")), "silo-tenant-route-hosts",
			"HTTPRoute take-b claims b.shop.example.com, which this tenant does not own: it may claim only "+hostA)
		expectPolicyRefusal(ownerA.Create(ctx, route("suffix", gatewayv1.Hostname("evil"+hostA))), "silo-tenant-route-hosts", "claims evil"+hostA)
		expectPolicyRefusal(ownerA.Create(ctx, route("everything")), "silo-tenant-route-hosts",
			"names no hostnames, so it would take every host of the Gateway's listener")
		expectPolicyRefusal(ownerB.Create(ctx, &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "take-a", Namespace: nsB},
			Spec: gatewayv1.HTTPRouteSpec{Hostnames: []gatewayv1.Hostname{hostA}}}), "silo-tenant-route-hosts",
			"claims a host, but this tenant has none")

		Expect(ownerA.Create(ctx, route("own", gatewayv1.Hostname(hostA)))).To(Succeed())
		Expect(ownerA.Create(ctx, route("api", gatewayv1.Hostname("api."+hostA)))).To(Succeed())
	})
})

// allowedIssuer is the one ClusterIssuer the suite's platform allows.
const allowedIssuer = "letsencrypt"

// configureAppPlatform gives the suite's operator the platform's allow-lists the
// checks of a real app's allowances rely on.
func configureAppPlatform(p *controllers.Platform) {
	p.ClusterIssuers = []string{allowedIssuer}
}

// issuedIngress returns an Ingress in tenant A's namespace for its host, asking
// issuer for a certificate.
func issuedIngress(name, issuer string) *networkingv1.Ingress {
	in := ingress(nsA, "tls-"+name, hostA)
	in.Annotations = map[string]string{"cert-manager.io/cluster-issuer": issuer}
	in.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{hostA}, SecretName: name + "-tls"}}
	return in
}
