package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestIsApplied proves the applier's no-op check: fields the API server sets
// (creation time, uid, resourceVersion, defaults) do not make a child look changed, so
// an unchanged Tenant is reconciled without a write; a field Silo sets does.
func TestIsApplied(t *testing.T) {
	desired := func() *corev1.ServiceAccount {
		return &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "tenant-a",
				Labels: map[string]string{"app.kubernetes.io/managed-by": "silo"}},
			AutomountServiceAccountToken: new(false),
		}
	}
	serverSide := func(sa *corev1.ServiceAccount) *corev1.ServiceAccount {
		sa.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		sa.UID = "0b5e9d8a-1111-2222-3333-444455556666"
		sa.ResourceVersion = "42"
		sa.Generation = 3
		sa.Labels["added-by-someone-else"] = "x"
		return sa
	}
	cases := map[string]struct {
		live client.Object
		want bool
	}{
		"as applied, with server-set metadata": {live: serverSide(desired()), want: true},
		"a field Silo sets was changed": {live: func() client.Object {
			sa := serverSide(desired())
			sa.AutomountServiceAccountToken = new(true)
			return sa
		}(), want: false},
		"a label Silo sets is missing": {live: func() client.Object {
			sa := serverSide(desired())
			delete(sa.Labels, "app.kubernetes.io/managed-by")
			return sa
		}(), want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := isApplied(desired(), tc.live); got != tc.want {
				t.Errorf("isApplied = %v, want %v", got, tc.want)
			}
		})
	}
}
