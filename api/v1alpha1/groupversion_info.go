// Package v1alpha1 contains the silo.dev/v1alpha1 API: the Tenant and the TenantClass.
// +kubebuilder:object:generate=true
// +groupName=silo.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the Silo API.
	GroupVersion = schema.GroupVersion{Group: "silo.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the Silo types to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Silo types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
