package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

func secret(name string, uid types.UID, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: name, UID: uid},
		Data:       map[string][]byte{"password": []byte(password)},
	}
}

// TestGuardSeesEveryLoss proves that the guard reports a credential whose data
// changed, a credential or claim recreated under a new uid, and a deletion, and stays
// silent for versions that keep the data.
func TestGuardSeesEveryLoss(t *testing.T) {
	tests := map[string]struct {
		events []func(g *guard)
		want   string // a violation containing this, or "" for none
	}{
		"the same credentials seen again": {events: []func(*guard){
			func(g *guard) { g.see(secret("database-credentials", "1", "s3cret")) },
			func(g *guard) { g.see(secret("database-credentials", "1", "s3cret")) },
		}},
		"regenerated credentials": {events: []func(*guard){
			func(g *guard) { g.see(secret("database-credentials", "1", "s3cret")) },
			func(g *guard) { g.see(secret("database-credentials", "1", "other")) },
		}, want: "changed its data"},
		"recreated credentials": {events: []func(*guard){
			func(g *guard) { g.see(secret("database-credentials", "1", "s3cret")) },
			func(g *guard) { g.see(secret("database-credentials", "2", "s3cret")) },
		}, want: "was recreated"},
		"another Secret changing is not a credential": {events: []func(*guard){
			func(g *guard) { g.see(secret("connection-settings", "1", "a")) },
			func(g *guard) { g.see(secret("connection-settings", "1", "b")) },
			func(g *guard) { g.deleted(secret("connection-settings", "1", "b")) },
		}},
		"a deleted claim, seen late": {events: []func(*guard){
			func(g *guard) {
				g.see(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "storage", UID: "1"}})
			},
			func(g *guard) {
				g.deleted(toolscache.DeletedFinalStateUnknown{Key: "tenant-a/storage",
					Obj: &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "storage", UID: "1"}}})
			},
		}, want: "tenant-a/storage was deleted"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &guard{secrets: map[string]seen{}, claims: map[string]seen{}}
			for _, e := range tc.events {
				e(g)
			}
			_, _, violations := g.counts()
			got := strings.Join(violations, "; ")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("violations %q, want one containing %q", got, tc.want)
			}
		})
	}
}
