package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// quotaHard returns the hard limits of the tenant's ResourceQuota: the Tenant's quota
// over the operator's defaults, CPU and memory capping both requests and limits, no
// NodePort or LoadBalancer Services at all, and none of the platform's extended
// resources the Tenant is not granted.
func quotaHard(t *silov1.Tenant, cfg *Config) corev1.ResourceList {
	q := t.Spec.Quota
	pick := func(name corev1.ResourceName, set *resource.Quantity) resource.Quantity {
		if set != nil {
			return set.DeepCopy()
		}
		return cfg.DefaultQuota[name].DeepCopy()
	}
	count := func(name corev1.ResourceName, set *int32) resource.Quantity {
		if set != nil {
			return *resource.NewQuantity(int64(*set), resource.DecimalSI)
		}
		return cfg.DefaultQuota[name].DeepCopy()
	}
	cpu := pick(corev1.ResourceCPU, q.CPU)
	memory := pick(corev1.ResourceMemory, q.Memory)
	ephemeral := pick(corev1.ResourceEphemeralStorage, q.EphemeralStorage)
	hard := corev1.ResourceList{
		corev1.ResourceRequestsCPU:              cpu,
		corev1.ResourceLimitsCPU:                cpu,
		corev1.ResourceRequestsMemory:           memory,
		corev1.ResourceLimitsMemory:             memory,
		corev1.ResourceRequestsEphemeralStorage: ephemeral,
		corev1.ResourceLimitsEphemeralStorage:   ephemeral,
		corev1.ResourceRequestsStorage:          pick(corev1.ResourceRequestsStorage, q.Storage),
		corev1.ResourcePods:                     count(corev1.ResourcePods, q.Pods),
		corev1.ResourceServices:                 count(corev1.ResourceServices, q.Services),
		corev1.ResourceSecrets:                  count(corev1.ResourceSecrets, q.Secrets),
		corev1.ResourceConfigMaps:               count(corev1.ResourceConfigMaps, q.ConfigMaps),
		corev1.ResourcePersistentVolumeClaims:   count(corev1.ResourcePersistentVolumeClaims, q.PersistentVolumeClaims),
		corev1.ResourceReplicationControllers:   resource.MustParse("0"),
		corev1.ResourceQuotas:                   resource.MustParse("1"),
		corev1.ResourceServicesNodePorts:        resource.MustParse("0"),
		corev1.ResourceServicesLoadBalancers:    resource.MustParse("0"),
	}
	// Extended resources (GPUs) can only be capped on requests, which for them
	// equal limits. Those the platform names are 0 unless the Tenant grants them.
	for _, name := range cfg.Guardrails.ExtendedResources {
		hard[corev1.DefaultResourceRequestsPrefix+corev1.ResourceName(name)] = resource.MustParse("0")
	}
	for name, granted := range q.Extended {
		hard[corev1.DefaultResourceRequestsPrefix+corev1.ResourceName(name)] = granted.DeepCopy()
	}
	return hard
}

// buildResourceQuota returns the namespace's ResourceQuota.
func buildResourceQuota(t *silov1.Tenant, cfg *Config) *corev1ac.ResourceQuotaApplyConfiguration {
	return corev1ac.ResourceQuota(QuotaName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(quotaHard(t, cfg)))
}

// buildLimitRange returns the namespace's LimitRange: defaults for containers that
// set no resources (so they are admitted under the quota), and a per-container cap of
// the whole quota, so one container cannot ask for more than the tenant has.
func buildLimitRange(t *silov1.Tenant, cfg *Config) *corev1ac.LimitRangeApplyConfiguration {
	hard := quotaHard(t, cfg)
	maxCPU, maxMemory := hard[corev1.ResourceLimitsCPU], hard[corev1.ResourceLimitsMemory]
	return corev1ac.LimitRange(LimitRangeName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "isolation")).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(
			corev1ac.LimitRangeItem().
				WithType(corev1.LimitTypeContainer).
				WithDefault(corev1.ResourceList{
					corev1.ResourceCPU:              minQuantity(cfg.DefaultLimits[corev1.ResourceCPU], maxCPU),
					corev1.ResourceMemory:           minQuantity(cfg.DefaultLimits[corev1.ResourceMemory], maxMemory),
					corev1.ResourceEphemeralStorage: cfg.DefaultLimits[corev1.ResourceEphemeralStorage],
				}).
				WithDefaultRequest(corev1.ResourceList{
					corev1.ResourceCPU:              minQuantity(cfg.DefaultRequests[corev1.ResourceCPU], maxCPU),
					corev1.ResourceMemory:           minQuantity(cfg.DefaultRequests[corev1.ResourceMemory], maxMemory),
					corev1.ResourceEphemeralStorage: cfg.DefaultRequests[corev1.ResourceEphemeralStorage],
				}).
				WithMax(corev1.ResourceList{
					corev1.ResourceCPU:    maxCPU,
					corev1.ResourceMemory: maxMemory,
				}),
		))
}

// minQuantity returns the smaller of a and b: a tenant with a tiny quota gets
// defaults no larger than its cap, or the LimitRange would be invalid.
func minQuantity(a, b resource.Quantity) resource.Quantity {
	if b.Cmp(a) < 0 {
		return b.DeepCopy()
	}
	return a.DeepCopy()
}

// QuotaHeadroom reports whether a resource of a Tenant's quota is one the Tenant can
// run out of, and so one worth watching (the near-quota alert, the plugin's hints).
// A resource capped at 0 is forbidden outright, and the cap of one ResourceQuota is
// a fence that Silo's own quota always fills: neither is headroom.
func QuotaHeadroom(res corev1.ResourceName, hard resource.Quantity) bool {
	return !hard.IsZero() && res != corev1.ResourceQuotas
}
