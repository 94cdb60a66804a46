package v1alpha1

// Condition types of a Tenant.
const (
	// ReadyCondition summarises the Tenant: True when every component serves.
	ReadyCondition = "Ready"
	// ProgressingCondition is True while the operator is still building or rolling the
	// environment towards the spec.
	ProgressingCondition = "Progressing"
	// DegradedCondition is True when something needs a person's attention.
	DegradedCondition = "Degraded"
)

// Condition reasons. Each says what state the Tenant is in; the message says what to do.
const (
	// ReadyReason: every component is ready.
	ReadyReason = "Ready"
	// ComponentsNotReadyReason: one or more components are not ready yet.
	ComponentsNotReadyReason = "ComponentsNotReady"
	// ReconcileSucceededReason: the last pass applied everything.
	ReconcileSucceededReason = "ReconcileSucceeded"
	// ProvisioningReason: children were created or changed in this pass.
	ProvisioningReason = "Provisioning"
	// SuspendedReason: spec.suspend is true.
	SuspendedReason = "Suspended"
	// DeletingReason: the Tenant is being deleted.
	DeletingReason = "Deleting"
	// ReconcileFailedReason: a pass failed; the message has the error.
	ReconcileFailedReason = "ReconcileFailed"
	// NamespaceConflictReason: the namespace exists and belongs to something else.
	NamespaceConflictReason = "NamespaceConflict"
	// NamespaceTerminatingReason: a previous namespace of the same name is still being deleted.
	NamespaceTerminatingReason = "NamespaceTerminating"
	// ExternalSecretMissingReason: an external component's Secret is missing or incomplete.
	ExternalSecretMissingReason = "ExternalSecretMissing"
	// ExternalSecretNotLabelledReason: an external component's Secret exists but is not
	// labelled silo.dev/tenant=<this Tenant>, so Silo does not use it.
	ExternalSecretNotLabelledReason = "ExternalSecretNotLabelled"
	// ChildConflictReason: an object Silo did not create sits at the name of a child
	// Silo manages; Silo leaves it alone and the message names it.
	ChildConflictReason = "ChildConflict"
	// RetryingReason: the last pass failed on an error the operator retries by itself
	// (a conflict, a timeout, an unavailable API server).
	RetryingReason = "Retrying"
	// AsExpectedReason: nothing needs attention.
	AsExpectedReason = "AsExpected"
	// ClassNotFoundReason: spec.class names no TenantClass (or its revision is gone);
	// nothing is changed until it exists.
	ClassNotFoundReason = "ClassNotFound"
	// IncompleteSpecReason: the effective spec (class template and Tenant together)
	// lacks something required, such as app.image; nothing is changed.
	IncompleteSpecReason = "IncompleteSpec"
	// InvalidSpecReason: the effective spec has something no child can carry (two
	// env entries of one name, a request above its limit); nothing is changed.
	InvalidSpecReason = "InvalidSpec"
	// MigrationRunningReason: the migration Job for a new app image is running; the
	// app moves when it succeeds.
	MigrationRunningReason = "MigrationRunning"
	// MigrationFailedReason: the migration Job for a new app image failed or timed
	// out; the app stays on its old image.
	MigrationFailedReason = "MigrationFailed"
	// DatabaseMajorUpgradeReason: the effective database version is a new major
	// version of PostgreSQL, which needs pg_upgrade; the database keeps its version.
	DatabaseMajorUpgradeReason = "DatabaseMajorUpgrade"
)

// Condition types and reasons of a TenantClass (besides Ready and Progressing).
const (
	// PausedCondition is True while the class's rollout moves no further Tenant.
	PausedCondition = "Paused"
	// ManualReason: spec.rollout.paused is true.
	ManualReason = "Manual"
	// TooManyFailuresReason: maxFailures Tenants failed the current revision.
	TooManyFailuresReason = "TooManyFailures"
	// RollingOutReason: Tenants are moving to the current revision.
	RollingOutReason = "RollingOut"
	// RolledOutReason: every Tenant that follows the class runs the current revision.
	RolledOutReason = "RolledOut"
	// TenantsNotReadyReason: some Tenants of the class are not Ready.
	TenantsNotReadyReason = "TenantsNotReady"
	// NotPausedReason: the rollout is not paused.
	NotPausedReason = "NotPaused"
)

// Labels and annotations Silo puts on what it manages.
const (
	// TenantLabel names the Tenant a namespace or child belongs to.
	TenantLabel = "silo.dev/tenant"
	// ManagedByLabel marks every object Silo manages; its value is ManagedByValue.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel.
	ManagedByValue = "silo"
	// ComponentLabel names the component a child belongs to.
	ComponentLabel = "silo.dev/component"
	// NodePoolLabel is the node label (and taint key) of a dedicated node pool.
	NodePoolLabel = "silo.dev/node-pool"
	// RetainedAnnotation marks a namespace kept after its Tenant was deleted with
	// deletionPolicy Retain; its value is the time of deletion (RFC 3339).
	RetainedAnnotation = "silo.dev/retained-at"
	// SpecHashAnnotation holds a hash of what Silo applied to a child, so an unchanged
	// child is not written again.
	SpecHashAnnotation = "silo.dev/spec-hash"
	// TenantFinalizer runs the deletion policy before a Tenant goes away.
	TenantFinalizer = "silo.dev/tenant"
	// CanaryLabel on a Tenant, with value "true", moves it to a new revision of its
	// class before the others.
	CanaryLabel = "silo.dev/canary"
	// ClassLabel on a ControllerRevision names the TenantClass it is a revision of.
	ClassLabel = "silo.dev/class"
	// TargetRevisionAnnotation on a Tenant is the revision of its class the class's
	// rollout asks it to run; the class controller writes it, the Tenant controller
	// reads it. Its value is the revision, then "@" and the time it was set (RFC 3339).
	TargetRevisionAnnotation = "silo.dev/target-revision"
)

// Reasons of what a real app needs.
const (
	// PullSecretUnavailableReason: an image pull Secret the Tenant names is missing
	// from the operator's namespace, not labelled for the Tenant, or not a registry
	// credential; it is not copied, and the message names it.
	PullSecretUnavailableReason = "PullSecretUnavailable"
	// NotAllowedByPlatformReason: the Tenant asks for something the platform's
	// settings do not allow (an annotation key, a ClusterIssuer, a volume kind); that
	// part is left out, and the message names it.
	NotAllowedByPlatformReason = "NotAllowedByPlatform"
)

// Reasons, annotations and labels of credential rotation and export.
const (
	// RotationRefusedReason: the silo.dev/rotate-credentials annotation names
	// something Silo cannot rotate (an unknown or external service, the queue); nothing
	// changes, and the message says what to write instead.
	RotationRefusedReason = "RotationRefused"
	// RotationFailedReason: a rotation Job failed; the credentials in use keep working,
	// and the message names the Job whose logs say why.
	RotationFailedReason = "RotationFailed"
	// ExportRefusedReason: the silo.dev/export annotation's id cannot name a claim,
	// the Tenant has neither a managed database nor file storage to export, or the
	// object storage the platform exports its region to is unusable (its Secret
	// missing or incomplete, or its bucket in another region). No Job runs.
	ExportRefusedReason = "ExportRefused"
	// ExportFailedReason: the export Job failed; the claim is kept, and the message
	// names the Job whose logs say why.
	ExportFailedReason = "ExportFailed"

	// RotateCredentialsAnnotation on a Tenant asks Silo to rotate the credentials of
	// managed services: a comma list of database and cache, optionally followed by
	// "@" and any text that makes the value new (database@2027-01). Silo acts once per
	// value: a value it has already handled does nothing.
	RotateCredentialsAnnotation = "silo.dev/rotate-credentials"
	// ExportAnnotation on a Tenant asks Silo for an export of its data under an id:
	// the claim export-<id> holds it, or, where the platform exports to object
	// storage, <prefix>/<tenant>/<id>/ in its bucket. One export per distinct id.
	ExportAnnotation = "silo.dev/export"
	// RotationRequestAnnotation on a rotation's staging Secret and Jobs is the
	// annotation value they belong to.
	RotationRequestAnnotation = "silo.dev/rotation-request"
	// ExportIDLabel on an export claim and Job is the export's id.
	ExportIDLabel = "silo.dev/export-id"
)
