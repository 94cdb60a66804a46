package testenv

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// FullTenant returns a Tenant with every component managed by Silo.
func FullTenant(name string) *silov1.Tenant {
	t := &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantSpec{
			App: silov1.AppSpec{Image: "registry.example.com/shop/app:1.4.2"},
		},
	}
	t.Spec.App.Port = 3000
	t.Spec.App.Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}
	t.Spec.App.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.25"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("0.5Gi")},
	}
	t.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 5}
	t.Spec.App.Ingress = &silov1.IngressSpec{Host: name + ".shop.example.com", ClassName: "nginx", TLSSecretName: name + "-tls"}
	t.Spec.Workers = &silov1.WorkersSpec{Replicas: ptr.To(int32(2)), Command: []string{"/app", "worker"}}
	t.Spec.Queue = &silov1.QueueSpec{}
	t.Spec.Cache = &silov1.CacheSpec{Resources: &corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}}
	t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("5Gi"))}
	t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("2Gi")}
	return t
}
