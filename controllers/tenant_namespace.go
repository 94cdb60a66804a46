package controllers

import (
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Pod Security admission labels.
const (
	podSecurityEnforce = "pod-security.kubernetes.io/enforce"
	podSecurityAudit   = "pod-security.kubernetes.io/audit"
	podSecurityWarn    = "pod-security.kubernetes.io/warn"
)

// podSecurityLevel returns the Tenant's Pod Security level, restricted by default.
func podSecurityLevel(t *silov1.Tenant) string {
	if t.Spec.Isolation.PodSecurity == "" {
		return string(silov1.PodSecurityRestricted)
	}
	return string(t.Spec.Isolation.PodSecurity)
}

// buildNamespace returns the tenant namespace: labelled with its Tenant and the Pod
// Security level that admission enforces on every pod in it.
func buildNamespace(t *silov1.Tenant) *corev1ac.NamespaceApplyConfiguration {
	level := podSecurityLevel(t)
	labels := commonLabels(t)
	labels[podSecurityEnforce] = level
	labels[podSecurityAudit] = level
	labels[podSecurityWarn] = level
	return corev1ac.Namespace(NamespaceFor(t)).
		WithLabels(labels).
		WithOwnerReferences(ownerRef(t))
}
