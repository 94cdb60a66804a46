package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// StorageName names the file storage volume claim.
const StorageName = "storage"

// StoragePath is where the file storage is mounted in the app and the workers.
const StoragePath = "/data"

func componentStorage() component {
	return component{
		name:    StorageName,
		enabled: func(t *silov1.Tenant) bool { return t.Spec.Storage != nil },
		build:   buildStorage,
		settings: func(*buildContext) map[string]string {
			return map[string]string{"STORAGE_PATH": StoragePath}
		},
		observe: observeClaim(StorageName),
	}
}

// buildStorage returns the file storage volume claim. The app's replicas and the
// workers share it, possibly on different nodes, so it asks for ReadWriteMany unless
// the Tenant chooses ReadWriteOnce; its class is the platform's file storage class
// (of the Tenant's region), which can serve that, not the databases' block class.
func buildStorage(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	mode := corev1.ReadWriteMany
	if m := t.Spec.Storage.AccessMode; m != "" {
		mode = corev1.PersistentVolumeAccessMode(m)
	}
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(mode).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(t.Spec.Storage.Size.String())}))
	if class := bc.Config.Platform.FileStorageClassFor(t.Spec.Placement.Region); class != "" {
		spec.WithStorageClassName(class)
	} else {
		placeClaim(t, bc.Config, spec)
	}
	return []runtime.ApplyConfiguration{
		corev1ac.PersistentVolumeClaim(StorageName, NamespaceFor(t)).
			WithLabels(componentLabels(t, StorageName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(spec),
	}
}
