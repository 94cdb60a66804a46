package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildApp(t *testing.T) {
	tests := map[string]struct {
		mutate       func(*silov1.Tenant)
		wantObjects  []string
		wantReplicas *int32
		check        func(t *testing.T, d *appsv1.Deployment, objs map[string]any)
	}{
		"defaults: one replica, a Service on 8080, nothing else": {
			wantObjects:  []string{"Deployment/app", "Service/app"},
			wantReplicas: ptr.To(int32(1)),
			check: func(t *testing.T, d *appsv1.Deployment, objs map[string]any) {
				svc := objs["Service/app"].(*corev1.Service)
				want := []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromString("http")}}
				if diff := cmp.Diff(want, svc.Spec.Ports); diff != "" {
					t.Errorf("service ports (-want +got):\n%s", diff)
				}
				c := d.Spec.Template.Spec.Containers[0]
				if c.Image != "registry.example.com/shop/app:1.4.2" {
					t.Errorf("image = %s", c.Image)
				}
				wantFrom := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: SettingsSecretName}}}}
				if diff := cmp.Diff(wantFrom, c.EnvFrom); diff != "" {
					t.Errorf("envFrom (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}, c.VolumeMounts); diff != "" {
					t.Errorf("mounts (-want +got):\n%s", diff)
				}
				if c.Resources.Limits != nil || c.Resources.Requests != nil {
					t.Errorf("resources set without a spec: %v", c.Resources)
				}
			},
		},
		"several replicas: a disruption budget keeps all but one serving": {
			mutate:       func(tn *silov1.Tenant) { tn.Spec.App.Replicas = ptr.To(int32(3)); tn.Spec.App.Port = 3000 },
			wantObjects:  []string{"Deployment/app", "PodDisruptionBudget/app", "Service/app"},
			wantReplicas: ptr.To(int32(3)),
			check: func(t *testing.T, d *appsv1.Deployment, objs map[string]any) {
				pdb := objs["PodDisruptionBudget/app"].(*policyv1.PodDisruptionBudget)
				if pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[silov1.ComponentLabel] != "app" {
					t.Errorf("pdb = %+v", pdb.Spec)
				}
				if got := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; got != 3000 {
					t.Errorf("container port = %d", got)
				}
			},
		},
		"autoscaling: the HPA owns the replicas, Silo does not send them": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10}
			},
			wantObjects: []string{"Deployment/app", "HorizontalPodAutoscaler/app", "PodDisruptionBudget/app", "Service/app"},
			check: func(t *testing.T, _ *appsv1.Deployment, objs map[string]any) {
				hpa := objs["HorizontalPodAutoscaler/app"].(*autoscalingv2.HorizontalPodAutoscaler)
				want := autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "app"},
					MinReplicas:    ptr.To(int32(2)),
					MaxReplicas:    10,
					Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(80))}}}},
				}
				if diff := cmp.Diff(want, hpa.Spec); diff != "" {
					t.Errorf("hpa (-want +got):\n%s", diff)
				}
			},
		},
		"autoscaling from one replica: no disruption budget": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To(int32(60))}
			},
			wantObjects: []string{"Deployment/app", "HorizontalPodAutoscaler/app", "Service/app"},
		},
		"suspended: zero replicas and no autoscaler to scale back up": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.Suspend = true
				tn.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10}
			},
			wantObjects:  []string{"Deployment/app", "PodDisruptionBudget/app", "Service/app"},
			wantReplicas: ptr.To(int32(0)),
		},
		"ingress with class and TLS": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.example.com", ClassName: "nginx", TLSSecretName: "acme-tls"}
			},
			wantObjects:  []string{"Deployment/app", "Ingress/app", "Service/app"},
			wantReplicas: ptr.To(int32(1)),
			check: func(t *testing.T, _ *appsv1.Deployment, objs map[string]any) {
				in := objs["Ingress/app"].(*networkingv1.Ingress)
				prefix := networkingv1.PathTypePrefix
				want := networkingv1.IngressSpec{
					IngressClassName: ptr.To("nginx"),
					TLS:              []networkingv1.IngressTLS{{Hosts: []string{"acme.example.com"}, SecretName: "acme-tls"}},
					Rules: []networkingv1.IngressRule{{Host: "acme.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
						HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
							Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "app",
								Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}},
				}
				if diff := cmp.Diff(want, in.Spec); diff != "" {
					t.Errorf("ingress (-want +got):\n%s", diff)
				}
			},
		},
		"file storage is mounted at /data, env and resources are passed on canonically": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.Storage = &silov1.StorageSpec{Size: qty("1Gi")}
				tn.Spec.App.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
				tn.Spec.App.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: qty("0.5Gi")}}
			},
			wantObjects:  []string{"Deployment/app", "Service/app"},
			wantReplicas: ptr.To(int32(1)),
			check: func(t *testing.T, d *appsv1.Deployment, _ map[string]any) {
				c := d.Spec.Template.Spec.Containers[0]
				wantMounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "storage", MountPath: "/data"}}
				if diff := cmp.Diff(wantMounts, c.VolumeMounts); diff != "" {
					t.Errorf("mounts (-want +got):\n%s", diff)
				}
				if got := d.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.ClaimName; got != StorageName {
					t.Errorf("claim = %s", got)
				}
				if len(c.Env) != 2 || c.Env[1].ValueFrom.SecretKeyRef.Key != "k" {
					t.Errorf("env = %+v", c.Env)
				}
				if got := c.Resources.Limits.Memory().String(); got != "512Mi" {
					t.Errorf("memory limit sent as %s, want the canonical 512Mi", got)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			if tc.mutate != nil {
				tc.mutate(tn)
			}
			objs := typed(t, buildApp(testContext(tn)))
			if diff := cmp.Diff(tc.wantObjects, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			d := objs["Deployment/app"].(*appsv1.Deployment)
			if diff := cmp.Diff(tc.wantReplicas, d.Spec.Replicas); diff != "" {
				t.Errorf("replicas (-want +got):\n%s", diff)
			}
			checkRestricted(t, "app", &d.Spec.Template.Spec, appUID)
			for k, o := range objs {
				if o.GetNamespace() != "tenant-acme" || o.GetLabels()[silov1.ManagedByLabel] != "silo" ||
					o.GetLabels()[silov1.TenantLabel] != "acme" || len(o.GetOwnerReferences()) != 1 {
					t.Errorf("%s lacks namespace, labels or owner: %v %v", k, o.GetLabels(), o.GetOwnerReferences())
				}
			}
			if _, ok := d.Spec.Template.Annotations[SettingsHashAnnotation]; !ok {
				t.Error("no settings hash on the pod template")
			}
			if tc.check != nil {
				asAny := map[string]any{}
				for k, v := range objs {
					asAny[k] = v
				}
				tc.check(t, d, asAny)
			}
		})
	}
}
