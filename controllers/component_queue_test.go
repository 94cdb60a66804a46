package controllers

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildQueue(t *testing.T) {
	tests := map[string]struct {
		queue       silov1.QueueSpec
		suspend     bool
		wantImage   string
		wantStorage string
		wantReplica int32
	}{
		"defaults: the pinned image, 1Gi of JetStream storage": {
			wantImage:   "docker.io/library/nats:2.11.6-alpine",
			wantStorage: "1Gi",
			wantReplica: 1,
		},
		"version and storage": {
			queue:       silov1.QueueSpec{Version: "2.12.0-alpine", Storage: ptr.To(qty("5Gi"))},
			wantImage:   "docker.io/library/nats:2.12.0-alpine",
			wantStorage: "5Gi",
			wantReplica: 1,
		},
		"suspended keeps its volume template": {
			suspend:     true,
			wantImage:   "docker.io/library/nats:2.11.6-alpine",
			wantStorage: "1Gi",
			wantReplica: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Queue = &tc.queue
			tn.Spec.Suspend = tc.suspend
			objs := typed(t, buildQueue(testContext(tn)))
			if diff := cmp.Diff([]string{"Service/queue", "StatefulSet/queue"}, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			s := objs["StatefulSet/queue"].(*appsv1.StatefulSet)
			c := s.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage {
				t.Errorf("image = %s, want %s", c.Image, tc.wantImage)
			}
			if !slices.Contains(c.Args, "--jetstream") || !slices.Contains(c.Args, "--pass=$(NATS_PASSWORD)") {
				t.Errorf("args = %v", c.Args)
			}
			if got := ptr.Deref(s.Spec.Replicas, -1); got != tc.wantReplica {
				t.Errorf("replicas = %d, want %d", got, tc.wantReplica)
			}
			if s.Spec.ServiceName != "queue" || len(s.Spec.VolumeClaimTemplates) != 1 {
				t.Fatalf("serviceName %q, %d claim templates", s.Spec.ServiceName, len(s.Spec.VolumeClaimTemplates))
			}
			if got := s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String(); got != tc.wantStorage {
				t.Errorf("storage = %s, want %s", got, tc.wantStorage)
			}
			if p := s.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
				p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
				t.Errorf("claims are not retained: %+v", p)
			}
			svc := objs["Service/queue"].(*corev1.Service)
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("queue Service is not headless: %q", svc.Spec.ClusterIP)
			}
			checkRestricted(t, "queue", &s.Spec.Template.Spec, natsUID)
		})
	}
}

func TestQueueSettings(t *testing.T) {
	tn := testTenant()
	tn.Spec.Queue = &silov1.QueueSpec{}
	got := settingsData(testContext(tn))
	if want := "nats://app:qpass@queue.tenant-acme.svc:4222"; string(got["NATS_URL"]) != want {
		t.Errorf("NATS_URL = %s, want %s", got["NATS_URL"], want)
	}
}
