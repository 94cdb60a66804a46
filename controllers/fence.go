package controllers

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// buildIsolation returns the fences of a tenant namespace: its default
// ServiceAccount, quota, limits, network policies, and the owners' Role and binding.
func buildIsolation(bc *buildContext) []runtime.ApplyConfiguration {
	t, cfg := bc.Tenant, bc.Config
	objs := []runtime.ApplyConfiguration{
		buildDefaultServiceAccount(t),
		buildWorkloadServiceAccount(bc),
		buildResourceQuota(t, cfg),
		buildLimitRange(t, cfg),
	}
	for _, np := range buildNetworkPolicies(t, cfg) {
		objs = append(objs, np)
	}
	objs = append(objs, buildOwnerRole(t))
	if rb := buildOwnerRoleBinding(t); rb != nil {
		objs = append(objs, rb)
	}
	return objs
}
