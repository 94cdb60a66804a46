package controllers

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestComponentOrder(t *testing.T) {
	var names []string
	for _, c := range components {
		names = append(names, c.name)
	}
	if diff := cmp.Diff([]string{"app", "workers", "queue", "cache", "database", "storage"}, names); diff != "" {
		t.Errorf("component order (-want +got):\n%s", diff)
	}
}

func TestBuildWorkloadsOfAFullTenant(t *testing.T) {
	objs := typed(t, buildWorkloads(testContext(fullTestTenant())))
	want := []string{
		"Deployment/app", "Deployment/cache", "Deployment/workers",
		"Ingress/app", "PersistentVolumeClaim/storage", "PodDisruptionBudget/app",
		"Secret/connection-settings", "Secret/queue-config",
		"Service/app", "Service/cache", "Service/database", "Service/queue",
		"StatefulSet/database", "StatefulSet/queue",
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	uids := map[string]int64{"Deployment/app": appUID, "Deployment/workers": appUID, "Deployment/cache": valkeyUID,
		"StatefulSet/queue": natsUID, "StatefulSet/database": postgresUID}
	for name, p := range podSpecs(objs) {
		checkRestricted(t, name, p, uids[name])
	}
}

// TestBuildersArePure proves that building twice gives byte-identical objects (no
// clock, randomness or map order) and leaves the Tenant as it was.
func TestBuildersArePure(t *testing.T) {
	tn := fullTestTenant()
	before := tn.DeepCopy()
	a, b := typed(t, buildWorkloads(testContext(tn))), typed(t, buildWorkloads(testContext(tn)))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two builds differ:\n%s", diff)
	}
	if diff := cmp.Diff(before, tn); diff != "" {
		t.Errorf("building changed the Tenant:\n%s", diff)
	}
}

func TestExternalComponents(t *testing.T) {
	tests := map[string]struct {
		external map[string]map[string][]byte
		wantObjs []string
		wantSet  map[string]string
		wantRdy  bool
	}{
		"secret present: its keys are the settings, nothing is run": {
			external: map[string]map[string][]byte{DatabaseName: {"DATABASE_URL": []byte("postgres://x"), "PGSSLMODE": []byte("require")}},
			wantObjs: []string{"Deployment/app", "Secret/connection-settings", "Service/app"},
			wantSet:  map[string]string{"DATABASE_URL": "postgres://x", "PGSSLMODE": "require"},
			wantRdy:  true,
		},
		"secret missing: no settings, not ready, still nothing run": {
			external: map[string]map[string][]byte{},
			wantObjs: []string{"Deployment/app", "Secret/connection-settings", "Service/app"},
			wantSet:  map[string]string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "acme-db"}}
			bc := testContext(tn)
			bc.External = tc.external
			objs := typed(t, buildWorkloads(bc))
			if diff := cmp.Diff(tc.wantObjs, keys(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			got := map[string]string{}
			for k, v := range settingsData(bc) {
				got[k] = string(v)
			}
			if diff := cmp.Diff(tc.wantSet, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			db := &components[4]
			st, err := db.status(context.Background(), fake.NewClientBuilder().WithScheme(NewScheme()).Build(), bc)
			if err != nil {
				t.Fatal(err)
			}
			if st.Ready != tc.wantRdy {
				t.Errorf("ready = %v, want %v (%s)", st.Ready, tc.wantRdy, st.Message)
			}
			if db.endpointURL(tn) != "" {
				t.Error("an external service has an endpoint in status")
			}
		})
	}
}

func TestSettingsHashFollowsSettings(t *testing.T) {
	tn := fullTestTenant()
	h1 := settingsHash(settingsData(testContext(tn)))
	if h2 := settingsHash(settingsData(testContext(tn))); h1 != h2 {
		t.Errorf("hash is not stable: %s then %s", h1, h2)
	}
	bc := testContext(tn)
	bc.Credentials[DatabaseName]["password"] = []byte("other")
	if settingsHash(settingsData(bc)) == h1 {
		t.Error("a changed password does not change the hash: the app would keep the old one")
	}
	tn.Spec.Storage = nil
	if settingsHash(settingsData(testContext(tn))) == h1 {
		t.Error("removing storage does not change the hash")
	}
}

func TestReplicaStatus(t *testing.T) {
	tests := map[string]struct {
		state workloadState
		want  silov1.ComponentStatus
	}{
		"all ready": {state: workloadState{specReplicas: ptr.To(int32(2)), generation: 3, observed: 3, updated: 2, ready: 2},
			want: silov1.ComponentStatus{Name: "app", Ready: true, Replicas: 2, ReadyReplicas: 2}},
		"not yet observed": {state: workloadState{specReplicas: ptr.To(int32(2)), generation: 4, observed: 3, updated: 2, ready: 2},
			want: silov1.ComponentStatus{Name: "app", Replicas: 2, ReadyReplicas: 2, Message: "the Deployment controller has not yet seen generation 4"}},
		"ready replicas of the old template do not count": {state: workloadState{specReplicas: ptr.To(int32(2)), generation: 4, observed: 4, updated: 1, ready: 2},
			want: silov1.ComponentStatus{Name: "app", Replicas: 2, ReadyReplicas: 2, Message: "rolling out: 1/2 replicas updated"}},
		"an old pod still serving while the new one starts is not ready": {state: workloadState{specReplicas: ptr.To(int32(1)), generation: 4, observed: 4,
			updated: 1, ready: 1, replicas: 2},
			want: silov1.ComponentStatus{Name: "app", Replicas: 1, ReadyReplicas: 1, Message: "rolling out: 1 old replicas still running"}},
		"a StatefulSet whose update revision is not current yet": {state: workloadState{specReplicas: ptr.To(int32(1)), generation: 2, observed: 2,
			updated: 1, ready: 1, currentRevision: "db-1", updateRevision: "db-2"},
			want: silov1.ComponentStatus{Name: "app", Replicas: 1, ReadyReplicas: 1, Message: "rolling out: revision db-2 is not current yet"}},
		"a StatefulSet rolled out": {state: workloadState{specReplicas: ptr.To(int32(1)), generation: 2, observed: 2,
			updated: 1, ready: 1, currentRevision: "db-2", updateRevision: "db-2"},
			want: silov1.ComponentStatus{Name: "app", Ready: true, Replicas: 1, ReadyReplicas: 1}},
		"some ready": {state: workloadState{specReplicas: ptr.To(int32(3)), generation: 1, observed: 1, updated: 3, ready: 1},
			want: silov1.ComponentStatus{Name: "app", Replicas: 3, ReadyReplicas: 1, Message: "1/3 replicas ready"}},
		"replicas unset defaults to one": {state: workloadState{generation: 1, observed: 1, updated: 1},
			want: silov1.ComponentStatus{Name: "app", Replicas: 1, Message: "0/1 replicas ready"}},
		"scaled to zero": {state: workloadState{specReplicas: ptr.To(int32(0)), generation: 2, observed: 2},
			want: silov1.ComponentStatus{Name: "app", Ready: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.state.kind = "Deployment"
			got := replicaStatus("app", tc.state)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestObserveReadsWorkloadsAndClaims(t *testing.T) {
	tn := testTenant()
	ns := NamespaceFor(tn)
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "database", Namespace: ns, Generation: 1},
			Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1))},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, UpdatedReplicas: 1, ReadyReplicas: 1}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "storage", Namespace: ns},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
	).Build()
	bc := testContext(tn)
	ctx := context.Background()
	if st, _ := observeStatefulSet("database")(ctx, c, bc); !st.Ready {
		t.Errorf("database: %+v", st)
	}
	if st, _ := observeClaim("storage")(ctx, c, bc); st.Ready || st.Message != "volume claim storage is Pending" {
		t.Errorf("storage: %+v", st)
	}
	if st, err := observeDeployment("app")(ctx, c, bc); err != nil || st.Ready || st.Message != "Deployment app not created yet" {
		t.Errorf("app: %+v %v", st, err)
	}
}

func TestObserveJudgesTheGenerationSiloWrote(t *testing.T) {
	tn := testTenant()
	ns := NamespaceFor(tn)
	// The informer cache still holds the version before Silo's last write: all of
	// it rolled out. Readiness must wait for the controller to see the write.
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns, Generation: 3},
			Spec:   appsv1.DeploymentSpec{Replicas: ptr.To(int32(1))},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "database", Namespace: ns, Generation: 1},
			Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1))},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, UpdatedReplicas: 1, ReadyReplicas: 1}},
	).Build()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		written   int64
		wantReady bool
	}{
		"Silo wrote a newer generation than the cache holds": {written: 4},
		"the cache holds what Silo wrote":                    {written: 3, wantReady: true},
		"Silo wrote nothing in this process":                 {written: 0, wantReady: true},
	} {
		t.Run(name, func(t *testing.T) {
			bc := testContext(tn)
			bc.Written = func(gvk schema.GroupVersionKind, key client.ObjectKey) int64 {
				if gvk.Kind == "Deployment" && key.Name == "app" {
					return tc.written
				}
				return 0
			}
			st, err := observeDeployment("app")(ctx, c, bc)
			if err != nil || st.Ready != tc.wantReady {
				t.Errorf("app: %+v %v, want ready %v", st, err, tc.wantReady)
			}
			if st, _ := observeStatefulSet("database")(ctx, c, bc); !st.Ready {
				t.Errorf("database, not written: %+v", st)
			}
		})
	}
}

func TestWithTag(t *testing.T) {
	tests := map[string]struct{ image, version, want string }{
		"no version":        {"docker.io/library/nats:2.11.6-alpine", "", "docker.io/library/nats:2.11.6-alpine"},
		"tag replaced":      {"docker.io/library/nats:2.11.6-alpine", "2.12.0", "docker.io/library/nats:2.12.0"},
		"registry port":     {"registry.local:5000/nats:2.11", "2.12", "registry.local:5000/nats:2.12"},
		"untagged":          {"registry.local:5000/nats", "2.12", "registry.local:5000/nats:2.12"},
		"digest is dropped": {"docker.io/library/nats:2.11@sha256:abc", "2.12", "docker.io/library/nats:2.12"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := withTag(tc.image, tc.version); got != tc.want {
				t.Errorf("withTag(%q, %q) = %q, want %q", tc.image, tc.version, got, tc.want)
			}
		})
	}
}

func TestManagedWorkloadsPriorityClass(t *testing.T) {
	tests := map[string]struct {
		class string
		want  string
	}{
		"no platform default: the pods take the cluster's default priority": {},
		"the platform default goes on every managed workload":               {class: "tenant-default", want: "tenant-default"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bc := testContext(fullTestTenant())
			bc.Config.Guardrails.DefaultPriorityClass = tc.class
			specs := podSpecs(typed(t, allObjects(bc)))
			if len(specs) != 5 {
				t.Fatalf("got %d workloads, want app, workers, queue, cache, database: %v", len(specs), sortedKeys(specs))
			}
			for name, spec := range specs {
				if spec.PriorityClassName != tc.want {
					t.Errorf("%s: priorityClassName = %q, want %q", name, spec.PriorityClassName, tc.want)
				}
			}
		})
	}
}

// TestManagedByLabelStaysOffWhatTenantsActOn proves the split the managed-objects
// policy relies on: every object Silo writes carries app.kubernetes.io/managed-by, but
// no pod template does (pods and ReplicaSets inherit it, and a tenant admin may delete
// a pod), while claim templates keep it (claims hold data, and a StatefulSet's claim
// templates cannot change after creation).
func TestManagedByLabelStaysOffWhatTenantsActOn(t *testing.T) {
	objs := typed(t, buildWorkloads(testContext(fullTestTenant())))
	for name, o := range objs {
		if o.GetLabels()[silov1.ManagedByLabel] != silov1.ManagedByValue {
			t.Errorf("%s: want label %s=%s on every object Silo writes", name, silov1.ManagedByLabel, silov1.ManagedByValue)
		}
	}
	want := map[string]string{silov1.TenantLabel: "acme"}
	for name, o := range objs {
		var tmpl *corev1.PodTemplateSpec
		switch w := o.(type) {
		case *appsv1.Deployment:
			tmpl = &w.Spec.Template
		case *appsv1.StatefulSet:
			tmpl = &w.Spec.Template
			for _, c := range w.Spec.VolumeClaimTemplates {
				if c.Labels[silov1.ManagedByLabel] != silov1.ManagedByValue {
					t.Errorf("%s: claim template %s lost %s; the template cannot change on existing StatefulSets", name, c.Name, silov1.ManagedByLabel)
				}
			}
		default:
			continue
		}
		if _, ok := tmpl.Labels[silov1.ManagedByLabel]; ok {
			t.Errorf("%s: pod template carries %s, which its pods would inherit", name, silov1.ManagedByLabel)
		}
		want[silov1.ComponentLabel] = tmpl.Labels[silov1.ComponentLabel]
		if diff := cmp.Diff(want, tmpl.Labels); diff != "" {
			t.Errorf("%s: pod template labels (-want +got):\n%s", name, diff)
		}
	}
}
