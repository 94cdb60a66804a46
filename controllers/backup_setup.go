package controllers

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// servesVolumeSnapshots reports whether the cluster serves the VolumeSnapshot kind.
// It is asked once, at start: a cluster that gets the snapshot CRDs later needs the
// operator restarted to take snapshots.
func servesVolumeSnapshots(restCfg *rest.Config) (bool, error) {
	return servesKind(restCfg, snapshotv1.SchemeGroupVersion.String(), "VolumeSnapshot")
}

// servesKind reports whether the cluster serves kind in groupVersion (an optional
// API, installed with its CRDs).
func servesKind(restCfg *rest.Config, groupVersion, kind string) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return false, fmt.Errorf("creating a discovery client: %w", err)
	}
	list, err := dc.ServerResourcesForGroupVersion(groupVersion)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", groupVersion, err)
	}
	for _, r := range list.APIResources {
		if r.Kind == kind {
			return true, nil
		}
	}
	return false, nil
}

// watchSnapshots wakes a Tenant when one of its snapshots changes (ready, failed,
// deleted). Snapshots carry no owner reference (those of a Retained Tenant outlive
// it), so they are mapped by their silo.dev/tenant label.
func (r *TenantReconciler) watchSnapshots(b *builder.Builder) *builder.Builder {
	if !r.Config.Platform.VolumeSnapshots {
		return b
	}
	return b.Watches(&snapshotv1.VolumeSnapshot{}, handler.EnqueueRequestsFromMapFunc(
		func(_ context.Context, obj client.Object) []reconcile.Request {
			name := obj.GetLabels()[silov1.TenantLabel]
			if name == "" || obj.GetNamespace() != NamespacePrefix+name {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: name}}}
		}))
}
