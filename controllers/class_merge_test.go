package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestEffectiveSpec(t *testing.T) {
	standard := silov1.TenantSpec{
		App: silov1.AppSpec{
			Image:    "registry.example.com/shop/app:1.5.0",
			Replicas: ptr.To(int32(2)),
			Command:  []string{"/app", "serve"},
			Env:      []corev1.EnvVar{{Name: "LOG", Value: "info"}, {Name: "TIER", Value: "standard"}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: qty("500m")},
			},
		},
		Workers:   &silov1.WorkersSpec{Command: []string{"/app", "worker"}, Replicas: ptr.To(int32(1))},
		Database:  &silov1.DatabaseSpec{Storage: ptr.To(qty("10Gi")), Version: "17.5-alpine"},
		Quota:     silov1.QuotaSpec{CPU: ptr.To(qty("8")), Memory: ptr.To(qty("16Gi"))},
		Isolation: silov1.IsolationSpec{PodSecurity: silov1.PodSecurityBaseline, NodePool: "shared"},
		Network:   silov1.NetworkSpec{AllowInternetEgress: ptr.To(true)},
	}
	tests := map[string]struct {
		template silov1.TenantSpec
		own      silov1.TenantSpec
		want     silov1.TenantSpec
	}{
		"a Tenant that sets nothing runs the template": {
			template: standard,
			own:      silov1.TenantSpec{Class: "standard"},
			want:     with(standard, func(s *silov1.TenantSpec) { s.Class = "standard" }),
		},
		"no class: the Tenant's own spec as it is": {
			template: silov1.TenantSpec{},
			own:      testTenant().Spec,
			want:     testTenant().Spec,
		},
		"objects merge field by field; scalars on the Tenant win": {
			template: standard,
			own: silov1.TenantSpec{
				App:   silov1.AppSpec{Image: "registry.example.com/shop/app:1.6.0-rc1"},
				Quota: silov1.QuotaSpec{Memory: ptr.To(qty("32Gi"))},
			},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.App.Image = "registry.example.com/shop/app:1.6.0-rc1"
				s.Quota.Memory = ptr.To(qty("32Gi"))
			}),
		},
		"a list on the Tenant replaces the template's whole": {
			template: standard,
			own: silov1.TenantSpec{App: silov1.AppSpec{
				Env:     []corev1.EnvVar{{Name: "LOG", Value: "debug"}},
				Command: []string{"/app"},
			}},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.App.Env = []corev1.EnvVar{{Name: "LOG", Value: "debug"}}
				s.App.Command = []string{"/app"}
			}),
		},
		"resource lists merge by resource name": {
			template: standard,
			own: silov1.TenantSpec{App: silov1.AppSpec{Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: qty("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: qty("2Gi")},
			}}},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.App.Resources = corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: qty("500m"), corev1.ResourceMemory: qty("1Gi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: qty("2Gi")},
				}
			}),
		},
		"false on the Tenant turns off what the class turns on": {
			template: standard,
			own:      silov1.TenantSpec{Network: silov1.NetworkSpec{AllowInternetEgress: ptr.To(false)}},
			want:     with(standard, func(s *silov1.TenantSpec) { s.Network.AllowInternetEgress = ptr.To(false) }),
		},
		"autoscaling on the Tenant drops the class's replica count": {
			template: standard,
			own:      silov1.TenantSpec{App: silov1.AppSpec{Autoscaling: &silov1.AutoscalingSpec{MaxReplicas: 6}}},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.App.Replicas = nil
				s.App.Autoscaling = &silov1.AutoscalingSpec{MaxReplicas: 6}
			}),
		},
		"an external database on the Tenant drops the class's managed database settings": {
			template: standard,
			own:      silov1.TenantSpec{Database: &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "acme-db"}}},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "acme-db"}}
			}),
		},
		"a managed setting on the Tenant drops the class's external database": {
			template: silov1.TenantSpec{Database: &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "shared-db"}}},
			own:      silov1.TenantSpec{Database: &silov1.DatabaseSpec{Storage: ptr.To(qty("5Gi"))}},
			want:     silov1.TenantSpec{Database: &silov1.DatabaseSpec{Storage: ptr.To(qty("5Gi"))}},
		},
		"a component only the Tenant asks for": {
			template: standard,
			own:      silov1.TenantSpec{Cache: &silov1.CacheSpec{Version: "8.1"}},
			want:     with(standard, func(s *silov1.TenantSpec) { s.Cache = &silov1.CacheSpec{Version: "8.1"} }),
		},
		"an empty object on the Tenant keeps the class's": {
			template: standard,
			own:      silov1.TenantSpec{Database: &silov1.DatabaseSpec{}},
			want:     standard,
		},
		"the Tenant's own per-customer fields stay": {
			template: standard,
			own: silov1.TenantSpec{
				Owners:    []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: "carol"}},
				Placement: silov1.PlacementSpec{Region: "eu-west-1"},
				Suspend:   true,
			},
			want: with(standard, func(s *silov1.TenantSpec) {
				s.Owners = []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: "carol"}}
				s.Placement.Region = "eu-west-1"
				s.Suspend = true
			}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := effectiveSpec(&tc.template, &tc.own)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("effective spec (-want +got):\n%s", diff)
			}
		})
	}
}

// with returns a copy of spec changed by mutate.
func with(spec silov1.TenantSpec, mutate func(s *silov1.TenantSpec)) silov1.TenantSpec {
	out := *spec.DeepCopy()
	mutate(&out)
	return out
}

func TestIncompleteSpec(t *testing.T) {
	tests := map[string]struct {
		spec silov1.TenantSpec
		want string
	}{
		"complete": {
			spec: silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1"}},
		},
		"no image": {
			spec: silov1.TenantSpec{},
			want: `neither the Tenant nor its class "standard" gives app.image: set spec.app.image on the Tenant, or spec.template.app.image on the TenantClass`,
		},
		"workers without command": {
			spec: silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1"}, Workers: &silov1.WorkersSpec{Replicas: ptr.To(int32(2))}},
			want: `workers need a command (or their own image), and neither the Tenant nor its class "standard" gives one: set spec.workers.command on the Tenant or spec.template.workers.command on the TenantClass`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := &silov1.Tenant{Spec: silov1.TenantSpec{Class: "standard"}}
			if got := incompleteSpec(tn, &tc.spec); got != tc.want {
				t.Errorf("incompleteSpec = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEffectiveSpecMergesBackupFieldByField(t *testing.T) {
	template := &silov1.TenantSpec{Backup: &silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris",
		Keep: ptrTo[int32](7), DeleteWithTenant: ptrTo(true)}}
	own := &silov1.TenantSpec{Backup: &silov1.BackupSpec{Keep: ptrTo[int32](30), DeleteWithTenant: ptrTo(false)}}
	got, err := effectiveSpec(template, own)
	if err != nil {
		t.Fatal(err)
	}
	want := &silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris", Keep: ptrTo[int32](30), DeleteWithTenant: ptrTo(false)}
	if diff := cmp.Diff(want, got.Backup); diff != "" {
		t.Fatalf("effective backup (-want +got):\n%s", diff)
	}
}
