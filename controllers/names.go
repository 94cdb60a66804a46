package controllers

import (
	"fmt"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// NamespacePrefix is prepended to a Tenant's name to name its namespace.
const NamespacePrefix = "tenant-"

// Names of the isolation children in every tenant namespace.
const (
	QuotaName            = "tenant-quota"
	LimitRangeName       = "tenant-limits"
	OwnerRoleName        = "silo-tenant-owner"
	OwnerRoleBindingName = "silo-tenant-owners"
	WorkloadSAName       = "tenant-workload"
)

// NamespaceFor returns the namespace of a Tenant.
func NamespaceFor(t *silov1.Tenant) string { return NamespacePrefix + t.Name }

// commonLabels are the labels every child of t carries.
func commonLabels(t *silov1.Tenant) map[string]string {
	return map[string]string{
		silov1.ManagedByLabel: silov1.ManagedByValue,
		silov1.TenantLabel:    t.Name,
	}
}

// componentLabels are commonLabels plus the component name.
func componentLabels(t *silov1.Tenant, component string) map[string]string {
	l := commonLabels(t)
	l[silov1.ComponentLabel] = component
	return l
}

// ownerRef is the controller reference every child carries to its Tenant.
func ownerRef(t *silov1.Tenant) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(silov1.GroupVersion.String()).
		WithKind("Tenant").
		WithName(t.Name).
		WithUID(t.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// serviceHost is the in-cluster host:port of a Service in the tenant namespace.
func serviceHost(t *silov1.Tenant, service string, port int32) string {
	return fmt.Sprintf("%s.%s.svc:%d", service, NamespaceFor(t), port)
}
