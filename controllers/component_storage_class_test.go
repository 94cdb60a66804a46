package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestStorageClassAndAccessMode(t *testing.T) {
	tests := map[string]struct {
		region, mode      string
		fileClass         string
		regionFileClasses map[string]string
		wantClass         *string
		wantMode          corev1.PersistentVolumeAccessMode
	}{
		"no platform file class: the region's class, shared by every node": {
			region: "eu-west-1", wantClass: ptr.To("fast-eu"), wantMode: corev1.ReadWriteMany,
		},
		"no platform file class and no region: the cluster default": {
			wantMode: corev1.ReadWriteMany,
		},
		"the platform's file class, not the databases' block class": {
			region: "eu-west-1", fileClass: "efs", wantClass: ptr.To("efs"), wantMode: corev1.ReadWriteMany,
		},
		"the region's file class first": {
			region: "eu-west-1", fileClass: "efs", regionFileClasses: map[string]string{"eu-west-1": "efs-eu"},
			wantClass: ptr.To("efs-eu"), wantMode: corev1.ReadWriteMany,
		},
		"ReadWriteOnce when the Tenant chooses it": {
			mode: "ReadWriteOnce", wantMode: corev1.ReadWriteOnce,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Placement.Region = tc.region
			tn.Spec.Storage = &silov1.StorageSpec{Size: qty("20Gi"), AccessMode: tc.mode}
			bc := testContext(tn)
			bc.Config.Platform.FileStorageClass = tc.fileClass
			bc.Config.Platform.RegionFileStorageClasses = tc.regionFileClasses
			pvc := typed(t, buildStorage(bc))["PersistentVolumeClaim/storage"].(*corev1.PersistentVolumeClaim)
			if diff := cmp.Diff(tc.wantClass, pvc.Spec.StorageClassName); diff != "" {
				t.Errorf("class (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]corev1.PersistentVolumeAccessMode{tc.wantMode}, pvc.Spec.AccessModes); diff != "" {
				t.Errorf("access modes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimEventSummary(t *testing.T) {
	at := func(typ, name, reason, msg string, sec int) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: typ, Reason: reason, Message: msg,
			LastTimestamp: metav1.NewTime(time.Unix(int64(1000+sec), 0))}
	}
	tests := map[string]struct {
		events []corev1.Event
		want   string
	}{
		"no events": {},
		"the latest warning wins over a later normal event": {
			events: []corev1.Event{
				at(corev1.EventTypeWarning, "a", "ProvisioningFailed", `storageclass.storage.k8s.io "efs" not found`, 1),
				at(corev1.EventTypeNormal, "b", "WaitForFirstConsumer", "waiting for first consumer", 5),
				at(corev1.EventTypeWarning, "c", "ProvisioningFailed", "volume mode ReadWriteMany is not supported", 3),
			},
			want: "ProvisioningFailed: volume mode ReadWriteMany is not supported",
		},
		"only normal events: the latest": {
			events: []corev1.Event{
				at(corev1.EventTypeNormal, "a", "ExternalProvisioning", "waiting for a volume to be created", 1),
				at(corev1.EventTypeNormal, "b", "WaitForFirstConsumer", "waiting for first consumer to be created before binding", 2),
			},
			want: "WaitForFirstConsumer: waiting for first consumer to be created before binding",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := claimEventSummary(tc.events); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	bc := &buildContext{ClaimProblems: map[string]string{"storage": "FailedBinding: no persistent volumes available"}}
	if got, want := claimMessage(bc, "storage", corev1.ClaimPending), "volume claim storage is Pending (FailedBinding: no persistent volumes available)"; got != want {
		t.Errorf("claimMessage = %q, want %q", got, want)
	}
}
