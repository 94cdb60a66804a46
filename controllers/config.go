package controllers

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// FieldOwner is the server-side apply field manager for everything Silo writes.
const FieldOwner = "silo"

// Config is the operator's configuration: what builders need besides the Tenant.
// It comes from flags (and so from Helm values) and never changes while running.
type Config struct {
	// OperatorNamespace is where the operator runs; external service Secrets live here.
	OperatorNamespace string
	// Images are the pinned default images of managed components.
	Images Images
	// Platform are the platform's settings for what a tenant's app may ask for.
	Platform Platform
	// RegionStorageClasses maps a region to the StorageClass of its volumes.
	RegionStorageClasses map[string]string
	// IngressNamespace is the namespace of the ingress controller allowed to reach apps.
	IngressNamespace string
	// DNSNamespace is the namespace of cluster DNS (kube-system).
	DNSNamespace string
	// DefaultQuota is the hard quota for fields a Tenant leaves unset.
	DefaultQuota corev1.ResourceList
}

// Images are the default images of the managed components, pinned by tag.
type Images struct {
	NATS     string
	Valkey   string
	Postgres string
}

// DefaultConfig returns the configuration the operator's flags default to.
func DefaultConfig() Config {
	return Config{
		OperatorNamespace: "silo-system",
		Images: Images{
			NATS:     "docker.io/library/nats:2.11.6-alpine",
			Valkey:   "docker.io/valkey/valkey:8.1.3-alpine",
			Postgres: "docker.io/library/postgres:17.5-alpine",
		},
		RegionStorageClasses: map[string]string{},
		Platform:             defaultPlatform(),
		IngressNamespace:     "ingress-nginx",
		DNSNamespace:         "kube-system",
		DefaultQuota: corev1.ResourceList{
			corev1.ResourceCPU:                    resource.MustParse("4"),
			corev1.ResourceMemory:                 resource.MustParse("8Gi"),
			corev1.ResourceEphemeralStorage:       resource.MustParse("20Gi"),
			corev1.ResourceRequestsStorage:        resource.MustParse("50Gi"),
			corev1.ResourcePods:                   resource.MustParse("50"),
			corev1.ResourceServices:               resource.MustParse("20"),
			corev1.ResourceSecrets:                resource.MustParse("50"),
			corev1.ResourceConfigMaps:             resource.MustParse("50"),
			corev1.ResourcePersistentVolumeClaims: resource.MustParse("20"),
		},
	}
}

// StorageClassFor returns the StorageClass for volumes in region, or "" for the
// cluster default.
func (c *Config) StorageClassFor(region string) string {
	if region == "" {
		return ""
	}
	return c.RegionStorageClasses[region]
}

// ParseRegionStorageClasses parses "region=class" pairs, as given to
// --region-storage-class.
func ParseRegionStorageClasses(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		region, class, ok := strings.Cut(p, "=")
		if !ok || region == "" || class == "" {
			return nil, fmt.Errorf("invalid region storage class %q: want region=storageclass, for example eu-west-1=fast-eu", p)
		}
		if prev, dup := out[region]; dup && prev != class {
			return nil, fmt.Errorf("region %q is given two storage classes, %q and %q", region, prev, class)
		}
		out[region] = class
	}
	return out, nil
}

// sortedKeys returns the keys of m in order, so builders iterate deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
