package v1alpha1

// MetricsSpec says where the app serves Prometheus metrics. With it, the app's
// pods are scraped through a PodMonitor (when the cluster serves the PodMonitor
// kind of the Prometheus Operator) and the platform's monitoring namespace may reach
// the port.
type MetricsSpec struct {
	// port is the container port of the metrics endpoint (default: the app's port).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// path is the HTTP path of the metrics (default /metrics).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path,omitempty"`
	// interval is how often to scrape, for example 30s (default: Prometheus's).
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m|h)$`
	Interval string `json:"interval,omitempty"`
}
