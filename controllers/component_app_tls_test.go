package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestAppIngressTLS(t *testing.T) {
	tests := map[string]struct {
		ingress         silov1.IngressSpec
		issuers         []string
		wantAnnotations map[string]string
		wantTLS         []networkingv1.IngressTLS
	}{
		"no issuer, no Secret: no TLS": {
			ingress: silov1.IngressSpec{Host: "acme.example.com"},
		},
		"an issuer: cert-manager's annotation and TLS for the host in app-tls": {
			ingress:         silov1.IngressSpec{Host: "acme.example.com", Issuer: "letsencrypt"},
			wantAnnotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
			wantTLS:         []networkingv1.IngressTLS{{Hosts: []string{"acme.example.com"}, SecretName: "app-tls"}},
		},
		"an issuer on the platform's list, with the Tenant's Secret name": {
			ingress:         silov1.IngressSpec{Host: "acme.example.com", Issuer: "letsencrypt", TLSSecretName: "acme-tls"},
			issuers:         []string{"internal-ca", "letsencrypt"},
			wantAnnotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
			wantTLS:         []networkingv1.IngressTLS{{Hosts: []string{"acme.example.com"}, SecretName: "acme-tls"}},
		},
		"an issuer off the platform's list is left out": {
			ingress: silov1.IngressSpec{Host: "acme.example.com", Issuer: "internal-ca"},
			issuers: []string{"letsencrypt"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.App.Ingress = &tc.ingress
			bc := testContext(tn)
			bc.Config.Platform.ClusterIssuers = tc.issuers
			in := typed(t, buildApp(bc))["Ingress/app"].(*networkingv1.Ingress)
			if diff := cmp.Diff(tc.wantAnnotations, in.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTLS, in.Spec.TLS); diff != "" {
				t.Errorf("tls (-want +got):\n%s", diff)
			}
			refused := platformRefusals(tn, &bc.Config.Platform)
			if wantRefused := tc.ingress.Issuer != "" && tc.wantAnnotations == nil; wantRefused != (len(refused) == 1) {
				t.Errorf("refusals = %v", refused)
			}
		})
	}
}
