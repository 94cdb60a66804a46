package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildStorage(t *testing.T) {
	tn := testTenant()
	tn.Spec.Storage = &silov1.StorageSpec{Size: qty("20Gi")}
	objs := typed(t, buildStorage(testContext(tn)))
	if diff := cmp.Diff([]string{"PersistentVolumeClaim/storage"}, keys(objs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	pvc := objs["PersistentVolumeClaim/storage"].(*corev1.PersistentVolumeClaim)
	want := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("20Gi")}},
	}
	if diff := cmp.Diff(want, pvc.Spec); diff != "" {
		t.Errorf("claim (-want +got):\n%s", diff)
	}
	if got := string(settingsData(testContext(tn))["STORAGE_PATH"]); got != "/data" {
		t.Errorf("STORAGE_PATH = %q", got)
	}
}
