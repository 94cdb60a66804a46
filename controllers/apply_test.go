package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIsApplied(t *testing.T) {
	want := func() *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "tenant-acme", Labels: map[string]string{"a": "b"}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		}
	}
	// live is what the API server returns: server-set metadata and defaults added.
	live := want()
	live.UID = "uid"
	live.ResourceVersion = "42"
	live.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	live.Spec.ClusterIP = "10.96.0.10"
	live.Spec.Ports[0].Protocol = corev1.ProtocolTCP
	live.Spec.SessionAffinity = corev1.ServiceAffinityNone

	tests := map[string]struct {
		mutate func(*corev1.Service)
		want   bool
	}{
		"server-set fields and defaults do not count as a difference": {want: true},
		"a changed field does": {mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 9090 }, want: false},
		"a changed label does": {mutate: func(s *corev1.Service) { s.Labels["a"] = "c" }, want: false},
		"a missing label does": {mutate: func(s *corev1.Service) { s.Labels = nil }, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := live.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(l)
			}
			if got := isApplied(want(), l); got != tc.want {
				t.Errorf("isApplied = %v, want %v", got, tc.want)
			}
		})
	}
}
