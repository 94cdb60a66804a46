package controllers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from the builders")

// TestRenderedObjectsMatchGolden pins every object Silo sends for a few Tenants, byte
// for byte, so a refactoring of the builders cannot change what reaches the API
// server unnoticed. After an intended change: go test ./controllers -run Golden -update.
func TestRenderedObjectsMatchGolden(t *testing.T) {
	versions := func(tn *silov1.Tenant) {
		tn.Spec.Queue = &silov1.QueueSpec{Version: "2.12.0-alpine", Storage: ptr.To(qty("5Gi")),
			Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: qty("1Gi")}}}
		tn.Spec.Cache = &silov1.CacheSpec{Version: "8.1", Resources: &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceMemory: qty("512Mi")}}}
		tn.Spec.Database = &silov1.DatabaseSpec{Version: "17.2-alpine", Storage: ptr.To(qty("50Gi")),
			Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: qty("500m")}}}
	}
	tenants := map[string]*silov1.Tenant{
		"minimal": testTenant(),
		"full":    fullTestTenant(),
		"full-versions-resources": func() *silov1.Tenant {
			tn := fullTestTenant()
			versions(tn)
			tn.Spec.Placement.Region = "eu-west-1"
			tn.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MinReplicas: ptr.To(int32(3)), MaxReplicas: 9}
			return tn
		}(),
		"full-suspended": func() *silov1.Tenant {
			tn := fullTestTenant()
			tn.Spec.Suspend = true
			return tn
		}(),
	}
	for name, tn := range tenants {
		t.Run(name, func(t *testing.T) {
			bc := testContext(tn)
			objs := []runtime.ApplyConfiguration{buildNamespace(tn, bc.Config)}
			objs = append(objs, buildIsolation(bc)...)
			objs = append(objs, buildWorkloads(bc)...)
			var got bytes.Buffer
			for _, o := range objs {
				raw, err := json.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				got.Write(raw)
				got.WriteByte('\n')
			}
			path := filepath.Join("testdata", "golden", name+".jsonl")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("rendered objects differ from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}
