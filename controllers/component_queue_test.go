package controllers

import (
	"fmt"
	"slices"
	"strings"
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
			if diff := cmp.Diff([]string{"Secret/queue-config", "Service/queue", "StatefulSet/queue"}, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			s := objs["StatefulSet/queue"].(*appsv1.StatefulSet)
			c := s.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage {
				t.Errorf("image = %s, want %s", c.Image, tc.wantImage)
			}
			if !slices.Contains(c.Args, "--jetstream") || !slices.Contains(c.Args, "--config=/etc/nats/nats.conf") ||
				slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--pass") || strings.HasPrefix(a, "--user") }) {
				t.Errorf("args = %v, want the users from the configuration file, none in flags", c.Args)
			}
			if len(c.Env) != 0 {
				t.Errorf("env = %v, want none: the configuration file holds the users", c.Env)
			}
			// The configuration Secret is mounted whole: the kubelet refreshes it in
			// place (never under subPath), and the server reloads it when asked.
			var volume *corev1.Volume
			for i := range s.Spec.Template.Spec.Volumes {
				if v := &s.Spec.Template.Spec.Volumes[i]; v.Secret != nil {
					volume = v
				}
			}
			if volume == nil || volume.Secret.SecretName != "queue-config" {
				t.Fatalf("volumes = %+v, want the Secret queue-config", s.Spec.Template.Spec.Volumes)
			}
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == volume.Name && m.MountPath == "/etc/nats" && m.ReadOnly && m.SubPath == ""
			}) {
				t.Errorf("mounts = %+v, want %s read-only at /etc/nats, whole", c.VolumeMounts, volume.Name)
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

func TestQueueConfig(t *testing.T) {
	staging := map[string][]byte{"username": []byte("app_b"), "password": []byte("new"),
		previousUserKey: []byte("app"), previousPasswordKey: []byte("qpass")}
	current := map[string][]byte{"username": []byte("app"), "password": []byte("qpass")}
	swapped := map[string][]byte{"username": []byte("app_b"), "password": []byte("new")}
	rotation := func(phase silov1.RotationPhase) *silov1.CredentialsStatus {
		return &silov1.CredentialsStatus{Rotations: []silov1.CredentialRotation{
			{Service: CacheName, Phase: silov1.RotationRetiring}, {Service: QueueName, Phase: phase}}}
	}
	both := []login{{"app", "qpass"}, {"app_b", "new"}}
	for name, tc := range map[string]struct {
		current, staging map[string][]byte
		status           *silov1.CredentialsStatus
		want             []login
	}{
		"no rotation: the credentials in use": {current: current, want: []login{{"app", "qpass"}}},
		"applying: the new password beside the old one": {current: current, staging: staging,
			status: rotation(silov1.RotationApplying), want: both},
		"rolling out: the app has the new one, the old one still works": {current: swapped, staging: staging,
			status: rotation(silov1.RotationRollingOut), want: both},
		"retiring: the new one only": {current: swapped, staging: staging,
			status: rotation(silov1.RotationRetiring), want: []login{{"app_b", "new"}}},
		"succeeded": {current: swapped, status: rotation(silov1.RotationSucceeded), want: []login{{"app_b", "new"}}},
		"failed: the old one keeps working": {current: current, staging: staging,
			status: rotation(silov1.RotationFailed), want: both},
		"a staging Secret without status (the status write was lost): both": {current: current, staging: staging, want: both},
		"a user name appears once, the credentials in use first": {current: map[string][]byte{"username": []byte("app"), "password": []byte("x")},
			staging: staging, want: []login{{"app", "x"}, {"app_b", "new"}}},
	} {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Queue = &silov1.QueueSpec{}
			tn.Status.Credentials = tc.status
			bc := testContext(tn)
			bc.Credentials[QueueName], bc.QueueStaging = tc.current, tc.staging
			if diff := cmp.Diff(tc.want, queueLogins(bc), cmp.AllowUnexported(login{})); diff != "" {
				t.Errorf("logins (-want +got):\n%s", diff)
			}
			s := typed(t, buildQueue(bc))["Secret/queue-config"].(*corev1.Secret)
			conf := string(s.Data[natsConfigFile])
			for _, l := range tc.want {
				if entry := fmt.Sprintf("{user: %q, password: %q}", l.user, l.password); !strings.Contains(conf, entry) {
					t.Errorf("the configuration lacks %s:\n%s", entry, conf)
				}
			}
			if strings.Count(conf, "{user:") != len(tc.want)+1 {
				t.Errorf("the configuration has other users than %v and the reload user:\n%s", tc.want, conf)
			}
			if string(s.Data[reloadPasswordKey]) != "rpass" || !strings.Contains(conf,
				`{user: "silo-reload", password: "rpass", permissions: {publish: {allow: ["$SYS.REQ.SERVER.*.RELOAD"]}, subscribe: {allow: ["_INBOX.>"]}}}`) {
				t.Errorf("the reload user is not the read-back one, allowed only to reload:\n%s", conf)
			}
			if s.Labels[silov1.ManagedByLabel] != silov1.ManagedByValue || s.Labels[silov1.ComponentLabel] != QueueName {
				t.Errorf("labels = %v", s.Labels)
			}
		})
	}
}

func TestNATSQuote(t *testing.T) {
	for in, want := range map[string]string{
		"0123abcdef":    `"0123abcdef"`,
		`a"b\c`:         `"a\"b\\c"`,
		"line\nbreak":   `"line\x0abreak"`,
		"$SYS and ${x}": `"$SYS and ${x}"`,
	} {
		if got := natsQuote(in); got != want {
			t.Errorf("natsQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
