package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestPlatformNetworkPolicies(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(proto corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr.To(proto), Port: ptr.To(intstr.FromInt32(p))}
	}
	tests := map[string]struct {
		platform func(*Platform)
		tenant   func(*silov1.Tenant)
		want     map[string]networkingv1.NetworkPolicySpec
	}{
		"nothing allowed: no policies": {
			platform: func(p *Platform) { p.DNSCacheIP = "" },
			want:     map[string]networkingv1.NetworkPolicySpec{},
		},
		"the node-local DNS cache by default": {
			want: map[string]networkingv1.NetworkPolicySpec{NetpolAllowDNSCache: {
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "169.254.20.10/32"}}},
					Ports: []networkingv1.NetworkPolicyPort{port(udp, 53), port(tcp, 53)},
				}},
			}},
		},
		"the metrics namespace may scrape the app's port": {
			platform: func(p *Platform) { p.DNSCacheIP, p.MetricsNamespace = "", "monitoring" },
			tenant:   func(tn *silov1.Tenant) { tn.Spec.App.Port = 3000 },
			want: map[string]networkingv1.NetworkPolicySpec{NetpolAllowMetrics: {
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{silov1.ComponentLabel: "app"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}},
					Ports: []networkingv1.NetworkPolicyPort{port(tcp, 3000)},
				}},
			}},
		},
		"egress ranges on their ports, the cluster's networks excepted, one inside them left out": {
			platform: func(p *Platform) { p.DNSCacheIP, p.ClusterCIDRs = "", []string{"10.244.0.0/16", "10.96.0.0/12"} },
			tenant: func(tn *silov1.Tenant) {
				tn.Spec.Network.Egress = []silov1.EgressRule{
					{CIDR: "10.0.0.0/8", Ports: []int32{5432}},
					{CIDR: "192.168.10.0/24"},
					{CIDR: "10.244.3.0/24", Ports: []int32{80}},
				}
			},
			want: map[string]networkingv1.NetworkPolicySpec{NetpolAllowEgress: {
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8",
						Except: []string{"10.244.0.0/16", "10.96.0.0/12"}}}},
						Ports: []networkingv1.NetworkPolicyPort{port(tcp, 5432)}},
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.10.0/24"}}}},
				},
			}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.platform != nil {
				tc.platform(&cfg.Platform)
			}
			tn := testTenant()
			if tc.tenant != nil {
				tc.tenant(tn)
			}
			got := map[string]networkingv1.NetworkPolicySpec{}
			for _, ac := range buildNetworkPolicies(tn, &cfg) {
				np := roundTrip[networkingv1.NetworkPolicy](t, ac)
				switch np.Name {
				case NetpolDefaultDeny, NetpolAllowNamespace, NetpolAllowDNS, NetpolAllowIngress, NetpolAllowInternet:
				default:
					got[np.Name] = np.Spec
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("policies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEgressRefusals(t *testing.T) {
	tn := testTenant()
	tn.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.244.3.0/24"}, {CIDR: "10.20.0.0/16"}}
	p := defaultPlatform()
	p.ClusterCIDRs = []string{"10.244.0.0/16"}
	want := []string{"network.egress cidr 10.244.3.0/24 lies within the cluster network 10.244.0.0/16: it would reach other tenants' pods or Services"}
	if diff := cmp.Diff(want, platformRefusals(tn, &p)); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
}
