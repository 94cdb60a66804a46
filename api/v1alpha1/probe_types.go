package v1alpha1

import "k8s.io/apimachinery/pkg/util/intstr"

// Probe checks a container of the app or the workers: corev1.Probe without the host
// fields (a probe sent to another host would let the kubelet, which runs outside the
// tenant's network policies, reach past them) and with the port optional: the app's
// port by default.
// +kubebuilder:validation:XValidation:rule="[has(self.exec), has(self.httpGet), has(self.tcpSocket), has(self.grpc)].filter(x, x).size() == 1",message="a probe needs exactly one of exec, httpGet, tcpSocket or grpc"
type Probe struct {
	// exec runs a command in the container; exit status 0 is success.
	// +optional
	Exec *ExecProbe `json:"exec,omitempty"`
	// httpGet sends an HTTP GET to the container; a status from 200 to 399 is success.
	// +optional
	HTTPGet *HTTPGetProbe `json:"httpGet,omitempty"`
	// tcpSocket opens a TCP connection to the container.
	// +optional
	TCPSocket *TCPSocketProbe `json:"tcpSocket,omitempty"`
	// grpc calls the gRPC health checking protocol on the container.
	// +optional
	GRPC *GRPCProbe `json:"grpc,omitempty"`
	// initialDelaySeconds waits this long after the container starts before probing.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	// timeoutSeconds is how long one probe may take (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// periodSeconds is how often to probe (default 10).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
	// successThreshold is how many successes in a row count as success after a
	// failure (default 1; liveness and startup probes allow only 1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
	// failureThreshold is how many failures in a row count as failure (default 3).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
	// terminationGracePeriodSeconds overrides the pod's grace period when a failed
	// liveness or startup probe kills the container.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
}

// ExecProbe runs a command in the container.
type ExecProbe struct {
	// command is run directly, not in a shell.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=1024
	Command []string `json:"command"`
}

// HTTPGetProbe sends an HTTP GET to the container.
type HTTPGetProbe struct {
	// path is the request path (default "/").
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path,omitempty"`
	// port is the container port, by number or name (default: the app's port).
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 1 && self <= 65535) : (size(self) >= 1 && size(self) <= 15)",message="port must be a number from 1 to 65535 or a container port name (at most 15 characters)"
	Port *intstr.IntOrString `json:"port,omitempty"`
	// scheme is HTTP (the default) or HTTPS (the certificate is not verified).
	// +optional
	// +kubebuilder:validation:Enum=HTTP;HTTPS
	Scheme string `json:"scheme,omitempty"`
	// httpHeaders are extra request headers.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one request header of an HTTP probe.
type HTTPHeader struct {
	// name is the header name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// value is the header value.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value"`
}

// TCPSocketProbe opens a TCP connection to the container.
type TCPSocketProbe struct {
	// port is the container port, by number or name (default: the app's port).
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 1 && self <= 65535) : (size(self) >= 1 && size(self) <= 15)",message="port must be a number from 1 to 65535 or a container port name (at most 15 characters)"
	Port *intstr.IntOrString `json:"port,omitempty"`
}

// GRPCProbe calls the gRPC health checking protocol on the container.
type GRPCProbe struct {
	// port is the container port number (default: the app's port).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// service is the service name sent in the health check request.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Service *string `json:"service,omitempty"`
}

// Probes are the readiness, liveness and startup probes of the app or the workers,
// inlined in both. (Their successThreshold rules are on AppSpec and WorkersSpec: a
// rule on an inlined type would be lost.)
type Probes struct {
	// readinessProbe decides when a container receives traffic (app) or counts as
	// ready (workers). Default: a TCP connection to the app's port for the app, and
	// none that can fail for the workers.
	// +optional
	ReadinessProbe *Probe `json:"readinessProbe,omitempty"`
	// livenessProbe restarts a container that stops answering. Default: none.
	// +optional
	LivenessProbe *Probe `json:"livenessProbe,omitempty"`
	// startupProbe holds the other probes back until a slow-starting container is up.
	// Default: none.
	// +optional
	StartupProbe *Probe `json:"startupProbe,omitempty"`
}
