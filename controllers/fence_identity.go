package controllers

import (
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// buildWorkloadServiceAccount returns the ServiceAccount the app and the workers run
// as, with the Tenant's annotations that the platform allows (a cloud workload
// identity). Its token is not mounted: cloud identity webhooks project their own
// audience-bound token, and the pods need no Kubernetes API credentials.
func buildWorkloadServiceAccount(bc *buildContext) *corev1ac.ServiceAccountApplyConfiguration {
	t := bc.Tenant
	sa := corev1ac.ServiceAccount(WorkloadSAName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithAutomountServiceAccountToken(false)
	if spec := t.Spec.ServiceAccount; spec != nil {
		if ann := allowedEntries(spec.Annotations, bc.Config.Platform.ServiceAccountAnnotationKeys); len(ann) > 0 {
			sa.WithAnnotations(ann)
		}
	}
	return sa
}
