package v1alpha1

// ServiceAccountSpec configures the tenant's workload ServiceAccount
// (tenant-workload), which the app and the workers run as.
type ServiceAccountSpec struct {
	// annotations are put on the workload ServiceAccount, typically a cloud workload
	// identity: eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account or
	// azure.workload.identity/client-id. Only keys on the platform's list
	// (--service-account-annotation-keys) are applied; another key makes the Tenant
	// Degraded, naming it.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 253 && self[k].size() <= 2048)",message="serviceAccount.annotations keys are at most 253 characters and values at most 2048"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PodMetadata are labels and annotations for the app's and the workers' pods.
type PodMetadata struct {
	// labels are added to the pods (Azure workload identity, for example, needs
	// azure.workload.identity/use: "true"). Only keys on the platform's list
	// (--pod-label-keys) are applied; another key makes the Tenant Degraded, naming it.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('silo.dev/') && k != 'app.kubernetes.io/managed-by')",message="podMetadata.labels cannot set silo.dev/ keys or app.kubernetes.io/managed-by: they are Silo's own selectors and markers"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 253 && self[k].size() <= 63)",message="podMetadata.labels keys are at most 253 characters and values at most 63"
	Labels map[string]string `json:"labels,omitempty"`
	// annotations are added to the pods. Only keys on the platform's list
	// (--pod-annotation-keys) are applied; another key makes the Tenant Degraded,
	// naming it.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('silo.dev/'))",message="podMetadata.annotations cannot set silo.dev/ keys: Silo uses them on the pods it manages"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 253 && self[k].size() <= 4096)",message="podMetadata.annotations keys are at most 253 characters and values at most 4096"
	Annotations map[string]string `json:"annotations,omitempty"`
}
