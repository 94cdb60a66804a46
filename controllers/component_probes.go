package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// withProbes gives a customer container (the app or the workers) the Tenant's
// probes. A probe without a port checks port, the app's port; an unset readiness
// probe is defaultReadiness.
func withProbes(c *corev1ac.ContainerApplyConfiguration, p *silov1.Probes, port int32,
	defaultReadiness *corev1ac.ProbeApplyConfiguration) *corev1ac.ContainerApplyConfiguration {
	if p.ReadinessProbe != nil {
		c.WithReadinessProbe(probe(p.ReadinessProbe, port))
	} else {
		c.WithReadinessProbe(defaultReadiness)
	}
	if p.LivenessProbe != nil {
		c.WithLivenessProbe(probe(p.LivenessProbe, port))
	}
	if p.StartupProbe != nil {
		c.WithStartupProbe(probe(p.StartupProbe, port))
	}
	return c
}

// probe converts a probe of the Tenant, its port defaulting to port. Only the fields
// the Tenant sets are sent; the API server defaults the others.
func probe(p *silov1.Probe, port int32) *corev1ac.ProbeApplyConfiguration {
	out := corev1ac.Probe()
	portOr := func(v *intstr.IntOrString) intstr.IntOrString {
		if v != nil {
			return *v
		}
		return intstr.FromInt32(port)
	}
	switch {
	case p.Exec != nil:
		out.WithExec(corev1ac.ExecAction().WithCommand(p.Exec.Command...))
	case p.HTTPGet != nil:
		h := corev1ac.HTTPGetAction().WithPort(portOr(p.HTTPGet.Port))
		if p.HTTPGet.Path != "" {
			h.WithPath(p.HTTPGet.Path)
		}
		if p.HTTPGet.Scheme != "" {
			h.WithScheme(corev1.URIScheme(p.HTTPGet.Scheme))
		}
		for _, hd := range p.HTTPGet.HTTPHeaders {
			h.WithHTTPHeaders(corev1ac.HTTPHeader().WithName(hd.Name).WithValue(hd.Value))
		}
		out.WithHTTPGet(h)
	case p.TCPSocket != nil:
		out.WithTCPSocket(corev1ac.TCPSocketAction().WithPort(portOr(p.TCPSocket.Port)))
	case p.GRPC != nil:
		g := corev1ac.GRPCAction().WithPort(port)
		if p.GRPC.Port != 0 {
			g.WithPort(p.GRPC.Port)
		}
		if p.GRPC.Service != nil {
			g.WithService(*p.GRPC.Service)
		}
		out.WithGRPC(g)
	}
	if p.InitialDelaySeconds != 0 {
		out.WithInitialDelaySeconds(p.InitialDelaySeconds)
	}
	if p.TimeoutSeconds != 0 {
		out.WithTimeoutSeconds(p.TimeoutSeconds)
	}
	if p.PeriodSeconds != 0 {
		out.WithPeriodSeconds(p.PeriodSeconds)
	}
	if p.SuccessThreshold != 0 {
		out.WithSuccessThreshold(p.SuccessThreshold)
	}
	if p.FailureThreshold != 0 {
		out.WithFailureThreshold(p.FailureThreshold)
	}
	if p.TerminationGracePeriodSeconds != nil {
		out.WithTerminationGracePeriodSeconds(*p.TerminationGracePeriodSeconds)
	}
	return out
}
