package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The metrics endpoint authenticates every scrape with a TokenReview and authorizes
// it with a SubjectAccessReview (GET on the non-resource URL /metrics), so its
// ServiceAccount needs these two; a scraper needs the chart's metrics-reader
// ClusterRole.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// MetricsOptions returns how the operator serves Prometheus metrics on bindAddress
// ("0" turns them off). Secure (the default) serves HTTPS (a self-signed certificate
// unless certDir holds tls.crt and tls.key) and lets only callers that the API
// server authenticates and authorizes for GET /metrics read them, as kube-apiserver
// and the other control-plane components do: metrics name every tenant and reveal
// its activity. Insecure serves plain HTTP to anyone who reaches the port, for a
// process on a developer's machine.
func MetricsOptions(bindAddress string, secure bool, certDir string) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: bindAddress}
	if secure {
		opts.SecureServing = true
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
		opts.CertDir = certDir
	}
	return opts
}
