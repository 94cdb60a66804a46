package v1alpha1

// EgressRule allows the tenant's pods to reach an address range outside the
// cluster on some ports: a private database (RDS, Cloud SQL private IP) or another
// service on the platform's network. Only the platform sets it, in the Tenant.
// +kubebuilder:validation:XValidation:rule="isCIDR(self.cidr) && cidr(self.cidr) == cidr(self.cidr).masked()",message="network.egress cidr must be an address range with no host bits set, such as 10.20.0.0/16"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self.cidr) || cidr(self.cidr).prefixLength() >= 8",message="network.egress cidr must be a /8 or narrower: for the internet use network.allowInternetEgress, which keeps private ranges closed"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self.cidr) || !cidr(self.cidr).containsIP(ip('169.254.169.254'))",message="network.egress cidr must not contain 169.254.169.254: the cloud metadata service hands out the node's credentials"
type EgressRule struct {
	// cidr is the address range, for example 10.20.0.0/16.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=43
	CIDR string `json:"cidr"`
	// ports are the TCP ports allowed (every port when empty).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=65535
	Ports []int32 `json:"ports,omitempty"`
}
