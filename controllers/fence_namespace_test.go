package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildNamespace(t *testing.T) {
	base := map[string]string{
		silov1.ManagedByLabel:                silov1.ManagedByValue,
		silov1.TenantLabel:                   "acme",
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/audit":   "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := map[string]struct {
		tenant func(*silov1.Tenant)
		// config adjusts an operator configuration whose allow-lists are empty.
		config          func(*Config)
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		"a plain Tenant gets its tenant and Pod Security labels and no policy inputs": {
			tenant:     func(*silov1.Tenant) {},
			wantLabels: base,
		},
		"baseline Pod Security is written to all three modes": {
			tenant: func(t *silov1.Tenant) { t.Spec.Isolation.PodSecurity = silov1.PodSecurityBaseline },
			wantLabels: with(map[string]string{
				"pod-security.kubernetes.io/enforce": "baseline",
				"pod-security.kubernetes.io/audit":   "baseline",
				"pod-security.kubernetes.io/warn":    "baseline",
			}),
		},
		"node pool and region become labels the placement policy reads": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.Isolation.NodePool = "acme-dedicated"
				t.Spec.Placement.Region = "eu-west-1"
			},
			wantLabels: with(map[string]string{
				silov1.NamespaceNodePoolLabel: "acme-dedicated",
				silov1.NamespaceRegionLabel:   "eu-west-1",
			}),
		},
		"runtime class becomes an annotation the placement policy reads": {
			tenant:          func(t *silov1.Tenant) { t.Spec.Isolation.RuntimeClassName = "gvisor.sandbox.example.com" },
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.RuntimeClassAnnotation: "gvisor.sandbox.example.com"},
		},
		"an allow-list keeps the Tenant's order and adds the operator's component repositories, sorted, without tags": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.Isolation.AllowedRegistries = []string{"registry.example.com/shop/", "ghcr.io/acme"}
			},
			wantLabels: base,
			wantAnnotations: map[string]string{silov1.AllowedRegistriesAnnotation: "registry.example.com/shop/,ghcr.io/acme," +
				"docker.io/library/nats,docker.io/library/postgres,docker.io/valkey/valkey"},
		},
		"the app's ingress host becomes an annotation the ingress policy reads": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.shop.example.com"}
			},
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.IngressHostAnnotation: "acme.shop.example.com"},
		},
		"a component repository the Tenant already lists is not repeated": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.Isolation.AllowedRegistries = []string{"docker.io/library/postgres"}
			},
			wantLabels: base,
			wantAnnotations: map[string]string{silov1.AllowedRegistriesAnnotation: "docker.io/library/postgres," +
				"docker.io/library/nats,docker.io/valkey/valkey"},
		},
		"the app's ingress class and deletion protection become annotations the ingress and namespace policies read": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.shop.example.com", ClassName: "public"}
				t.Spec.DeletionProtection = true
			},
			wantLabels: base,
			wantAnnotations: map[string]string{
				silov1.IngressHostAnnotation:        "acme.shop.example.com",
				silov1.IngressClassAnnotation:       "public",
				silov1.DeletionProtectionAnnotation: "true",
			},
		},
		"the operator's default configuration allows cert-manager's ingress annotations": {
			tenant:          func(*silov1.Tenant) {},
			config:          func(c *Config) { c.Guardrails = DefaultConfig().Guardrails },
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.AllowedIngressAnnotationsAnnotation: "cert-manager.io/"},
		},
		"the platform's allow-lists are written sorted, the managed workloads' priority class among the allowed ones": {
			tenant: func(*silov1.Tenant) {},
			config: func(c *Config) {
				c.Guardrails = Guardrails{
					PriorityClasses:      []string{"tenant-high", "tenant-batch"},
					DefaultPriorityClass: "tenant-default",
					Tolerations:          []string{"example.com/spot", "batch.example.com/"},
					IngressAnnotations:   []string{"cert-manager.io/", "nginx.ingress.kubernetes.io/proxy-body-size"},
				}
			},
			wantLabels: base,
			wantAnnotations: map[string]string{
				silov1.AllowedPriorityClassesAnnotation:    "tenant-batch,tenant-default,tenant-high",
				silov1.AllowedTolerationsAnnotation:        "batch.example.com/,example.com/spot",
				silov1.AllowedIngressAnnotationsAnnotation: "cert-manager.io/,nginx.ingress.kubernetes.io/proxy-body-size",
			},
		},
		"a default priority class already on the list is not repeated": {
			tenant: func(*silov1.Tenant) {},
			config: func(c *Config) {
				c.Guardrails.PriorityClasses = []string{"tenant-default"}
				c.Guardrails.DefaultPriorityClass = "tenant-default"
			},
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.AllowedPriorityClassesAnnotation: "tenant-default"},
		},
		"extended resources the Tenant is granted may be tolerated, those granted zero may not": {
			tenant: func(t *silov1.Tenant) {
				t.Spec.Quota.Extended = map[string]resource.Quantity{
					"nvidia.com/gpu":       resource.MustParse("2"),
					"example.com/fpga":     resource.MustParse("0"),
					"example.com/spot-gpu": resource.MustParse("1"),
				}
			},
			config:          func(c *Config) { c.Guardrails.Tolerations = []string{"example.com/spot-gpu"} },
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.AllowedTolerationsAnnotation: "example.com/spot-gpu,nvidia.com/gpu"},
		},
		"the platform's ServiceAccount namespaces for owners' RoleBindings become an annotation the self-service policy reads": {
			tenant:          func(*silov1.Tenant) {},
			config:          func(c *Config) { c.Guardrails.RoleBindingServiceAccountNamespaces = []string{"ci", "monitoring"} },
			wantLabels:      base,
			wantAnnotations: map[string]string{silov1.RoleBindingServiceAccountNamespacesAnnotation: "ci,monitoring"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tenant := &silov1.Tenant{}
			tenant.Name = "acme"
			tc.tenant(tenant)
			cfg := DefaultConfig()
			cfg.Guardrails = Guardrails{}
			cfg.Platform = Platform{} // the platform's lists for apps on the namespace: TestPlatformListsOnNamespace
			if tc.config != nil {
				tc.config(&cfg)
			}
			ns := buildNamespace(tenant, &cfg)
			if *ns.Name != "tenant-acme" {
				t.Errorf("name = %q, want tenant-acme", *ns.Name)
			}
			if diff := cmp.Diff(tc.wantLabels, ns.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAnnotations, ns.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageRepository(t *testing.T) {
	tests := map[string]string{
		"docker.io/library/postgres:17.5-alpine":       "docker.io/library/postgres",
		"registry:5000/team/app":                       "registry:5000/team/app",
		"registry:5000/team/app:1.0":                   "registry:5000/team/app",
		"ghcr.io/acme/app@sha256:0123456789abcdef":     "ghcr.io/acme/app",
		"ghcr.io/acme/app:1.2@sha256:0123456789abcdef": "ghcr.io/acme/app",
	}
	for in, want := range tests {
		if got := imageRepository(in); got != want {
			t.Errorf("imageRepository(%q) = %q, want %q", in, got, want)
		}
	}
}
