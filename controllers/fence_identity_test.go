package controllers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestWorkloadIdentity(t *testing.T) {
	tests := map[string]struct {
		mutate          func(*silov1.Tenant)
		wantSA          map[string]string
		wantLabels      map[string]string
		wantAnnotations map[string]string
		wantRefused     []string
	}{
		"nothing asked: a workload ServiceAccount without annotations": {},
		"allowed keys reach the ServiceAccount and the pods": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.ServiceAccount = &silov1.ServiceAccountSpec{Annotations: map[string]string{
					"azure.workload.identity/client-id": "0000-1111", "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/acme"}}
				tn.Spec.PodMetadata = &silov1.PodMetadata{Labels: map[string]string{"azure.workload.identity/use": "true"}}
			},
			wantSA:     map[string]string{"azure.workload.identity/client-id": "0000-1111", "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/acme"},
			wantLabels: map[string]string{"azure.workload.identity/use": "true"},
		},
		"keys off the platform's lists are left out, and named": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.ServiceAccount = &silov1.ServiceAccountSpec{Annotations: map[string]string{
					"iam.gke.io/gcp-service-account": "acme@p.iam.gserviceaccount.com", "example.com/other-role": "x"}}
				tn.Spec.PodMetadata = &silov1.PodMetadata{
					Labels:      map[string]string{"team": "payments"},
					Annotations: map[string]string{"sidecar.istio.io/inject": "false"}}
			},
			wantSA: map[string]string{"iam.gke.io/gcp-service-account": "acme@p.iam.gserviceaccount.com"},
			wantRefused: []string{
				"serviceAccount.annotations key example.com/other-role is not on the platform's list (azure.workload.identity/client-id, azure.workload.identity/tenant-id, eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account)",
				"podMetadata.labels key team is not on the platform's list (azure.workload.identity/use)",
				"podMetadata.annotations key sidecar.istio.io/inject is not on the platform's list (none)",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := fullTestTenant()
			if tc.mutate != nil {
				tc.mutate(tn)
			}
			bc := testContext(tn)
			objs := typed(t, append([]runtime.ApplyConfiguration{buildWorkloadServiceAccount(bc)}, buildWorkloads(bc)...))
			sa := objs["ServiceAccount/"+WorkloadSAName].(*corev1.ServiceAccount)
			if diff := cmp.Diff(tc.wantSA, sa.Annotations); diff != "" {
				t.Errorf("ServiceAccount annotations (-want +got):\n%s", diff)
			}
			if !ptr.Equal(sa.AutomountServiceAccountToken, ptr.To(false)) {
				t.Error("the workload ServiceAccount mounts its token")
			}
			for k, p := range podSpecs(objs) {
				want := ""
				if k == "Deployment/app" || k == "Deployment/workers" {
					want = WorkloadSAName
				}
				if p.ServiceAccountName != want {
					t.Errorf("%s runs as %q, want %q", k, p.ServiceAccountName, want)
				}
			}
			for _, k := range []string{"Deployment/app", "Deployment/workers"} {
				tmpl := objs[k].(*appsv1.Deployment).Spec.Template
				for lk, v := range tc.wantLabels {
					if tmpl.Labels[lk] != v {
						t.Errorf("%s pod label %s = %q, want %q", k, lk, tmpl.Labels[lk], v)
					}
				}
				if tmpl.Labels["team"] != "" || tmpl.Annotations["sidecar.istio.io/inject"] != "" {
					t.Errorf("%s carries a key the platform did not allow: %v %v", k, tmpl.Labels, tmpl.Annotations)
				}
				if tmpl.Labels[silov1.ComponentLabel] == "" {
					t.Errorf("%s lost its selector labels", k)
				}
			}
			if diff := cmp.Diff(tc.wantRefused, platformRefusals(tn, &bc.Config.Platform)); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlatformListsOnNamespace(t *testing.T) {
	cfg := DefaultConfig()
	ns := roundTrip[corev1.Namespace](t, buildNamespace(testTenant(), &cfg))
	want := "azure.workload.identity/client-id,azure.workload.identity/tenant-id,eks.amazonaws.com/role-arn,iam.gke.io/gcp-service-account"
	if got := ns.Annotations[silov1.ServiceAccountKeysAnnotation]; got != want {
		t.Errorf("%s = %q, want %q", silov1.ServiceAccountKeysAnnotation, got, want)
	}
}

func TestPlatformValidate(t *testing.T) {
	good := defaultPlatform()
	if err := good.Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	tests := map[string]struct {
		mutate func(*Platform)
		want   string
	}{
		"a Silo key given to tenants":   {func(p *Platform) { p.PodLabelKeys = []string{"silo.dev/component"} }, "are Silo's and Kubernetes' own"},
		"a Kubernetes prefix":           {func(p *Platform) { p.PodAnnotationKeys = []string{"pod-security.kubernetes.io/"} }, "are Silo's and Kubernetes' own"},
		"a malformed key":               {func(p *Platform) { p.ServiceAccountAnnotationKeys = []string{"not a key"} }, "want a key such as example.com/name"},
		"a network file system allowed": {func(p *Platform) { p.VolumeTypes = []string{"nfs"} }, `volume type "nfs" cannot be allowed`},
		"no secret volumes": {func(p *Platform) { p.VolumeTypes = []string{"emptyDir", "persistentVolumeClaim"} },
			"must include secret: the queue's configuration is a secret volume"},
		"HTTPRoute without a Gateway": {func(p *Platform) { p.Routing = RoutingHTTPRoute }, "routing HTTPRoute needs the platform's Gateway"},
		"an unknown routing":          {func(p *Platform) { p.Routing = "Mesh" }, `routing "Mesh": want Ingress or HTTPRoute`},
		"a DNS cache that is no IP":   {func(p *Platform) { p.DNSCacheIP = "dns.local" }, "is not an IP address"},
		"an issuer that is no name":   {func(p *Platform) { p.ClusterIssuers = []string{"Lets Encrypt"} }, "is not a ClusterIssuer name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := defaultPlatform()
			tc.mutate(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
