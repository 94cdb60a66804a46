package controllers

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildPullSecrets(t *testing.T) {
	tests := map[string]struct {
		names      []string
		usable     map[string][]byte
		wantCopies []string
	}{
		"none named: no copies, no pull Secrets on pods": {},
		"every usable Secret is copied, every named one is on every pod": {
			names:      []string{"acme-registry", "acme-mirror"},
			usable:     map[string][]byte{"acme-registry": []byte(`{"auths":{}}`)},
			wantCopies: []string{"Secret/acme-registry"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := fullTestTenant()
			for _, n := range tc.names {
				tn.Spec.ImagePullSecrets = append(tn.Spec.ImagePullSecrets, silov1.PullSecretReference{Name: n})
			}
			bc := testContext(tn)
			bc.PullSecrets = tc.usable
			objs := typed(t, buildWorkloads(bc))
			var copies []string
			for k, o := range objs {
				if o.GetLabels()[silov1.ComponentLabel] != PullSecretComponent {
					continue
				}
				copies = append(copies, k)
				s := o.(*corev1.Secret)
				if s.Type != corev1.SecretTypeDockerConfigJson || string(s.Data[corev1.DockerConfigJsonKey]) != string(tc.usable[s.Name]) {
					t.Errorf("%s: type %s, data %q", k, s.Type, s.Data)
				}
			}
			sort.Strings(copies)
			if diff := cmp.Diff(tc.wantCopies, copies); diff != "" {
				t.Errorf("copies (-want +got):\n%s", diff)
			}
			specs := podSpecs(objs)
			if len(specs) != 5 {
				t.Fatalf("want the pods of app, workers, queue, cache and database, got %v", keys(objs))
			}
			for k, p := range specs {
				var got []string
				for _, ref := range p.ImagePullSecrets {
					got = append(got, ref.Name)
				}
				if diff := cmp.Diff(tc.names, got); diff != "" {
					t.Errorf("%s pulls with (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func TestReadPullSecrets(t *testing.T) {
	secret := func(name, tenant string, typ corev1.SecretType) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "silo-system", Labels: map[string]string{silov1.TenantLabel: tenant}},
			Type:       typ,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`), "token": []byte("x")},
		}
	}
	tests := map[string]struct {
		source      *corev1.Secret
		wantUsable  bool
		wantBlocked string
	}{
		"labelled for the tenant, a registry credential: used": {
			source: secret("reg", "acme", corev1.SecretTypeDockerConfigJson), wantUsable: true,
		},
		"missing: Degraded, naming it": {
			wantBlocked: "the pull Secret silo-system/reg is missing",
		},
		"labelled for another tenant: never used": {
			source:      secret("reg", "globex", corev1.SecretTypeDockerConfigJson),
			wantBlocked: "the pull Secret silo-system/reg is not labelled silo.dev/tenant=acme",
		},
		"not labelled: never used": {
			source:      secret("reg", "", corev1.SecretTypeDockerConfigJson),
			wantBlocked: "is not labelled silo.dev/tenant=acme",
		},
		"not a registry credential": {
			source:      secret("reg", "acme", corev1.SecretTypeOpaque),
			wantBlocked: "is not of type kubernetes.io/dockerconfigjson",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: "reg"}}
			b := fake.NewClientBuilder().WithScheme(NewScheme())
			if tc.source != nil {
				b = b.WithObjects(tc.source)
			}
			r := &TenantReconciler{Client: b.Build(), Config: DefaultConfig()}
			bc := &buildContext{Tenant: tn, Config: &r.Config}
			obs := &observation{}
			if err := r.readPullSecrets(context.Background(), bc, obs); err != nil {
				t.Fatal(err)
			}
			_, usable := bc.PullSecrets["reg"]
			if usable != tc.wantUsable {
				t.Errorf("usable = %v, want %v", usable, tc.wantUsable)
			}
			switch {
			case tc.wantBlocked == "" && obs.blocked != nil:
				t.Errorf("blocked: %+v", obs.blocked)
			case tc.wantBlocked != "" && (obs.blocked == nil || obs.blocked.reason != silov1.PullSecretUnavailableReason ||
				!strings.Contains(obs.blocked.message, tc.wantBlocked)):
				t.Errorf("blocked = %+v, want reason %s and %q", obs.blocked, silov1.PullSecretUnavailableReason, tc.wantBlocked)
			}
		})
	}
}
