package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestAppPodMonitor(t *testing.T) {
	tests := map[string]struct {
		metrics     *silov1.MetricsSpec
		served      bool
		wantMonitor *monitoringv1.PodMetricsEndpoint
		wantPorts   []string
	}{
		"not asked: no PodMonitor": {served: true, wantPorts: []string{"http"}},
		"asked, but the cluster serves no PodMonitors: none": {
			metrics: &silov1.MetricsSpec{}, wantPorts: []string{"http"},
		},
		"asked: the app's port at /metrics": {
			metrics: &silov1.MetricsSpec{}, served: true, wantPorts: []string{"http"},
			wantMonitor: &monitoringv1.PodMetricsEndpoint{Port: ptr.To("http"), Path: "/metrics"},
		},
		"a port of its own, a path and an interval": {
			metrics: &silov1.MetricsSpec{Port: 9090, Path: "/internal/metrics", Interval: "15s"}, served: true,
			wantPorts:   []string{"http", "metrics"},
			wantMonitor: &monitoringv1.PodMetricsEndpoint{Port: ptr.To("metrics"), Path: "/internal/metrics", Interval: "15s"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.App.Metrics = tc.metrics
			bc := testContext(tn)
			bc.Config.Platform.PodMonitors = tc.served
			objs := typed(t, buildApp(bc))
			var ports []string
			for _, p := range objs["Deployment/app"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Ports {
				ports = append(ports, p.Name)
			}
			if diff := cmp.Diff(tc.wantPorts, ports); diff != "" {
				t.Errorf("container ports (-want +got):\n%s", diff)
			}
			obj, ok := objs["PodMonitor/app"]
			if (tc.wantMonitor != nil) != ok {
				t.Fatalf("PodMonitor built: %v, want %v", ok, tc.wantMonitor != nil)
			}
			if !ok {
				return
			}
			pm := obj.(*monitoringv1.PodMonitor)
			want := monitoringv1.PodMonitorSpec{
				Selector:            metav1.LabelSelector{MatchLabels: map[string]string{silov1.TenantLabel: "acme", silov1.ComponentLabel: "app"}},
				PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{*tc.wantMonitor},
			}
			if diff := cmp.Diff(want, pm.Spec); diff != "" {
				t.Errorf("PodMonitor (-want +got):\n%s", diff)
			}
			if pm.Labels[silov1.ManagedByLabel] != "silo" || len(pm.OwnerReferences) != 1 || !*pm.OwnerReferences[0].Controller {
				t.Errorf("PodMonitor lacks labels or owner: %v %v", pm.Labels, pm.OwnerReferences)
			}
		})
	}
}
