package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// PullSecretComponent is the silo.dev/component label of the copies of image pull
// Secrets in a tenant namespace. They are the one kind of Secret Silo removes: a
// credential the platform withdrew (unlabelled, deleted, no longer named) must not
// stay behind.
const PullSecretComponent = "pull-secret"

// buildPullSecrets returns the tenant namespace's copies of the image pull Secrets
// the reconciler could use (bc.PullSecrets), under their own names.
func buildPullSecrets(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	var out []runtime.ApplyConfiguration
	for _, ref := range t.Spec.ImagePullSecrets {
		data, ok := bc.PullSecrets[ref.Name]
		if !ok {
			continue
		}
		out = append(out, corev1ac.Secret(ref.Name, NamespaceFor(t)).
			WithLabels(componentLabels(t, PullSecretComponent)).
			WithOwnerReferences(ownerRef(t)).
			WithType(corev1.SecretTypeDockerConfigJson).
			WithData(map[string][]byte{corev1.DockerConfigJsonKey: data}))
	}
	return out
}

// withPullSecrets makes a pod pull its images with every pull Secret the Tenant
// names. A name whose copy is not there yet costs nothing but a kubelet warning.
func withPullSecrets(t *silov1.Tenant, spec *corev1ac.PodSpecApplyConfiguration) {
	for _, ref := range t.Spec.ImagePullSecrets {
		spec.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(ref.Name))
	}
}
