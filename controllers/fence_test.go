package controllers

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestQuotaHard(t *testing.T) {
	cfg := DefaultConfig()
	defaults := map[corev1.ResourceName]string{
		corev1.ResourceRequestsCPU: "4", corev1.ResourceLimitsCPU: "4",
		corev1.ResourceRequestsMemory: "8Gi", corev1.ResourceLimitsMemory: "8Gi",
		corev1.ResourceRequestsEphemeralStorage: "20Gi", corev1.ResourceLimitsEphemeralStorage: "20Gi",
		corev1.ResourceRequestsStorage: "50Gi", corev1.ResourcePods: "50", corev1.ResourceServices: "20",
		corev1.ResourceSecrets: "50", corev1.ResourceConfigMaps: "50", corev1.ResourcePersistentVolumeClaims: "20",
		corev1.ResourceReplicationControllers: "0", corev1.ResourceQuotas: "1",
		corev1.ResourceServicesNodePorts: "0", corev1.ResourceServicesLoadBalancers: "0",
		"requests.amd.com/gpu": "0", "requests.nvidia.com/gpu": "0",
	}
	with := func(changes map[corev1.ResourceName]string) map[corev1.ResourceName]string {
		out := maps.Clone(defaults)
		maps.Copy(out, changes)
		return out
	}
	tests := map[string]struct {
		tenant *silov1.Tenant
		want   map[corev1.ResourceName]string
	}{
		"operator defaults when the Tenant sets nothing": {tenant: tenant("a"), want: defaults},
		"the Tenant's values win; NodePorts and LoadBalancers stay at zero": {
			tenant: tenant("a", func(t *silov1.Tenant) {
				t.Spec.Quota = silov1.QuotaSpec{
					CPU: ptr.To(resource.MustParse("500m")), Memory: ptr.To(resource.MustParse("16Gi")),
					EphemeralStorage: ptr.To(resource.MustParse("1Gi")), Storage: ptr.To(resource.MustParse("100Gi")),
					Pods: ptr.To(int32(7)), Services: ptr.To(int32(3)), Secrets: ptr.To(int32(9)),
					ConfigMaps: ptr.To(int32(11)), PersistentVolumeClaims: ptr.To(int32(2)),
				}
			}),
			want: with(map[corev1.ResourceName]string{
				corev1.ResourceRequestsCPU: "500m", corev1.ResourceLimitsCPU: "500m",
				corev1.ResourceRequestsMemory: "16Gi", corev1.ResourceLimitsMemory: "16Gi",
				corev1.ResourceRequestsEphemeralStorage: "1Gi", corev1.ResourceLimitsEphemeralStorage: "1Gi",
				corev1.ResourceRequestsStorage: "100Gi", corev1.ResourcePods: "7", corev1.ResourceServices: "3",
				corev1.ResourceSecrets: "9", corev1.ResourceConfigMaps: "11", corev1.ResourcePersistentVolumeClaims: "2",
			}),
		},
		"extended resources the Tenant grants are capped at the grant, named by the platform or not": {
			tenant: tenant("a", func(t *silov1.Tenant) {
				t.Spec.Quota.Extended = map[string]resource.Quantity{
					"nvidia.com/gpu": resource.MustParse("2"), "example.com/fpga": resource.MustParse("1"),
				}
			}),
			want: with(map[corev1.ResourceName]string{"requests.nvidia.com/gpu": "2", "requests.example.com/fpga": "1"}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := map[corev1.ResourceName]string{}
			for k, v := range quotaHard(tc.tenant, &cfg) {
				got[k] = v.String()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hard (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildLimitRange(t *testing.T) {
	cfg := DefaultConfig()
	tests := map[string]struct {
		tenant                     *silov1.Tenant
		wantDefaultCPU, wantMaxCPU string
		wantDefaultMem, wantReqMem string
	}{
		"defaults fit a normal quota": {
			tenant: tenant("a"), wantDefaultCPU: "500m", wantMaxCPU: "4", wantDefaultMem: "512Mi", wantReqMem: "128Mi",
		},
		"defaults shrink to a tiny quota, so the LimitRange stays valid": {
			tenant: tenant("a", func(t *silov1.Tenant) {
				t.Spec.Quota.CPU = ptr.To(resource.MustParse("200m"))
				t.Spec.Quota.Memory = ptr.To(resource.MustParse("64Mi"))
			}),
			wantDefaultCPU: "200m", wantMaxCPU: "200m", wantDefaultMem: "64Mi", wantReqMem: "64Mi",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lr := buildLimitRange(tc.tenant, &cfg)
			item := lr.Spec.Limits[0]
			got := []string{
				ptr.To((*item.Default)[corev1.ResourceCPU]).String(), ptr.To((*item.Max)[corev1.ResourceCPU]).String(),
				ptr.To((*item.Default)[corev1.ResourceMemory]).String(), ptr.To((*item.DefaultRequest)[corev1.ResourceMemory]).String(),
			}
			want := []string{tc.wantDefaultCPU, tc.wantMaxCPU, tc.wantDefaultMem, tc.wantReqMem}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("default cpu, max cpu, default memory, default memory request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildNetworkPolicies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IngressNamespace = "edge"
	cfg.Platform = Platform{} // the platform's always-allowed traffic: TestPlatformNetworkPolicies
	tests := map[string]struct {
		tenant    *silov1.Tenant
		wantNames []string
		wantPort  int32
	}{
		"no internet egress by default; ingress to the default app port": {
			tenant:    tenant("a"),
			wantNames: []string{NetpolDefaultDeny, NetpolAllowNamespace, NetpolAllowDNS, NetpolAllowIngress},
			wantPort:  8080,
		},
		"internet egress when asked; ingress to the app's port": {
			tenant: tenant("a", func(t *silov1.Tenant) {
				t.Spec.Network.AllowInternetEgress = ptr.To(true)
				t.Spec.App.Port = 3000
			}),
			wantNames: []string{NetpolDefaultDeny, NetpolAllowNamespace, NetpolAllowDNS, NetpolAllowIngress, NetpolAllowInternet},
			wantPort:  3000,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var names []string
			for _, p := range buildNetworkPolicies(tc.tenant, &cfg) {
				names = append(names, *p.Name)
				if *p.Namespace != "tenant-a" {
					t.Errorf("%s in namespace %s", *p.Name, *p.Namespace)
				}
				switch *p.Name {
				case NetpolDefaultDeny:
					if len(p.Spec.Ingress) != 0 || len(p.Spec.Egress) != 0 || len(p.Spec.PolicyTypes) != 2 {
						t.Errorf("default-deny must select all pods with both policy types and no rules: %+v", p.Spec)
					}
				case NetpolAllowIngress:
					from := p.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels[namespaceNameLabel]
					port := p.Spec.Ingress[0].Ports[0].Port.IntVal
					if from != "edge" || port != tc.wantPort {
						t.Errorf("ingress from %q to port %d, want edge and %d", from, port, tc.wantPort)
					}
				case NetpolAllowInternet:
					except := p.Spec.Egress[0].To[0].IPBlock.Except
					if diff := cmp.Diff(privateRanges, except); diff != "" {
						t.Errorf("internet egress must exclude private ranges (-want +got):\n%s", diff)
					}
				}
			}
			if diff := cmp.Diff(tc.wantNames, names); diff != "" {
				t.Errorf("policies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildOwnerRoleBinding(t *testing.T) {
	tests := map[string]struct {
		owners []silov1.Owner
		want   []string // kind/namespace/name/apiGroup
	}{
		"no owners, no binding": {},
		"users, groups and service accounts": {
			owners: []silov1.Owner{
				{Kind: silov1.OwnerKindUser, Name: "alice"},
				{Kind: silov1.OwnerKindGroup, Name: "acme-admins"},
				{Kind: silov1.OwnerKindServiceAccount, Name: "deployer", Namespace: "ci"},
			},
			want: []string{"User//alice/rbac.authorization.k8s.io", "Group//acme-admins/rbac.authorization.k8s.io", "ServiceAccount/ci/deployer/"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb := buildOwnerRoleBinding(tenant("a", func(t *silov1.Tenant) { t.Spec.Owners = tc.owners }))
			if tc.want == nil {
				if rb != nil {
					t.Fatalf("want no binding, got %+v", rb)
				}
				return
			}
			var got []string
			for _, s := range rb.Subjects {
				got = append(got, *s.Kind+"/"+ptr.Deref(s.Namespace, "")+"/"+*s.Name+"/"+ptr.Deref(s.APIGroup, ""))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if *rb.RoleRef.Kind != "Role" || *rb.RoleRef.Name != OwnerRoleName {
				t.Errorf("binds %s %s, want Role %s", *rb.RoleRef.Kind, *rb.RoleRef.Name, OwnerRoleName)
			}
		})
	}
}

// TestOwnerRoleHasNoWildcardsAndCannotTouchFences: owners only read the quota and
// limits. (They manage Roles, RoleBindings and NetworkPolicies of their own; Silo's
// are guarded by admission policies, proven by the conformance suite.)
func TestOwnerRoleHasNoWildcardsAndCannotTouchFences(t *testing.T) {
	fences := map[string]bool{"resourcequotas": true, "limitranges": true, "namespaces": true}
	for _, rule := range buildOwnerRole(tenant("a")).Rules {
		for _, v := range rule.Verbs {
			if v == "*" {
				t.Errorf("wildcard verb in %v", rule.Resources)
			}
		}
		for _, r := range rule.Resources {
			if r == "*" {
				t.Errorf("wildcard resource in rule %v", rule.Verbs)
			}
			if fences[r] {
				for _, v := range rule.Verbs {
					if v != "get" && v != "list" && v != "watch" {
						t.Errorf("owners may %s %s, a fence they must only read", v, r)
					}
				}
			}
		}
	}
}
