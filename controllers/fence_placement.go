package controllers

import (
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// regionLabel is the well-known node label of a node's region.
const regionLabel = corev1.LabelTopologyRegion

// placePod pins a pod spec where the Tenant says its pods run: its dedicated node
// pool (nodeSelector plus a toleration of the pool's taint), its sandboxed runtime,
// and its region (a required node affinity, so data residency does not depend on
// the scheduler's preferences).
func placePod(t *silov1.Tenant, spec *corev1ac.PodSpecApplyConfiguration) {
	iso := t.Spec.Isolation
	if iso.NodePool != "" {
		spec.WithNodeSelector(map[string]string{silov1.NodePoolLabel: iso.NodePool}).
			WithTolerations(corev1ac.Toleration().
				WithKey(silov1.NodePoolLabel).
				WithOperator(corev1.TolerationOpEqual).
				WithValue(iso.NodePool).
				WithEffect(corev1.TaintEffectNoSchedule))
	}
	if iso.RuntimeClassName != "" {
		spec.WithRuntimeClassName(iso.RuntimeClassName)
	}
	if region := t.Spec.Placement.Region; region != "" {
		spec.WithAffinity(corev1ac.Affinity().WithNodeAffinity(corev1ac.NodeAffinity().
			WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.NodeSelector().
				WithNodeSelectorTerms(corev1ac.NodeSelectorTerm().
					WithMatchExpressions(corev1ac.NodeSelectorRequirement().
						WithKey(regionLabel).
						WithOperator(corev1.NodeSelectorOpIn).
						WithValues(region))))))
	}
}

// placeClaim gives a volume claim its region's StorageClass, so the volume is
// provisioned in the Tenant's region. Without a region (or a class configured for
// it) the cluster's default class applies.
func placeClaim(t *silov1.Tenant, cfg *Config, spec *corev1ac.PersistentVolumeClaimSpecApplyConfiguration) {
	if class := cfg.StorageClassFor(t.Spec.Placement.Region); class != "" {
		spec.WithStorageClassName(class)
	}
}
