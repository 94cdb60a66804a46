package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// dataVolume names the volume claim template of the queue and the database; their
// claims are data-<name>-0.
const dataVolume = "data"

// singleStatefulSet returns a one-replica StatefulSet (zero while suspended) with a
// volume claim template of size in the Tenant's region. Its claims are kept when the
// StatefulSet is deleted or scaled down: they hold the tenant's data.
func singleStatefulSet(t *silov1.Tenant, cfg *Config, name string, size resource.Quantity,
	tmpl *corev1ac.PodTemplateSpecApplyConfiguration) *appsv1ac.StatefulSetApplyConfiguration {
	claim := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size.String())}))
	placeClaim(t, cfg, claim)
	return appsv1ac.StatefulSet(name, NamespaceFor(t)).
		WithLabels(componentLabels(t, name)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(appsv1ac.StatefulSetSpec().
			WithReplicas(workloadReplicas(t, nil, 1)).
			WithServiceName(name).
			WithSelector(selector(t, name)).
			WithTemplate(tmpl).
			WithPersistentVolumeClaimRetentionPolicy(appsv1ac.StatefulSetPersistentVolumeClaimRetentionPolicy().
				WithWhenDeleted(appsv1.RetainPersistentVolumeClaimRetentionPolicyType).
				WithWhenScaled(appsv1.RetainPersistentVolumeClaimRetentionPolicyType)).
			// No kind or namespace in the template: the API server stores neither.
			WithVolumeClaimTemplates((&corev1ac.PersistentVolumeClaimApplyConfiguration{}).
				WithName(dataVolume).
				WithLabels(componentLabels(t, name)).
				WithSpec(claim)))
}

// secretEnv returns an environment variable read from a key of a Secret.
func secretEnv(name, secret, key string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().
		WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(secret).WithKey(key)))
}

// credentialsSecretName names a component's generated credentials.
func credentialsSecretName(component string) string { return component + "-credentials" }

// credential returns one generated credential of a component, as the reconciler read
// it before building.
func credential(bc *buildContext, component, key string) string {
	return string(bc.Credentials[component][key])
}
