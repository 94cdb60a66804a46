package controllers

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestComputeStatus(t *testing.T) {
	ready := silov1.ComponentStatus{Name: "app", Ready: true, Replicas: 2, ReadyReplicas: 2}
	notReady := silov1.ComponentStatus{Name: "database", Replicas: 1, Message: "0/1 pods ready"}
	type want struct {
		phase                         silov1.TenantPhase
		ready, progressing, degraded  metav1.ConditionStatus
		readyReason, readyMsgFragment string
		observedGeneration            int64
		componentsReady               string
	}
	tests := map[string]struct {
		tenant *silov1.Tenant
		obs    observation
		err    error
		want   want
	}{
		"every component ready": {
			tenant: tenant("a"),
			obs:    observation{observed: true, namespaceReady: true, components: []silov1.ComponentStatus{ready}},
			want: want{phase: silov1.PhaseReady, ready: "True", progressing: "False", degraded: "False",
				readyReason: silov1.ReadyReason, observedGeneration: 3, componentsReady: "1/1"},
		},
		"a component not ready yet: provisioning, and the message names it": {
			tenant: tenant("a"),
			obs:    observation{observed: true, namespaceReady: true, components: []silov1.ComponentStatus{ready, notReady}},
			want: want{phase: silov1.PhaseProvisioning, ready: "False", progressing: "True", degraded: "False",
				readyReason: silov1.ComponentsNotReadyReason, readyMsgFragment: "database (0/1 pods ready)",
				observedGeneration: 3, componentsReady: "1/2"},
		},
		"children written this pass but everything ready: not progressing, so no second status write": {
			tenant: tenant("a"),
			obs:    observation{observed: true, namespaceReady: true, changed: true, components: []silov1.ComponentStatus{ready}},
			want: want{phase: silov1.PhaseReady, ready: "True", progressing: "False", degraded: "False",
				readyReason: silov1.ReadyReason, observedGeneration: 3, componentsReady: "1/1"},
		},
		"a failed pass: degraded, and the generation is not marked observed": {
			tenant: tenant("a"),
			obs:    observation{observed: true, components: []silov1.ComponentStatus{ready}},
			err:    apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "app", errors.New("boom")),
			want: want{phase: silov1.PhaseDegraded, ready: "False", progressing: "False", degraded: "True",
				readyReason: silov1.ReconcileFailedReason, readyMsgFragment: "boom", observedGeneration: 1, componentsReady: "1/1"},
		},
		"blocked by something a person must fix": {
			tenant: tenant("a"),
			obs:    observation{blocked: &blockage{reason: silov1.NamespaceConflictReason, message: "namespace tenant-a already exists"}},
			err:    errors.New("namespace tenant-a belongs to something else"),
			want: want{phase: silov1.PhaseDegraded, ready: "False", progressing: "False", degraded: "True",
				readyReason: silov1.NamespaceConflictReason, readyMsgFragment: "already exists", observedGeneration: 1, componentsReady: "0/0"},
		},
		"suspended": {
			tenant: tenant("a", func(t *silov1.Tenant) { t.Spec.Suspend = true }),
			obs:    observation{observed: true, namespaceReady: true, components: []silov1.ComponentStatus{notReady}},
			want: want{phase: silov1.PhaseSuspended, ready: "False", progressing: "False", degraded: "False",
				readyReason: silov1.SuspendedReason, readyMsgFragment: "set it to false to resume", observedGeneration: 3, componentsReady: "0/1"},
		},
		"deleting": {
			tenant: tenant("a"),
			obs:    observation{deleting: true},
			want: want{phase: silov1.PhaseDeleting, ready: "False", progressing: "True", degraded: "False",
				readyReason: silov1.DeletingReason, readyMsgFragment: "Retain", observedGeneration: 1, componentsReady: "0/0"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.tenant.Generation = 3
			tc.tenant.Status.ObservedGeneration = 1
			st := computeStatus(tc.tenant, &tc.obs, tc.err)
			r := meta.FindStatusCondition(st.Conditions, silov1.ReadyCondition)
			p := meta.FindStatusCondition(st.Conditions, silov1.ProgressingCondition)
			d := meta.FindStatusCondition(st.Conditions, silov1.DegradedCondition)
			got := want{
				phase: st.Phase, ready: r.Status, progressing: p.Status, degraded: d.Status,
				readyReason: r.Reason, readyMsgFragment: tc.want.readyMsgFragment,
				observedGeneration: st.ObservedGeneration, componentsReady: st.ComponentsReady,
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if tc.want.readyMsgFragment != "" && !strings.Contains(r.Message, tc.want.readyMsgFragment) {
				t.Errorf("Ready message %q does not contain %q", r.Message, tc.want.readyMsgFragment)
			}
			if st.Namespace != "tenant-a" {
				t.Errorf("namespace = %q", st.Namespace)
			}
			again := computeStatus(tc.tenant, &tc.obs, tc.err)
			if diff := cmp.Diff(st, again); diff != "" {
				t.Errorf("not deterministic:\n%s", diff)
			}
		})
	}
}
