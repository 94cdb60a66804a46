package controllers

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// zoneLabel is the well-known node label of a node's zone.
const zoneLabel = corev1.LabelTopologyZone

// podTemplateHashLabel tells a Deployment's revisions apart: spreading counts only
// the pods of the same revision, so a rollout does not skew it.
const podTemplateHashLabel = "pod-template-hash"

// withContainerExtras adds the Tenant's envFrom sources (after the connection
// settings, so the Tenant's keys win) and the mounts of its extra volumes of the
// kinds the platform allows to a customer container.
func withContainerExtras(c *corev1ac.ContainerApplyConfiguration, x *silov1.PodExtras, p *Platform) *corev1ac.ContainerApplyConfiguration {
	for _, e := range x.EnvFrom {
		src := corev1ac.EnvFromSource()
		if e.Prefix != "" {
			src.WithPrefix(e.Prefix)
		}
		switch {
		case e.SecretRef != nil:
			ref := corev1ac.SecretEnvSource().WithName(e.SecretRef.Name)
			if e.SecretRef.Optional != nil {
				ref.WithOptional(*e.SecretRef.Optional)
			}
			src.WithSecretRef(ref)
		case e.ConfigMapRef != nil:
			ref := corev1ac.ConfigMapEnvSource().WithName(e.ConfigMapRef.Name)
			if e.ConfigMapRef.Optional != nil {
				ref.WithOptional(*e.ConfigMapRef.Optional)
			}
			src.WithConfigMapRef(ref)
		}
		c.WithEnvFrom(src)
	}
	for _, v := range x.Volumes {
		if !slices.Contains(p.VolumeTypes, extraVolumeType(&v)) {
			continue
		}
		m := mount(v.Name, v.MountPath)
		if v.ReadOnly {
			m.WithReadOnly(true)
		}
		c.WithVolumeMounts(m)
	}
	return c
}

// withPodExtras adds the Tenant's extra volumes of the kinds the platform allows
// (another is left out, and the Tenant says so: NotAllowedByPlatform) and its
// termination grace period to a customer pod template.
func withPodExtras(tmpl *corev1ac.PodTemplateSpecApplyConfiguration, x *silov1.PodExtras, p *Platform) *corev1ac.PodTemplateSpecApplyConfiguration {
	for i := range x.Volumes {
		if slices.Contains(p.VolumeTypes, extraVolumeType(&x.Volumes[i])) {
			tmpl.Spec.WithVolumes(extraVolume(&x.Volumes[i]))
		}
	}
	if x.TerminationGracePeriodSeconds != nil {
		tmpl.Spec.WithTerminationGracePeriodSeconds(*x.TerminationGracePeriodSeconds)
	}
	return tmpl
}

// extraVolume converts an extra volume of the Tenant, sending only what it sets.
func extraVolume(v *silov1.ExtraVolume) *corev1ac.VolumeApplyConfiguration {
	out := corev1ac.Volume().WithName(v.Name)
	switch {
	case v.ConfigMap != nil:
		src := corev1ac.ConfigMapVolumeSource().WithName(v.ConfigMap.Name)
		for _, it := range v.ConfigMap.Items {
			src.WithItems(keyToPath(it))
		}
		if v.ConfigMap.DefaultMode != nil {
			src.WithDefaultMode(*v.ConfigMap.DefaultMode)
		}
		if v.ConfigMap.Optional != nil {
			src.WithOptional(*v.ConfigMap.Optional)
		}
		out.WithConfigMap(src)
	case v.Secret != nil:
		src := corev1ac.SecretVolumeSource().WithSecretName(v.Secret.SecretName)
		for _, it := range v.Secret.Items {
			src.WithItems(keyToPath(it))
		}
		if v.Secret.DefaultMode != nil {
			src.WithDefaultMode(*v.Secret.DefaultMode)
		}
		if v.Secret.Optional != nil {
			src.WithOptional(*v.Secret.Optional)
		}
		out.WithSecret(src)
	case v.EmptyDir != nil:
		src := corev1ac.EmptyDirVolumeSource()
		if v.EmptyDir.Medium != "" {
			src.WithMedium(v.EmptyDir.Medium)
		}
		if v.EmptyDir.SizeLimit != nil {
			src.WithSizeLimit(canonicalQuantity(*v.EmptyDir.SizeLimit))
		}
		out.WithEmptyDir(src)
	case v.PersistentVolumeClaim != nil:
		src := corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(v.PersistentVolumeClaim.ClaimName)
		if v.PersistentVolumeClaim.ReadOnly {
			src.WithReadOnly(true)
		}
		out.WithPersistentVolumeClaim(src)
	}
	return out
}

// canonicalQuantity is a quantity in the canonical form the API server stores.
func canonicalQuantity(q resource.Quantity) resource.Quantity { return resource.MustParse(q.String()) }

// keyToPath converts one item of a ConfigMap or Secret volume.
func keyToPath(it corev1.KeyToPath) *corev1ac.KeyToPathApplyConfiguration {
	out := corev1ac.KeyToPath().WithKey(it.Key).WithPath(it.Path)
	if it.Mode != nil {
		out.WithMode(*it.Mode)
	}
	return out
}

// extraVolumeType is the kind of an extra volume, as the platform's list names it.
func extraVolumeType(v *silov1.ExtraVolume) string {
	switch {
	case v.ConfigMap != nil:
		return "configMap"
	case v.Secret != nil:
		return "secret"
	case v.EmptyDir != nil:
		return "emptyDir"
	}
	return "persistentVolumeClaim"
}

// withZoneSpread spreads the app's replicas across zones when the Tenant asks.
func withZoneSpread(t *silov1.Tenant, tmpl *corev1ac.PodTemplateSpecApplyConfiguration) *corev1ac.PodTemplateSpecApplyConfiguration {
	mode := t.Spec.App.SpreadAcrossZones
	if mode == "" {
		return tmpl
	}
	tmpl.Spec.WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().
		WithMaxSkew(1).
		WithTopologyKey(zoneLabel).
		WithWhenUnsatisfiable(corev1.UnsatisfiableConstraintAction(mode)).
		WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(selector(t, AppName).MatchLabels)).
		WithMatchLabelKeys(podTemplateHashLabel))
	return tmpl
}
