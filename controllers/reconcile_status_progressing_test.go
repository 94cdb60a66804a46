package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// TestProgressingFollowsReadiness proves that the status of a pass does not depend on
// whether the pass wrote something: the pass that creates a Tenant's children and the
// next, unchanged pass compute the same status, so a new Tenant costs one status write.
func TestProgressingFollowsReadiness(t *testing.T) {
	tenant := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 2}}
	cases := map[string]struct {
		components      []silov1.ComponentStatus
		wantProgressing metav1.ConditionStatus
	}{
		"everything ready":  {wantProgressing: metav1.ConditionFalse},
		"a component waits": {components: []silov1.ComponentStatus{{Name: "app"}}, wantProgressing: metav1.ConditionTrue},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			first := computeStatus(tenant, &observation{changed: true, observed: true, namespaceReady: true, components: tc.components}, nil)
			next := computeStatus(tenant, &observation{observed: true, namespaceReady: true, components: tc.components}, nil)
			if p := meta.FindStatusCondition(first.Conditions, silov1.ProgressingCondition); p == nil || p.Status != tc.wantProgressing {
				t.Errorf("Progressing after the writing pass = %+v, want status %s", p, tc.wantProgressing)
			}
			for i := range first.Conditions {
				if first.Conditions[i] != next.Conditions[i] {
					t.Errorf("condition %s differs between the writing pass and the next:\n%+v\n%+v",
						first.Conditions[i].Type, first.Conditions[i], next.Conditions[i])
				}
			}
		})
	}
}
