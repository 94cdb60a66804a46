package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestProbes(t *testing.T) {
	tcpHTTP := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}}
	execTrue := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	type probes struct{ readiness, liveness, startup *corev1.Probe }
	tests := map[string]struct {
		mutate      func(*silov1.Tenant)
		app, worker probes
	}{
		"defaults: a TCP check of the app's port, and a check that cannot fail for the workers": {
			app:    probes{readiness: tcpHTTP},
			worker: probes{readiness: execTrue},
		},
		"an HTTP probe without a port checks the app's port, on app and workers alike": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.App.Port = 3000
				tn.Spec.App.ReadinessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/healthz"}}
				tn.Spec.Workers.LivenessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/livez"}, PeriodSeconds: 5}
			},
			app: probes{readiness: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(3000)}}}},
			worker: probes{readiness: execTrue, liveness: &corev1.Probe{PeriodSeconds: 5, ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Path: "/livez", Port: intstr.FromInt32(3000)}}}},
		},
		"every field of every kind of probe is passed on": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.App.ReadinessProbe = &silov1.Probe{
					HTTPGet: &silov1.HTTPGetProbe{Path: "/ready", Port: ptr.To(intstr.FromString("http")), Scheme: "HTTPS",
						HTTPHeaders: []silov1.HTTPHeader{{Name: "X-Probe", Value: "1"}}},
					InitialDelaySeconds: 2, TimeoutSeconds: 3, PeriodSeconds: 4, SuccessThreshold: 2, FailureThreshold: 6,
				}
				tn.Spec.App.LivenessProbe = &silov1.Probe{GRPC: &silov1.GRPCProbe{Service: ptr.To("health")},
					TerminationGracePeriodSeconds: ptr.To(int64(7))}
				tn.Spec.App.StartupProbe = &silov1.Probe{TCPSocket: &silov1.TCPSocketProbe{Port: ptr.To(intstr.FromInt32(9000))},
					FailureThreshold: 30}
				tn.Spec.Workers.ReadinessProbe = &silov1.Probe{Exec: &silov1.ExecProbe{Command: []string{"/app", "healthcheck"}}}
				tn.Spec.Workers.StartupProbe = &silov1.Probe{GRPC: &silov1.GRPCProbe{Port: 9090}}
			},
			app: probes{
				readiness: &corev1.Probe{InitialDelaySeconds: 2, TimeoutSeconds: 3, PeriodSeconds: 4, SuccessThreshold: 2, FailureThreshold: 6,
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http"),
						Scheme: corev1.URISchemeHTTPS, HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "1"}}}}},
				liveness: &corev1.Probe{TerminationGracePeriodSeconds: ptr.To(int64(7)),
					ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 8080, Service: ptr.To("health")}}},
				startup: &corev1.Probe{FailureThreshold: 30,
					ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9000)}}},
			},
			worker: probes{
				readiness: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/app", "healthcheck"}}}},
				startup:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
			if tc.mutate != nil {
				tc.mutate(tn)
			}
			objs := typed(t, buildWorkloads(testContext(tn)))
			for name, want := range map[string]probes{"Deployment/app": tc.app, "Deployment/workers": tc.worker} {
				c := objs[name].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
				got := probes{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(probes{})); diff != "" {
					t.Errorf("%s probes (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}
