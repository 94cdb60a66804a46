package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Names of the tenant's NetworkPolicies.
const (
	NetpolDefaultDeny    = "default-deny"
	NetpolAllowNamespace = "allow-same-namespace"
	NetpolAllowDNS       = "allow-dns"
	NetpolAllowIngress   = "allow-ingress-controller"
	NetpolAllowInternet  = "allow-internet-egress"
	namespaceNameLabel   = "kubernetes.io/metadata.name"
	appComponent         = "app"
	defaultAppPort       = 8080
)

// privateRanges are the address blocks internet egress never includes: the cluster's
// own networks and the cloud metadata service live there.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"}

// appPort returns the port the app listens on.
func appPort(t *silov1.Tenant) int32 {
	if t.Spec.App.Port != 0 {
		return t.Spec.App.Port
	}
	return defaultAppPort
}

// buildNetworkPolicies returns the tenant's NetworkPolicies: deny everything, then
// allow traffic within the namespace, DNS lookups, the ingress controller to the app,
// and internet egress only when the Tenant asks for it.
func buildNetworkPolicies(t *silov1.Tenant, cfg *Config) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	ns := NamespaceFor(t)
	policy := func(name string) *networkingv1ac.NetworkPolicyApplyConfiguration {
		return networkingv1ac.NetworkPolicy(name, ns).
			WithLabels(componentLabels(t, "isolation")).
			WithOwnerReferences(ownerRef(t))
	}
	all := metav1ac.LabelSelector()
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	dnsPort := intstr.FromInt32(53)

	policies := []*networkingv1ac.NetworkPolicyApplyConfiguration{
		policy(NetpolDefaultDeny).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)),
		policy(NetpolAllowNamespace).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all))).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all)))),
		policy(NetpolAllowDNS).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(networkingv1ac.NetworkPolicyPeer().
					WithNamespaceSelector(metav1ac.LabelSelector().
						WithMatchLabels(map[string]string{namespaceNameLabel: cfg.DNSNamespace})).
					WithPodSelector(metav1ac.LabelSelector().
						WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
				WithPorts(
					networkingv1ac.NetworkPolicyPort().WithProtocol(udp).WithPort(dnsPort),
					networkingv1ac.NetworkPolicyPort().WithProtocol(tcp).WithPort(dnsPort),
				))),
		policy(NetpolAllowIngress).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().
				WithMatchLabels(map[string]string{silov1.ComponentLabel: appComponent})).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(networkingv1ac.NetworkPolicyPeer().
					WithNamespaceSelector(metav1ac.LabelSelector().
						WithMatchLabels(map[string]string{namespaceNameLabel: cfg.IngressNamespace}))).
				WithPorts(networkingv1ac.NetworkPolicyPort().
					WithProtocol(tcp).WithPort(intstr.FromInt32(appPort(t)))))),
	}
	policies = append(policies, platformNetworkPolicies(t, cfg, policy)...)
	if ptr.Deref(t.Spec.Network.AllowInternetEgress, false) {
		policies = append(policies, policy(NetpolAllowInternet).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(
					networkingv1ac.NetworkPolicyPeer().WithIPBlock(
						networkingv1ac.IPBlock().WithCIDR("0.0.0.0/0").WithExcept(privateRanges...)),
					networkingv1ac.NetworkPolicyPeer().WithIPBlock(
						networkingv1ac.IPBlock().WithCIDR("::/0").WithExcept("fc00::/7", "fe80::/10")),
				))))
	}
	return policies
}
