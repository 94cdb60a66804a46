package controllers

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// User ids the pods run as. The restricted Pod Security Standard wants a non-root
// user; a numeric id lets the kubelet check it without reading the image.
const (
	// appUID runs the customer's app and workers.
	appUID int64 = 10001
	// natsUID runs NATS (its image has no user of its own).
	natsUID int64 = 1000
	// valkeyUID is the valkey user of the Valkey image.
	valkeyUID int64 = 999
	// postgresUID is the postgres user of the Alpine PostgreSQL image.
	postgresUID int64 = 70
)

// podSpec describes one component's pods; podTemplate turns it into a template that
// passes the restricted Pod Security Standard.
type podSpec struct {
	component string
	uid       int64
	// serviceAccount is the pods' ServiceAccount (the namespace's default when empty).
	serviceAccount string
	// labels are more labels of the pods; the component's own win.
	labels      map[string]string
	annotations map[string]string
	containers  []*corev1ac.ContainerApplyConfiguration
	volumes     []*corev1ac.VolumeApplyConfiguration
}

// podTemplate returns a component's pod template: labelled for its selector, run as
// a non-root user with the runtime's default seccomp profile, without a service
// account token, in the platform's priority class for managed workloads, and placed
// where the Tenant says.
//
// Its labels are the selector's only, never app.kubernetes.io/managed-by: that label
// means "only the operator may change this", and pods (and ReplicaSets, which copy
// the template's labels) are the workload controllers', which a tenant admin may
// legitimately act on (deleting a pod restarts it).
func podTemplate(t *silov1.Tenant, cfg *Config, p podSpec) *corev1ac.PodTemplateSpecApplyConfiguration {
	meta := corev1ac.PodTemplateSpec().WithLabels(p.labels).WithLabels(selectorLabels(t, p.component))
	if len(p.annotations) > 0 {
		meta.WithAnnotations(p.annotations)
	}
	spec := corev1ac.PodSpec().
		WithAutomountServiceAccountToken(false).
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(p.uid).
			WithRunAsGroup(p.uid).
			WithFSGroup(p.uid).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(p.containers...)
	if len(p.volumes) > 0 {
		spec.WithVolumes(p.volumes...)
	}
	if p.serviceAccount != "" {
		spec.WithServiceAccountName(p.serviceAccount)
	}
	withPullSecrets(t, spec)
	if class := cfg.Guardrails.DefaultPriorityClass; class != "" {
		spec.WithPriorityClassName(class)
	}
	placePod(t, spec)
	return meta.WithSpec(spec)
}

// restrictedContainer returns a container that may not gain privileges, holds no
// capabilities, and cannot write to its image (writable paths are emptyDir volumes).
func restrictedContainer(name, image string) *corev1ac.ContainerApplyConfiguration {
	return corev1ac.Container().
		WithName(name).
		WithImage(image).
		WithSecurityContext(corev1ac.SecurityContext().
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithRunAsNonRoot(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")))
}

// emptyDir returns a scratch volume, for the paths a read-only image must write to.
func emptyDir(name string) *corev1ac.VolumeApplyConfiguration {
	return corev1ac.Volume().WithName(name).WithEmptyDir(corev1ac.EmptyDirVolumeSource())
}

// mount returns a volume mount.
func mount(name, path string) *corev1ac.VolumeMountApplyConfiguration {
	return corev1ac.VolumeMount().WithName(name).WithMountPath(path)
}

// tcpPort returns a named TCP container port.
func tcpPort(name string, port int32) *corev1ac.ContainerPortApplyConfiguration {
	return corev1ac.ContainerPort().WithName(name).WithContainerPort(port).WithProtocol(corev1.ProtocolTCP)
}

// resources turns requirements from the Tenant into an apply configuration, or nil
// when none are set (then the namespace's LimitRange defaults apply).
func resources(r *corev1.ResourceRequirements) *corev1ac.ResourceRequirementsApplyConfiguration {
	if r == nil || (len(r.Limits) == 0 && len(r.Requests) == 0) {
		return nil
	}
	out := corev1ac.ResourceRequirements()
	if len(r.Limits) > 0 {
		out.WithLimits(canonical(r.Limits))
	}
	if len(r.Requests) > 0 {
		out.WithRequests(canonical(r.Requests))
	}
	return out
}

// canonical copies a resource list with every quantity in the canonical form the API
// server stores, so the live object compares equal to what Silo sends.
func canonical(l corev1.ResourceList) corev1.ResourceList {
	out := make(corev1.ResourceList, len(l))
	for name, q := range l {
		out[name] = resource.MustParse(q.String())
	}
	return out
}

// withTag returns image with its tag (and any digest) replaced by version, or image
// itself when version is empty.
func withTag(image, version string) string {
	if version == "" {
		return image
	}
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		image = image[:colon]
	}
	return image + ":" + version
}

// selector is the label selector of a component's pods: stable, since a workload's
// selector cannot change.
func selector(t *silov1.Tenant, component string) *metav1ac.LabelSelectorApplyConfiguration {
	return metav1ac.LabelSelector().WithMatchLabels(selectorLabels(t, component))
}

// selectorLabels are the labels of a component's pods that its selector matches.
func selectorLabels(t *silov1.Tenant, component string) map[string]string {
	return map[string]string{
		silov1.TenantLabel:    t.Name,
		silov1.ComponentLabel: component,
	}
}

// workloadReplicas is the replica count of a component's workload: zero while the
// Tenant is suspended.
func workloadReplicas(t *silov1.Tenant, want *int32, def int32) int32 {
	if t.Spec.Suspend {
		return 0
	}
	if want != nil {
		return *want
	}
	return def
}
