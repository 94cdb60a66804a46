package controllers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestParseRegionStorageClasses(t *testing.T) {
	tests := map[string]struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		"empty":            {want: map[string]string{}},
		"pairs":            {in: []string{"eu-west-1=fast-eu", "us-east-1=gp3"}, want: map[string]string{"eu-west-1": "fast-eu", "us-east-1": "gp3"}},
		"missing class":    {in: []string{"eu-west-1="}, wantErr: true},
		"no equals sign":   {in: []string{"eu-west-1"}, wantErr: true},
		"conflicting pair": {in: []string{"eu=a", "eu=b"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRegionStorageClasses(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseResourceList(t *testing.T) {
	base := DefaultConfig().DefaultQuota
	got, err := ParseResourceList([]string{"cpu=16", "requests.storage=1Ti"}, base)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cpu().String() != "16" || got.Name("requests.storage", "").String() != "1Ti" || !got.Memory().Equal(base[corev1.ResourceMemory]) {
		t.Errorf("parsed %v", got)
	}
	if base.Cpu().String() != "4" {
		t.Error("the base list was changed")
	}
	for _, bad := range []string{"cpu", "cpu=-1", "cpu=lots", "gpus=1"} {
		if _, err := ParseResourceList([]string{bad}, base); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestPostgresMajor(t *testing.T) {
	for image, want := range map[string]string{
		"docker.io/library/postgres:17.5-alpine":            "17",
		"registry.local:5000/postgres:16":                   "16",
		"docker.io/library/postgres:16.4@sha256:0123abcdef": "16",
		"registry.local:5000/postgres":                      "",
		"postgres:latest":                                   "",
	} {
		if got := postgresMajor(image); got != want {
			t.Errorf("postgresMajor(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := map[string][]string{
		"":                           nil,
		" , ,":                       nil,
		"cert-manager.io/":           {"cert-manager.io/"},
		"a, b ,,c":                   {"a", "b", "c"},
		"nvidia.com/gpu,amd.com/gpu": {"nvidia.com/gpu", "amd.com/gpu"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, SplitList(in)); diff != "" {
			t.Errorf("SplitList(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestGuardrailsValidate(t *testing.T) {
	tests := map[string]struct {
		guard   Guardrails
		wantErr string
	}{
		"the defaults":   {guard: DefaultConfig().Guardrails},
		"nothing at all": {},
		"a full set of lists": {guard: Guardrails{
			PriorityClasses: []string{"tenant-high"}, DefaultPriorityClass: "tenant-default",
			Tolerations:        []string{"example.com/spot", "batch.example.com/"},
			ExtendedResources:  []string{"nvidia.com/gpu", "example.com/fpga"},
			IngressAnnotations: []string{"cert-manager.io/", "nginx.ingress.kubernetes.io/proxy-body-size"},
		}},
		"a priority class that cannot exist": {
			guard: Guardrails{PriorityClasses: []string{"Tenant_High"}}, wantErr: `priority class "Tenant_High" is not a PriorityClass name`,
		},
		"a bad default priority class": {
			guard: Guardrails{DefaultPriorityClass: "-x"}, wantErr: `priority class "-x"`,
		},
		"Silo's own pool taint for every tenant": {
			guard: Guardrails{Tolerations: []string{"silo.dev/node-pool"}}, wantErr: "silo.dev/ taints are Silo's own",
		},
		"Silo's taints by prefix": {
			guard: Guardrails{Tolerations: []string{"silo.dev/"}}, wantErr: "silo.dev/ taints are Silo's own",
		},
		"a toleration that is no key": {
			guard: Guardrails{Tolerations: []string{"a b"}}, wantErr: `toleration "a b": want a key such as example.com/name`,
		},
		"an extended resource without domain": {
			guard: Guardrails{ExtendedResources: []string{"gpu"}}, wantErr: `extended resource "gpu": want <domain>/<name>`,
		},
		"a Kubernetes resource as extended": {
			guard: Guardrails{ExtendedResources: []string{"kubernetes.io/cpu"}}, wantErr: "kubernetes.io resources are Kubernetes' own",
		},
		"a snippet annotation": {
			guard:   Guardrails{IngressAnnotations: []string{"nginx.ingress.kubernetes.io/configuration-snippet"}},
			wantErr: "is never allowed",
		},
		"server-alias": {
			guard:   Guardrails{IngressAnnotations: []string{"nginx.ingress.kubernetes.io/server-alias"}},
			wantErr: "is never allowed",
		},
		"a bad annotation prefix": {
			guard: Guardrails{IngressAnnotations: []string{"Not A Domain/"}}, wantErr: "a prefix must be a DNS domain",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.guard.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
