package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestInvalidSpec(t *testing.T) {
	env := func(names ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for _, n := range names {
			out = append(out, corev1.EnvVar{Name: n, Value: "x"})
		}
		return out
	}
	cpu := func(req, limit string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(limit)},
		}
	}
	tests := map[string]struct {
		spec silov1.TenantSpec
		want []string // fragments of the message; none: valid
	}{
		"a plain spec":             {spec: silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1", Env: env("A", "B")}}},
		"requests equal to limits": {spec: silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1", Resources: cpu("1", "1000m")}}},
		"a request without a limit": {spec: silov1.TenantSpec{App: silov1.AppSpec{Image: "app:1", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}}},
		"a ServiceAccount owner with DNS names": {spec: silov1.TenantSpec{Owners: []silov1.Owner{
			{Kind: silov1.OwnerKindServiceAccount, Name: "ci.deployer", Namespace: "ci"}, {Kind: silov1.OwnerKindUser, Name: "Alice Smith"}}}},
		"two app env entries of one name": {spec: silov1.TenantSpec{App: silov1.AppSpec{Env: env("A", "B", "A", "A")}},
			want: []string{"spec.app.env has more than one entry named A:"}},
		"two workers env entries of one name": {spec: silov1.TenantSpec{Workers: &silov1.WorkersSpec{Env: env("X", "X")}},
			want: []string{"spec.workers.env has more than one entry named X"}},
		"a request above its limit": {spec: silov1.TenantSpec{Workers: &silov1.WorkersSpec{Resources: cpu("2", "1")}},
			want: []string{"spec.workers.resources requests 2 of cpu, above its limit 1"}},
		"a database request above its limit": {spec: silov1.TenantSpec{Database: &silov1.DatabaseSpec{Resources: &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}}},
			want: []string{"spec.database.resources requests 2Gi of memory, above its limit 1Gi"}},
		"a ServiceAccount owner whose name is no ServiceAccount name": {spec: silov1.TenantSpec{Owners: []silov1.Owner{
			{Kind: silov1.OwnerKindUser, Name: "Alice"}, {Kind: silov1.OwnerKindServiceAccount, Name: "CI Bot", Namespace: "ci"}}},
			want: []string{`spec.owners[1].name "CI Bot" is not a ServiceAccount name`}},
		"a negative quantity": {spec: silov1.TenantSpec{Cache: &silov1.CacheSpec{Resources: &corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1Gi")}}}},
			want: []string{"spec.cache.resources.limits.memory is negative (-1Gi)"}},
		"every problem at once": {spec: silov1.TenantSpec{App: silov1.AppSpec{Env: env("A", "A"), Resources: cpu("2", "1")}},
			want: []string{"spec.app.env has more than one entry named A", "spec.app.resources requests 2 of cpu", "fix it on the Tenant or its TenantClass"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := invalidSpec(&tc.spec)
			if len(tc.want) == 0 {
				if got != "" {
					t.Fatalf("refused a valid spec: %s", got)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("message %q does not say %q", got, w)
				}
			}
		})
	}
}
