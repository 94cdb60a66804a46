package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildWorkers(t *testing.T) {
	tests := map[string]struct {
		workers      silov1.WorkersSpec
		suspend      bool
		wantImage    string
		wantReplicas int32
	}{
		"the app's image by default, one replica": {
			workers:      silov1.WorkersSpec{Command: []string{"/app", "worker"}},
			wantImage:    "registry.example.com/shop/app:1.4.2",
			wantReplicas: 1,
		},
		"their own image and replicas": {
			workers:      silov1.WorkersSpec{Image: "registry.example.com/shop/worker:2", Replicas: ptr.To(int32(4))},
			wantImage:    "registry.example.com/shop/worker:2",
			wantReplicas: 4,
		},
		"suspended": {
			workers:      silov1.WorkersSpec{Command: []string{"/app", "worker"}, Replicas: ptr.To(int32(4))},
			suspend:      true,
			wantImage:    "registry.example.com/shop/app:1.4.2",
			wantReplicas: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Workers = &tc.workers
			tn.Spec.Suspend = tc.suspend
			objs := typed(t, buildWorkers(testContext(tn)))
			if diff := cmp.Diff([]string{"Deployment/workers"}, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			d := objs["Deployment/workers"].(*appsv1.Deployment)
			c := d.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage {
				t.Errorf("image = %s, want %s", c.Image, tc.wantImage)
			}
			if diff := cmp.Diff(tc.workers.Command, c.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if got := ptr.Deref(d.Spec.Replicas, -1); got != tc.wantReplicas {
				t.Errorf("replicas = %d, want %d", got, tc.wantReplicas)
			}
			if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != SettingsSecretName {
				t.Errorf("envFrom = %+v", c.EnvFrom)
			}
			if len(c.Ports) != 0 {
				t.Errorf("workers expose ports: %v", c.Ports)
			}
			checkRestricted(t, "workers", &d.Spec.Template.Spec, appUID)
		})
	}
}
