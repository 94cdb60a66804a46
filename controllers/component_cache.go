package controllers

import (
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
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

func componentCache() component {
	return component{
		name:    CacheName,
		enabled: func(t *silov1.Tenant) bool { return t.Spec.Cache != nil },
		external: func(t *silov1.Tenant) *silov1.ExternalService {
			return t.Spec.Cache.External
		},
		credentialUser: valkeyUser,
		build:          buildCache,
		settings: func(bc *buildContext) map[string]string {
			u := url.URL{Scheme: "redis", Host: cacheHost(bc.Tenant), Path: "/0",
				User: url.UserPassword(credential(bc, CacheName, "username"), credential(bc, CacheName, "password"))}
			return map[string]string{"REDIS_URL": u.String()}
		},
		observe:  observeDeployment(CacheName),
		endpoint: func(t *silov1.Tenant) string { return "redis://" + cacheHost(t) },
	}
}

func cacheHost(t *silov1.Tenant) string {
	return serviceHost(t, CacheName, valkeyPort)
}

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

// buildCache returns a Valkey server (Redis protocol) as a cache: a Deployment without
// persistence whose maxmemory follows the container's memory limit, and its Service.
func buildCache(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	res := cacheResources(t.Spec.Cache)
	limit := res.Limits[corev1.ResourceMemory]
	maxmemory := limit.Value() / 100 * maxmemoryPercent
	c := restrictedContainer("valkey", withTag(bc.Config.Images.Valkey, t.Spec.Cache.Version)).
		WithCommand("valkey-server").
		WithArgs("--port", strconv.Itoa(int(valkeyPort)),
			"--requirepass", "$(VALKEY_PASSWORD)",
			"--maxmemory", strconv.FormatInt(maxmemory, 10),
			"--maxmemory-policy", "allkeys-lru",
			"--save", "", "--appendonly", "no", "--dir", "/data").
		WithEnv(secretEnv("VALKEY_PASSWORD", credentialsSecretName(CacheName), "password")).
		WithPorts(tcpPort("redis", valkeyPort)).
		WithResources(resources(&res)).
		WithVolumeMounts(mount("data", "/data")).
		WithReadinessProbe(corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("redis"))))
	tmpl := podTemplate(t, podSpec{component: CacheName, uid: valkeyUID,
		containers: []*corev1ac.ContainerApplyConfiguration{c},
		volumes:    []*corev1ac.VolumeApplyConfiguration{emptyDir("data")}})
	return []runtime.ApplyConfiguration{
		appsv1ac.Deployment(CacheName, NamespaceFor(t)).
			WithLabels(componentLabels(t, CacheName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(appsv1ac.DeploymentSpec().
				WithReplicas(workloadReplicas(t, nil, 1)).
				WithSelector(selector(t, CacheName)).
				WithTemplate(tmpl)),
		corev1ac.Service(CacheName, NamespaceFor(t)).
			WithLabels(componentLabels(t, CacheName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(corev1ac.ServiceSpec().
				WithType(corev1.ServiceTypeClusterIP).
				WithSelector(selector(t, CacheName).MatchLabels).
				WithPorts(corev1ac.ServicePort().
					WithName("redis").
					WithProtocol(corev1.ProtocolTCP).
					WithPort(valkeyPort).
					WithTargetPort(intstr.FromString("redis")))),
	}
}
