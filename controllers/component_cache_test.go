package controllers

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildCache(t *testing.T) {
	tests := map[string]struct {
		resources     *corev1.ResourceRequirements
		version       string
		wantLimit     string
		wantMaxmemory int64
		wantImage     string
	}{
		"no resources: the default 256Mi limit, maxmemory three quarters of it": {
			wantLimit:     "256Mi",
			wantMaxmemory: 256 << 20 / 100 * 75,
			wantImage:     "docker.io/valkey/valkey:8.1.3-alpine",
		},
		"a memory limit is honoured": {
			resources:     &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: qty("1Gi")}},
			version:       "8.0.2",
			wantLimit:     "1Gi",
			wantMaxmemory: 1 << 30 / 100 * 75,
			wantImage:     "docker.io/valkey/valkey:8.0.2",
		},
		"a request above the default and no limit: the limit is the request": {
			resources:     &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: qty("512Mi")}},
			wantLimit:     "512Mi",
			wantMaxmemory: 512 << 20 / 100 * 75,
			wantImage:     "docker.io/valkey/valkey:8.1.3-alpine",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Cache = &silov1.CacheSpec{Resources: tc.resources, Version: tc.version}
			before := tn.DeepCopy()
			objs := typed(t, buildCache(testContext(tn)))
			if diff := cmp.Diff([]string{"Deployment/cache", "Service/cache"}, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			d := objs["Deployment/cache"].(*appsv1.Deployment)
			c := d.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage {
				t.Errorf("image = %s, want %s", c.Image, tc.wantImage)
			}
			if got := c.Resources.Limits.Memory().String(); got != tc.wantLimit {
				t.Errorf("memory limit = %s, want %s", got, tc.wantLimit)
			}
			i := slices.Index(c.Args, "--maxmemory")
			if i < 0 || c.Args[i+1] != strconv.FormatInt(tc.wantMaxmemory, 10) {
				t.Errorf("args = %v, want --maxmemory %d", c.Args, tc.wantMaxmemory)
			}
			if diff := cmp.Diff(before, tn); diff != "" {
				t.Errorf("the builder changed the Tenant (-before +after):\n%s", diff)
			}
			checkRestricted(t, "cache", &d.Spec.Template.Spec, valkeyUID)
		})
	}
}

func TestCacheSettings(t *testing.T) {
	tn := testTenant()
	tn.Spec.Cache = &silov1.CacheSpec{}
	got := settingsData(testContext(tn))
	if want := "redis://default:cpass@cache.tenant-acme.svc:6379/0"; string(got["REDIS_URL"]) != want {
		t.Errorf("REDIS_URL = %s, want %s", got["REDIS_URL"], want)
	}
}
