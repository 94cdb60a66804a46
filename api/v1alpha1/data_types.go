package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CredentialsStatus reports the rotations of the managed services' credentials.
type CredentialsStatus struct {
	// request is the last value of the silo.dev/rotate-credentials annotation that
	// Silo acted on; another value starts a new rotation.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Request string `json:"request,omitempty"`
	// rotations is the last rotation of each service.
	// +optional
	// +listType=map
	// +listMapKey=service
	// +kubebuilder:validation:MaxItems=3
	Rotations []CredentialRotation `json:"rotations,omitempty"`
}

// RotationPhase is the step a credential rotation is at.
// +kubebuilder:validation:Enum=Applying;RollingOut;Retiring;Succeeded;Failed
type RotationPhase string

const (
	// RotationApplying: a Job gives the running service the new password beside the
	// old one.
	RotationApplying RotationPhase = "Applying"
	// RotationRollingOut: the credentials Secret holds the new password; the app and
	// the workers roll to it.
	RotationRollingOut RotationPhase = "RollingOut"
	// RotationRetiring: everything runs on the new password; a Job takes the old one
	// away.
	RotationRetiring RotationPhase = "Retiring"
	// RotationSucceeded: only the new password works.
	RotationSucceeded RotationPhase = "Succeeded"
	// RotationFailed: a Job failed; the password in use keeps working.
	RotationFailed RotationPhase = "Failed"
)

// CredentialRotation is one rotation of a managed service's credentials.
type CredentialRotation struct {
	// service is the managed service: database or cache.
	// +required
	// +kubebuilder:validation:Enum=database;cache;queue
	Service string `json:"service"`
	// request is the annotation value that asked for the rotation: its id.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Request string `json:"request"`
	// phase is the step the rotation is at.
	// +required
	Phase RotationPhase `json:"phase"`
	// user is the login the new credentials use (the database alternates between
	// two roles, so the old one keeps working until the app has rolled).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	User string `json:"user,omitempty"`
	// startTime is when Silo started the rotation.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the rotation succeeded or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// message says what the rotation waits for, or why it failed.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// ExportPhase is the state of an export.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed
type ExportPhase string

const (
	// ExportRunning: the export Job runs.
	ExportRunning ExportPhase = "Running"
	// ExportSucceeded: the claim, or the object storage, holds the export.
	ExportSucceeded ExportPhase = "Succeeded"
	// ExportFailed: the export Job failed; its claim is kept.
	ExportFailed ExportPhase = "Failed"
)

// ExportStatus reports the Tenant's latest export.
type ExportStatus struct {
	// id is the value of the silo.dev/export annotation the export was made for.
	// +required
	// +kubebuilder:validation:MaxLength=56
	ID string `json:"id"`
	// phase is the state of the export.
	// +required
	Phase ExportPhase `json:"phase"`
	// claimName is the volume claim in the tenant namespace that holds the export
	// (an export to a claim; an export to object storage has none once it succeeded).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ClaimName string `json:"claimName,omitempty"`
	// objectStorage is where the export is uploaded, when the platform exports the
	// Tenant's region to object storage.
	// +optional
	ObjectStorage *ExportObjectStorage `json:"objectStorage,omitempty"`
	// startTime is when Silo started the export.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the export succeeded or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// message says why the export failed.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// ExportObjectStorage is where in object storage an export is.
type ExportObjectStorage struct {
	// secretName is the Secret in the operator's namespace that names the bucket.
	// +required
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
	// endpoint is the S3-compatible service's URL.
	// +required
	// +kubebuilder:validation:MaxLength=512
	Endpoint string `json:"endpoint"`
	// bucket is the bucket the export is in.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`
	// region is the bucket's region, when the Secret names one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region,omitempty"`
	// key is the prefix of the export's objects (<prefix>/<tenant>/<id>/): MANIFEST,
	// database.dump and files.tar under it. MANIFEST is uploaded last.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key"`
}
