package controllers

import (
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
