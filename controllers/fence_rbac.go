package controllers

import (
	rbacv1 "k8s.io/api/rbac/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

var (
	verbsAll  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	verbsRead = []string{"get", "list", "watch"}
)

// ownerRules are what a tenant's owners may do in its namespace: run and operate
// workloads, read the quota and limits, and manage Roles, RoleBindings and
// NetworkPolicies of their own (self-service, Multi-Tenancy Benchmark profile level
// 2). Silo's own Role, binding and policies are kept from them by the
// silo-tenant-managed-objects admission policy, and silo-tenant-self-service bounds
// what theirs may say (subjects, peers); RBAC itself refuses a binding that grants
// more than its creator holds. They are explicit rules, never the aggregated admin
// ClusterRole, whose content other components can extend. The operator holds
// escalate and bind on this Role's name only, so it can grant these rules without
// holding them itself.
var ownerRules = []*rbacv1ac.PolicyRuleApplyConfiguration{
	rbacv1ac.PolicyRule().WithAPIGroups("").
		WithResources("pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("").
		WithResources("pods/log", "pods/status", "events", "endpoints", "resourcequotas", "limitranges").
		WithVerbs(verbsRead...),
	rbacv1ac.PolicyRule().WithAPIGroups("").
		WithResources("pods/exec", "pods/portforward", "pods/attach").
		WithVerbs("get", "create"),
	rbacv1ac.PolicyRule().WithAPIGroups("apps").
		WithResources("deployments", "statefulsets", "replicasets", "deployments/scale", "statefulsets/scale").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("batch").
		WithResources("jobs", "cronjobs").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("autoscaling").
		WithResources("horizontalpodautoscalers").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("policy").
		WithResources("poddisruptionbudgets").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("networking.k8s.io").
		WithResources("ingresses", "networkpolicies").
		WithVerbs(verbsAll...),
	rbacv1ac.PolicyRule().WithAPIGroups("rbac.authorization.k8s.io").
		WithResources("roles", "rolebindings").
		WithVerbs(verbsAll...),
	// Routes of their own on Gateway API clusters, held to the tenant's host like
	// Ingresses (silo-tenant-route-hosts).
	rbacv1ac.PolicyRule().WithAPIGroups("gateway.networking.k8s.io").
		WithResources("httproutes", "grpcroutes").
		WithVerbs(verbsAll...),
}

// buildOwnerRole returns the Role granted to the tenant's owners.
func buildOwnerRole(t *silov1.Tenant) *rbacv1ac.RoleApplyConfiguration {
	return rbacv1ac.Role(OwnerRoleName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithRules(ownerRules...)
}

// buildOwnerRoleBinding binds the owner Role to spec.owners, or returns nil when the
// Tenant has no owners (then a stale binding is removed).
func buildOwnerRoleBinding(t *silov1.Tenant) *rbacv1ac.RoleBindingApplyConfiguration {
	if len(t.Spec.Owners) == 0 {
		return nil
	}
	subjects := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(t.Spec.Owners))
	for _, o := range t.Spec.Owners {
		s := rbacv1ac.Subject().WithKind(string(o.Kind)).WithName(o.Name)
		if o.Kind == silov1.OwnerKindServiceAccount {
			s.WithNamespace(o.Namespace)
		} else {
			s.WithAPIGroup(rbacv1.GroupName)
		}
		subjects = append(subjects, s)
	}
	return rbacv1ac.RoleBinding(OwnerRoleBindingName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(OwnerRoleName)).
		WithSubjects(subjects...)
}

// buildDefaultServiceAccount returns the namespace's default ServiceAccount with token
// automounting off: a compromised pod gets no API credentials it did not ask for.
func buildDefaultServiceAccount(t *silov1.Tenant) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount("default", NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithAutomountServiceAccountToken(false)
}
