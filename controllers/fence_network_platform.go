package controllers

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Names of the NetworkPolicies of the platform's always-allowed traffic and of the
// Tenant's egress ranges.
const (
	NetpolAllowDNSCache = "allow-dns-cache"
	NetpolAllowMetrics  = "allow-metrics-scrape"
	NetpolAllowEgress   = "allow-egress-ranges"
)

// platformNetworkPolicies returns the policies of traffic beyond the namespace that
// the platform allows every tenant (the node-local DNS cache, the monitoring
// system scraping the app) and the Tenant's own egress ranges.
func platformNetworkPolicies(t *silov1.Tenant, cfg *Config,
	policy func(string) *networkingv1ac.NetworkPolicyApplyConfiguration) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	p := &cfg.Platform
	all := metav1ac.LabelSelector()
	var out []*networkingv1ac.NetworkPolicyApplyConfiguration
	if p.DNSCacheIP != "" {
		dns := intstr.FromInt32(53)
		out = append(out, policy(NetpolAllowDNSCache).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(hostCIDR(p.DNSCacheIP)))).
				WithPorts(
					networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolUDP).WithPort(dns),
					networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(dns),
				))))
	}
	if p.MetricsNamespace != "" {
		rule := networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(networkingv1ac.NetworkPolicyPeer().
				WithNamespaceSelector(metav1ac.LabelSelector().
					WithMatchLabels(map[string]string{namespaceNameLabel: p.MetricsNamespace})))
		for _, port := range scrapePorts(t) {
			rule.WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(port)))
		}
		out = append(out, policy(NetpolAllowMetrics).WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{silov1.ComponentLabel: appComponent})).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(rule)))
	}
	if egress := t.Spec.Network.Egress; len(egress) > 0 {
		spec := networkingv1ac.NetworkPolicySpec().WithPodSelector(all).WithPolicyTypes(networkingv1.PolicyTypeEgress)
		for _, e := range egress {
			except, err := egressExcepts(e.CIDR, p.ClusterCIDRs)
			if err != nil {
				continue // refused, and named in the Tenant's status
			}
			block := networkingv1ac.IPBlock().WithCIDR(e.CIDR)
			if len(except) > 0 {
				block.WithExcept(except...)
			}
			rule := networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(block))
			for _, port := range e.Ports {
				rule.WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(port)))
			}
			spec.WithEgress(rule)
		}
		if len(spec.Egress) > 0 {
			out = append(out, policy(NetpolAllowEgress).WithSpec(spec))
		}
	}
	return out
}

// scrapePorts are the app's ports the monitoring system may scrape.
func scrapePorts(t *silov1.Tenant) []int32 {
	if port, name := metricsPort(t); name == metricsPortName {
		return []int32{appPort(t), port}
	}
	return []int32{appPort(t)}
}

// egressExcepts returns the cluster networks inside an egress range, which the
// range's NetworkPolicy excepts, or an error when the range lies within a cluster
// network (it would open other tenants' pods or Services and nothing else).
func egressExcepts(cidr string, cluster []string) ([]string, error) {
	r, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("network.egress cidr %s is not an address range", cidr)
	}
	var except []string
	for _, c := range cluster {
		cn, err := netip.ParsePrefix(c)
		if err != nil || cn.Addr().Is4() != r.Addr().Is4() || !cn.Overlaps(r) {
			continue
		}
		if cn.Bits() <= r.Bits() {
			return nil, fmt.Errorf("network.egress cidr %s lies within the cluster network %s: it would reach other tenants' pods or Services", cidr, c)
		}
		except = append(except, c)
	}
	return except, nil
}

// hostCIDR returns the single-address range of ip.
func hostCIDR(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return netip.PrefixFrom(a, a.BitLen()).String()
}
