package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestPlacement(t *testing.T) {
	regionAffinity := func(region string) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "topology.kubernetes.io/region", Operator: corev1.NodeSelectorOpIn, Values: []string{region}}},
			}}},
		}}
	}
	poolToleration := func(pool string) []corev1.Toleration {
		return []corev1.Toleration{{Key: "silo.dev/node-pool", Operator: corev1.TolerationOpEqual, Value: pool,
			Effect: corev1.TaintEffectNoSchedule}}
	}
	tests := map[string]struct {
		isolation    silov1.IsolationSpec
		region       string
		wantPod      corev1.PodSpec
		wantClass    *string
		wantNoChange bool
	}{
		"nothing asked: the scheduler and the default storage class decide": {
			wantPod: corev1.PodSpec{},
		},
		"node pool: node selector and toleration of the pool's taint": {
			isolation: silov1.IsolationSpec{NodePool: "acme-dedicated"},
			wantPod: corev1.PodSpec{
				NodeSelector: map[string]string{"silo.dev/node-pool": "acme-dedicated"},
				Tolerations:  poolToleration("acme-dedicated"),
			},
		},
		"runtime class": {
			isolation: silov1.IsolationSpec{RuntimeClassName: "gvisor"},
			wantPod:   corev1.PodSpec{RuntimeClassName: ptr.To("gvisor")},
		},
		"region with a configured storage class": {
			region:    "eu-west-1",
			wantPod:   corev1.PodSpec{Affinity: regionAffinity("eu-west-1")},
			wantClass: ptr.To("fast-eu"),
		},
		"region without a configured storage class: pods pinned, default class": {
			region:  "us-east-2",
			wantPod: corev1.PodSpec{Affinity: regionAffinity("us-east-2")},
		},
		"everything at once": {
			isolation: silov1.IsolationSpec{NodePool: "p1", RuntimeClassName: "kata"},
			region:    "eu-west-1",
			wantPod: corev1.PodSpec{
				NodeSelector:     map[string]string{"silo.dev/node-pool": "p1"},
				Tolerations:      poolToleration("p1"),
				RuntimeClassName: ptr.To("kata"),
				Affinity:         regionAffinity("eu-west-1"),
			},
			wantClass: ptr.To("fast-eu"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Isolation = tc.isolation
			tn.Spec.Placement.Region = tc.region
			bc := testContext(tn)

			spec := corev1ac.PodSpec()
			placePod(tn, spec)
			gotPod := roundTrip[corev1.PodSpec](t, spec)
			if d := cmp.Diff(tc.wantPod, gotPod); d != "" {
				t.Errorf("pod placement (-want +got):\n%s", d)
			}
			claim := corev1ac.PersistentVolumeClaimSpec()
			placeClaim(tn, bc.Config, claim)
			if d := cmp.Diff(tc.wantClass, claim.StorageClassName); d != "" {
				t.Errorf("storage class (-want +got):\n%s", d)
			}
		})
	}
}

// TestPlacementReachesEveryPodAndVolume proves every component's pods and volumes are
// placed, not just the ones a builder remembered.
func TestPlacementReachesEveryPodAndVolume(t *testing.T) {
	tn := fullTestTenant()
	tn.Spec.Isolation = silov1.IsolationSpec{NodePool: "p1", RuntimeClassName: "gvisor"}
	tn.Spec.Placement.Region = "eu-west-1"
	objs := typed(t, allObjects(testContext(tn)))
	pods, claims := podSpecs(objs), claimSpecs(objs)
	if len(pods) != 5 || len(claims) != 3 {
		t.Fatalf("found %d pod specs and %d claims, want 5 and 3", len(pods), len(claims))
	}
	for name, p := range pods {
		if p.NodeSelector["silo.dev/node-pool"] != "p1" || len(p.Tolerations) != 1 ||
			ptr.Deref(p.RuntimeClassName, "") != "gvisor" || p.Affinity == nil {
			t.Errorf("%s is not placed: %+v", name, p)
		}
	}
	for name, c := range claims {
		if ptr.Deref(c.StorageClassName, "") != "fast-eu" {
			t.Errorf("%s has storage class %v, want fast-eu", name, c.StorageClassName)
		}
	}
}
