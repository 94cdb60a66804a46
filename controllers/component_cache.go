package controllers

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// CacheName names the cache's Deployment and Service.
const CacheName = "cache"

const (
	valkeyPort int32 = 6379
	// valkeyUser is Valkey's built-in user, whose password requirepass sets.
	valkeyUser = "default"
	// maxmemoryPercent of the container's memory limit is Valkey's maxmemory: the rest
	// is headroom for the process itself, so eviction starts before the OOM killer.
	maxmemoryPercent = 75
)

// defaultCacheMemory is the cache's memory limit when the Tenant sets none.
var defaultCacheMemory = resource.MustParse("256Mi")

// cacheService is a Valkey server (Redis protocol): a Deployment without persistence whose
// maxmemory follows the container's memory limit, and its Service.
var cacheService = managedService{
	name: CacheName,
	spec: func(t *silov1.Tenant) *serviceSpec {
		c := t.Spec.Cache
		if c == nil {
			return nil
		}
		res := cacheResources(c)
		return &serviceSpec{version: c.Version, resources: &res, external: c.External}
	},
	image:       func(i *Images) string { return i.Valkey },
	container:   "valkey",
	uid:         valkeyUID,
	port:        namedPort{"redis", valkeyPort},
	user:        valkeyUser,
	passwordEnv: "VALKEY_PASSWORD",
	command:     []string{"valkey-server"},
	args: func(spec *serviceSpec) []string {
		limit := spec.resources.Limits[corev1.ResourceMemory]
		maxmemory := limit.Value() / 100 * maxmemoryPercent
		return []string{"--port", strconv.Itoa(int(valkeyPort)),
			"--requirepass", "$(VALKEY_PASSWORD)",
			"--maxmemory", strconv.FormatInt(maxmemory, 10),
			"--maxmemory-policy", "allkeys-lru",
			"--save", "", "--appendonly", "no", "--dir", "/data"}
	},
	dataPath: "/data",
	probe: func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("redis")))
	},
	urlKey: "REDIS_URL", scheme: "redis", urlPath: "/0",
}

func componentCache() component { return cacheService.component() }

// buildCache returns the cache's Deployment and Service.
func buildCache(bc *buildContext) []runtime.ApplyConfiguration { return cacheService.build(bc) }

// cacheResources returns the cache container's resources: the Tenant's, always with a
// memory limit (the default, or at least the memory request) since maxmemory derives
// from it.
func cacheResources(spec *silov1.CacheSpec) corev1.ResourceRequirements {
	out := corev1.ResourceRequirements{}
	if spec.Resources != nil {
		out = *spec.Resources.DeepCopy()
	}
	if out.Limits == nil {
		out.Limits = corev1.ResourceList{}
	}
	if _, ok := out.Limits[corev1.ResourceMemory]; !ok {
		limit := defaultCacheMemory.DeepCopy()
		if req, ok := out.Requests[corev1.ResourceMemory]; ok && req.Cmp(limit) > 0 {
			limit = req.DeepCopy()
		}
		out.Limits[corev1.ResourceMemory] = limit
	}
	return out
}
