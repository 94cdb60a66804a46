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
	// AsExpectedReason: nothing needs attention.
	AsExpectedReason = "AsExpected"
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
