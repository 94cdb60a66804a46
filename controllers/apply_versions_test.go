package controllers

import (
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestAppliedVersionsHoldOnlyWhatSiloLastSaw proves the cache that lets a pass skip an
// unchanged child: it holds only for the resourceVersion and content hash Silo last
// wrote or found (or an older version a lagging cache still has), a comparison keeps the generation Silo wrote, and a Tenant's
// departure forgets its namespace's children and the namespace itself.
func TestAppliedVersionsHoldOnlyWhatSiloLastSaw(t *testing.T) {
	deploy := appsv1.SchemeGroupVersion.WithKind("Deployment")
	nsKind := corev1.SchemeGroupVersion.WithKind("Namespace")
	app := client.ObjectKey{Namespace: "tenant-a", Name: "app"}
	other := client.ObjectKey{Namespace: "tenant-b", Name: "app"}
	ns := client.ObjectKey{Name: "tenant-a"}
	v := &appliedVersions{}

	if v.holds(deploy, app, "5", "h1") {
		t.Fatal("holds a child it never saw")
	}
	v.wrote(deploy, app, storedVersion{resourceVersion: "5", generation: 2}, "h1")
	v.wrote(deploy, other, storedVersion{resourceVersion: "6", generation: 1}, "h1")
	v.wrote(nsKind, ns, storedVersion{resourceVersion: "4"}, "n1")
	switch {
	case !v.holds(deploy, app, "5", "h1"):
		t.Error("does not hold the version its own write returned")
	case v.holds(deploy, app, "7", "h1"):
		t.Error("holds a version another writer made")
	case !v.holds(deploy, app, "4", "h1"):
		t.Error("does not hold an older version the cache still has after Silo's write: the pass would write again")
	case v.holds(deploy, app, "4", "h2"):
		t.Error("holds an older version for content Silo no longer sends")
	case v.holds(deploy, app, "5", "h2"):
		t.Error("holds a version for content Silo no longer sends")
	case v.holds(deploy, app, "", "h1"):
		t.Error("holds an object without a resourceVersion")
	}
	if got := v.generation(deploy, app); got != 2 {
		t.Errorf("generation = %d, want 2 (what the write returned)", got)
	}

	v.matched(deploy, app, "9", "h2")
	if !v.holds(deploy, app, "9", "h2") {
		t.Error("does not hold the version a comparison found applied")
	}
	if got := v.generation(deploy, app); got != 2 {
		t.Errorf("generation after a comparison = %d, want 2: only writes set it", got)
	}

	v.forgetNamespace("tenant-a")
	if v.holds(deploy, app, "9", "h2") || v.holds(nsKind, ns, "4", "n1") {
		t.Error("still holds a child or the namespace of a Tenant that left")
	}
	if !v.holds(deploy, other, "6", "h1") {
		t.Error("forgot another Tenant's child")
	}
}

// TestStatusErrorKeepsTheRefusal proves that a refused apply reports who refused it
// and why (the Tenant's Degraded message quotes it), and that a body without a Status
// leaves the client's error as it was.
func TestStatusErrorKeepsTheRefusal(t *testing.T) {
	body := []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"ingresses.networking.k8s.io \"app\" is forbidden: refused by the policy","reason":"Invalid","code":422}`)
	generic := errors.New("the server rejected our request due to an error in our request")
	err := statusError(body, generic)
	if !apierrors.IsInvalid(err) || err.Error() != `ingresses.networking.k8s.io "app" is forbidden: refused by the policy` {
		t.Errorf("statusError = %v, want the Status's reason and message", err)
	}
	if got := statusError([]byte("<html>bad gateway</html>"), generic); got != generic {
		t.Errorf("statusError of a body without a Status = %v, want the client's error", got)
	}
	if got := statusError(nil, generic); got != generic {
		t.Errorf("statusError of no body = %v, want the client's error", got)
	}
}
