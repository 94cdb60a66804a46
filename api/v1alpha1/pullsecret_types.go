package v1alpha1

// PullSecretReference names a registry credential Secret in the operator's namespace.
type PullSecretReference struct {
	// name is the Secret's name, in the operator's namespace and, once copied, in the
	// tenant namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self != 'connection-settings' && self != 'queue-config' && !self.endsWith('-credentials') && !self.endsWith('-credentials-next')",message="imagePullSecrets name connection-settings, queue-config or *-credentials (or *-credentials-next), which Silo uses for the tenant's settings, the queue's configuration, generated credentials and rotations: give the pull Secret another name"
	Name string `json:"name"`
}
