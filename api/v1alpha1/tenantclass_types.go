package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TenantClass is a tier of Tenants: the defaults a Tenant of the class runs, and how a
// change to them rolls out across the class's Tenants.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tnc,categories=silo
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updated`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Paused",type=string,JSONPath=`.status.conditions[?(@.type=="Paused")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 200",message="metadata.name must be at most 200 characters: the class's revisions are named <class>-<revision>"
type TenantClass struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata. Tenants name the class by it.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the class's template and rollout settings.
	// +required
	Spec TenantClassSpec `json:"spec"`

	// status is the state of the class's rollout.
	// +optional
	Status TenantClassStatus `json:"status,omitempty"`
}

// TenantClassSpec is a class's template and how changes to it roll out.
type TenantClassSpec struct {
	// template has the shape of a Tenant's spec, every field optional: a Tenant of the
	// class runs this template with its own fields on top (objects merge field by
	// field, a list replaces the template's list whole). Fields that belong to one
	// customer (owners, placement, suspend, deletionProtection, deletionPolicy,
	// class, classUpdatePolicy) are refused here. Every change is a new revision.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.owners)",message="template.owners is not allowed: owners belong to one customer; set them on each Tenant"
	// +kubebuilder:validation:XValidation:rule="!has(self.placement)",message="template.placement is not allowed: a region belongs to one customer (data residency); set it on each Tenant"
	// +kubebuilder:validation:XValidation:rule="!has(self.suspend)",message="template.suspend is not allowed: suspend one Tenant at a time with its own spec.suspend"
	// +kubebuilder:validation:XValidation:rule="!has(self.deletionProtection)",message="template.deletionProtection is not allowed: set it on each Tenant"
	// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy)",message="template.deletionPolicy is not allowed: whether a customer's data is deleted with its Tenant is decided on each Tenant"
	// +kubebuilder:validation:XValidation:rule="(!has(self.database) || !has(self.database.restoreFrom)) && (!has(self.queue) || !has(self.queue.restoreFrom)) && (!has(self.storage) || !has(self.storage.restoreFrom))",message="template restoreFrom is not allowed: a snapshot holds one customer's data; set restoreFrom on the Tenant"
	// +kubebuilder:validation:XValidation:rule="!has(self.class) && !has(self.classUpdatePolicy)",message="template.class and template.classUpdatePolicy are not allowed: a class cannot name another class"
	Template TenantSpec `json:"template,omitempty,omitzero"`

	// rollout says how Tenants move to a new revision of the template.
	// +optional
	Rollout RolloutSpec `json:"rollout,omitempty,omitzero"`
}

// RolloutSpec says how the Tenants of a class move to a new revision.
type RolloutSpec struct {
	// maxUnavailable is how many Tenants of the class may be between revisions at
	// once: a number (at least 1) or a percentage of the class's Tenants ("10%",
	// rounded down, at least 1). Default 1.
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^([1-9][0-9]?|100)%$')",message="rollout.maxUnavailable must be a number of Tenants of at least 1, or a percentage from 1% to 100% such as \"10%\""
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// progressDeadlineSeconds is how long a Tenant may take to be Ready on a new
	// revision before it counts as failed (default 600, at least 5).
	// +optional
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=86400
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// minReadySeconds is how long a Tenant must stay Ready on the new revision before
	// it counts as done (a soak; default 0).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// maxFailures is how many Tenants may fail the new revision before the rollout
	// pauses itself (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxFailures *int32 `json:"maxFailures,omitempty"`

	// paused, when true, moves no further Tenant to a newer revision; Tenants already
	// moving finish. Set it back to false to resume.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// TenantClassStatus is the state of a class's rollout.
type TenantClassStatus struct {
	// observedGeneration is the generation of the class this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// revision identifies spec.template: a hash of its content. Tenants that run it
	// report it in their status.classRevision.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Revision string `json:"revision,omitempty"`
	// tenants is the number of Tenants of the class.
	// +optional
	Tenants int32 `json:"tenants"`
	// updated is the number of Tenants running the current revision.
	// +optional
	Updated int32 `json:"updated"`
	// ready is the number of Tenants of the class that are Ready, on any revision.
	// +optional
	Ready int32 `json:"ready"`
	// held is the number of Tenants on an older revision because their
	// classUpdatePolicy is Manual.
	// +optional
	Held int32 `json:"held,omitempty"`
	// failed are the Tenants that failed the current revision (not Ready within
	// progressDeadlineSeconds, or their migration failed), sorted by name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	Failed []string `json:"failed,omitempty"`
	// conditions: Ready (every Tenant runs the current revision and is Ready),
	// Progressing (Tenants are moving) and Paused (reason Manual or TooManyFailures).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TenantClassList is a list of TenantClasses.
// +kubebuilder:object:root=true
type TenantClassList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantClass `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TenantClass{}, &TenantClassList{})
}
