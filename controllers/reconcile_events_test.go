package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func key(kind, name string) childKey {
	return childKey{gvk: appsv1.SchemeGroupVersion.WithKind(kind), name: name}
}

func TestStoryEvents(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason + " message"}
	}
	withStatus := func(gen, observed int64, phase silov1.TenantPhase, conds ...metav1.Condition) *silov1.Tenant {
		tn := tenant("acme")
		tn.Generation = gen
		tn.Status = silov1.TenantStatus{Phase: phase, ObservedGeneration: observed, Conditions: conds}
		return tn
	}
	readyConds := []metav1.Condition{cond(silov1.ReadyCondition, "True", silov1.ReadyReason), cond(silov1.DegradedCondition, "False", silov1.AsExpectedReason)}
	provisioning := []metav1.Condition{cond(silov1.ReadyCondition, "False", silov1.ComponentsNotReadyReason), cond(silov1.DegradedCondition, "False", silov1.AsExpectedReason)}
	ready := withStatus(1, 1, silov1.PhaseReady, readyConds...)
	netpol := childKey{gvk: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")}
	tests := map[string]struct {
		orig, next *silov1.Tenant
		obs        *observation
		want       []string
	}{
		"a pass that changed nothing tells nothing": {
			orig: ready, next: ready, obs: &observation{}, want: nil,
		},
		"a new Tenant: one event naming the kinds it got": {
			orig: tenant("acme"), next: withStatus(1, 1, silov1.PhaseProvisioning, provisioning...),
			obs: &observation{created: []childKey{
				{gvk: corev1.SchemeGroupVersion.WithKind("Namespace"), name: "tenant-acme"}, netpol, netpol, netpol, key("Deployment", "app"),
			}},
			want: []string{"Normal Created created 5 children: Namespace, NetworkPolicy (3), Deployment"},
		},
		"a deleted child put back on an unchanged spec is drift": {
			orig: ready, next: ready, obs: &observation{created: []childKey{key("Deployment", "app")}, updated: []childKey{key("Service", "app")}},
			want: []string{"Normal DriftRepaired put back created Deployment app, updated Service app as the Tenant asks (edited or deleted since the last pass)"},
		},
		"a changed spec: the children it changed, at most five by name": {
			orig: withStatus(2, 1, silov1.PhaseReady, readyConds...), next: withStatus(2, 2, silov1.PhaseReady, readyConds...),
			obs: &observation{updated: []childKey{key("Deployment", "a"), key("Deployment", "b"), key("Deployment", "c"),
				key("Deployment", "d"), key("Deployment", "e"), key("Deployment", "f"), key("Deployment", "g")}},
			want: []string{"Normal Updated applied generation 2: updated Deployment a, updated Deployment b, updated Deployment c, " +
				"updated Deployment d, updated Deployment e, and 2 more"},
		},
		"a new Tenant in conflict: a warning with the reason and message": {
			orig: tenant("acme"),
			next: withStatus(1, 0, silov1.PhaseDegraded, cond(silov1.ReadyCondition, "False", silov1.NamespaceConflictReason),
				cond(silov1.DegradedCondition, "True", silov1.NamespaceConflictReason)),
			obs:  &observation{},
			want: []string{"Warning NamespaceConflict NamespaceConflict message"},
		},
		"still degraded for the same reason: nothing new": {
			orig: withStatus(1, 0, silov1.PhaseDegraded, cond(silov1.DegradedCondition, "True", silov1.ExternalSecretMissingReason)),
			next: withStatus(1, 0, silov1.PhaseDegraded, cond(silov1.DegradedCondition, "True", silov1.ExternalSecretMissingReason)),
			obs:  &observation{},
		},
		"a Ready Tenant turning Degraded: its Ready flip tells it, no second event": {
			orig: ready,
			next: withStatus(1, 1, silov1.PhaseDegraded, cond(silov1.ReadyCondition, "False", silov1.ReconcileFailedReason),
				cond(silov1.DegradedCondition, "True", silov1.ReconcileFailedReason)),
			obs: &observation{},
		},
		"suspending a Tenant that was not Ready": {
			orig: withStatus(2, 1, silov1.PhaseProvisioning, provisioning...),
			next: withStatus(2, 2, silov1.PhaseSuspended, cond(silov1.ReadyCondition, "False", silov1.SuspendedReason)),
			obs:  &observation{},
			want: []string{"Normal Suspended spec.suspend is true: workloads are scaled to zero, volumes and Secrets are kept"},
		},
		"resuming": {
			orig: withStatus(3, 2, silov1.PhaseSuspended, cond(silov1.ReadyCondition, "False", silov1.SuspendedReason)),
			next: withStatus(3, 3, silov1.PhaseProvisioning, provisioning...),
			obs:  &observation{},
			want: []string{"Normal Resumed spec.suspend is false: workloads are scaled back up"},
		},
	}
	onRevision := func(class, revision string, observed int64) *silov1.Tenant {
		tn := withStatus(1, observed, silov1.PhaseReady, readyConds...)
		tn.Status.Class, tn.Status.ClassRevision = class, revision
		return tn
	}
	tests["a class rollout reaching the Tenant: one event with the revisions and what changed"] = struct {
		orig, next *silov1.Tenant
		obs        *observation
		want       []string
	}{
		orig: onRevision("standard", "aaa", 1), next: onRevision("standard", "bbb", 1),
		obs:  &observation{updated: []childKey{key("Deployment", "app")}},
		want: []string{"Normal RolloutReached class standard rolled out to this Tenant: revision bbb (was aaa): updated Deployment app"},
	}
	tests["joining a class"] = struct {
		orig, next *silov1.Tenant
		obs        *observation
		want       []string
	}{
		orig: onRevision("", "", 1), next: onRevision("standard", "aaa", 2),
		obs:  &observation{},
		want: []string{"Normal ClassChanged joined class standard at revision aaa"},
	}
	tests["a new Tenant of a class: its first revision is no move"] = struct {
		orig, next *silov1.Tenant
		obs        *observation
		want       []string
	}{
		orig: tenant("acme"), next: onRevision("standard", "aaa", 1),
		obs:  &observation{created: []childKey{key("Deployment", "app")}},
		want: []string{"Normal Created created 1 child (class standard, revision aaa): Deployment"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, e := range storyEvents(tc.orig, tc.next, tc.obs) {
				got = append(got, e.typ+" "+e.reason+" "+e.note)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}
