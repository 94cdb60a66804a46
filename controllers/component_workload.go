package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// deployment returns a component's Deployment with spec.
func deployment(t *silov1.Tenant, name string, spec *appsv1ac.DeploymentSpecApplyConfiguration) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment(name, NamespaceFor(t)).
		WithLabels(componentLabels(t, name)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
}

// service returns the Service in front of a component's pods: one named TCP port that
// targets the container port of the same name; headless when it governs a
// StatefulSet.
func service(t *silov1.Tenant, name string, port namedPort, headless bool) *corev1ac.ServiceApplyConfiguration {
	spec := corev1ac.ServiceSpec()
	if headless {
		spec.WithClusterIP(corev1.ClusterIPNone)
	} else {
		spec.WithType(corev1.ServiceTypeClusterIP)
	}
	spec.WithSelector(selector(t, name).MatchLabels).
		WithPorts(corev1ac.ServicePort().
			WithName(port.name).
			WithProtocol(corev1.ProtocolTCP).
			WithPort(port.port).
			WithTargetPort(intstr.FromString(port.name)))
	return corev1ac.Service(name, NamespaceFor(t)).
		WithLabels(componentLabels(t, name)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
}
