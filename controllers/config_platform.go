package controllers

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Platform are the platform team's settings for what a tenant's app may ask for:
// which identity, pod metadata, certificate issuers and volume kinds, which egress
// every tenant always has, where shared files live, and how apps are routed to.
// They come from flags (and so from Helm values).
type Platform struct {
	// ServiceAccountAnnotationKeys are the annotation keys a Tenant may put on its
	// workload ServiceAccount (spec.serviceAccount.annotations); an entry ending in
	// "/" is a prefix. The same keys are refused on ServiceAccounts tenant admins
	// write: a cloud identity is the platform's to give.
	ServiceAccountAnnotationKeys []string
	// PodLabelKeys and PodAnnotationKeys are the keys a Tenant may put on its app's
	// and workers' pods (spec.podMetadata); an entry ending in "/" is a prefix.
	PodLabelKeys      []string
	PodAnnotationKeys []string
	// ClusterIssuers are the cert-manager ClusterIssuers a Tenant (app.ingress.issuer)
	// and tenant admins' Ingresses may name. Empty: any.
	ClusterIssuers []string
	// DNSCacheIP is the node-local DNS cache every tenant may query on port 53
	// (NodeLocal DNSCache listens on 169.254.20.10). Empty: none.
	DNSCacheIP string
	// MetricsNamespace is the namespace of the monitoring system allowed to scrape
	// the tenants' apps. Empty: none.
	MetricsNamespace string
	// ClusterCIDRs are the cluster's own networks (pods, Services): a Tenant's egress
	// ranges never open them, so no network.egress entry reaches another tenant.
	ClusterCIDRs []string
	// FileStorageClass is the StorageClass of the shared file storage volume
	// (spec.storage) of Tenants without a region, or in a region not in
	// RegionFileStorageClasses; empty: the cluster default. Shared files need a class
	// that can be mounted by several nodes at once (ReadWriteMany), which the block
	// storage of the databases' volumes usually cannot.
	FileStorageClass         string
	RegionFileStorageClasses map[string]string
	// ExportStorageClass is the StorageClass of export claims (annotation
	// silo.dev/export); empty: the region's class of the database volumes. The
	// export Job's pod is placed in the Tenant's region, so a class that binds when
	// the pod is scheduled (WaitForFirstConsumer) provisions the volume there.
	ExportStorageClass string
	// ExportObjectStorage maps a region to the Secret, in the operator's namespace,
	// of the S3-compatible bucket that exports of Tenants placed there are uploaded
	// to (endpoint, bucket, region, accessKeyID, secretAccessKey, optional prefix).
	// The entry "*" is for every other Tenant, with or without a region. A Tenant
	// whose region has no entry (and no "*") exports to a claim.
	ExportObjectStorage map[string]string
	// VolumeTypes are the kinds of volume (configMap, secret, emptyDir, ...) a
	// Tenant's extra volumes and tenant admins' pods may use.
	VolumeTypes []string
	// Routing says how the app is exposed at its host: an Ingress (the default) or a
	// Gateway API HTTPRoute attached to Gateway.
	Routing RoutingMode
	Gateway GatewayRef
	// PodMonitors is true when the cluster serves the PodMonitor kind
	// (monitoring.coreos.com/v1); the manager finds out at start.
	PodMonitors bool
	// VolumeSnapshots is true when the cluster serves the VolumeSnapshot kind
	// (snapshot.storage.k8s.io/v1); the manager finds out at start.
	VolumeSnapshots bool
}

// RoutingMode is how the app is exposed at its host.
type RoutingMode string

const (
	// RoutingIngress exposes the app with a networking.k8s.io Ingress.
	RoutingIngress RoutingMode = "Ingress"
	// RoutingHTTPRoute exposes the app with a Gateway API HTTPRoute.
	RoutingHTTPRoute RoutingMode = "HTTPRoute"
)

// GatewayRef names the platform's Gateway that tenant HTTPRoutes attach to.
type GatewayRef struct {
	Namespace, Name, SectionName string
}

// defaultPlatform is what the platform flags default to.
func defaultPlatform() Platform {
	return Platform{
		ServiceAccountAnnotationKeys: []string{
			"azure.workload.identity/client-id",
			"azure.workload.identity/tenant-id",
			"eks.amazonaws.com/role-arn",
			"iam.gke.io/gcp-service-account",
		},
		PodLabelKeys:             []string{"azure.workload.identity/use"},
		DNSCacheIP:               "169.254.20.10",
		RegionFileStorageClasses: map[string]string{},
		ExportObjectStorage:      map[string]string{},
		VolumeTypes:              []string{"configMap", "downwardAPI", "emptyDir", "image", "persistentVolumeClaim", "projected", "secret"},
		Routing:                  RoutingIngress,
	}
}

// volumeTypesEver are the volume kinds a platform may allow. The others reach past
// the namespace: a host path, or a network file system the node mounts from
// anywhere (nfs, iscsi, cephfs, ...), outside the tenant's network policies.
var volumeTypesEver = map[string]bool{
	"configMap": true, "csi": true, "downwardAPI": true, "emptyDir": true, "ephemeral": true,
	"image": true, "persistentVolumeClaim": true, "projected": true, "secret": true,
}

// Validate reports every setting that could never work or would open a fence, each
// with what to write instead.
func (p *Platform) Validate() error {
	var errs []error
	keyLists := map[string][]string{
		"service account annotation key": p.ServiceAccountAnnotationKeys,
		"pod label key":                  p.PodLabelKeys,
		"pod annotation key":             p.PodAnnotationKeys,
	}
	for _, what := range sortedKeys(keyLists) {
		for _, k := range keyLists[what] {
			if err := validKeyOrPrefix(k); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", what, k, err))
			} else if reservedKey(k) {
				errs = append(errs, fmt.Errorf("%s %q: silo.dev/, kubernetes.io/ and k8s.io/ keys are Silo's and "+
					"Kubernetes' own (selectors, fences, Pod Security) and cannot be given to tenants", what, k))
			}
		}
	}
	for _, c := range p.ClusterIssuers {
		if msgs := validation.IsDNS1123Subdomain(c); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("cluster issuer %q is not a ClusterIssuer name: %s", c, strings.Join(msgs, "; ")))
		}
	}
	if p.DNSCacheIP != "" {
		if _, err := netip.ParseAddr(p.DNSCacheIP); err != nil {
			errs = append(errs, fmt.Errorf("DNS cache address %q is not an IP address, such as 169.254.20.10", p.DNSCacheIP))
		}
	}
	for _, c := range p.ClusterCIDRs {
		if pr, err := netip.ParsePrefix(c); err != nil || pr != pr.Masked() {
			errs = append(errs, fmt.Errorf("cluster CIDR %q is not an address range with no host bits set, such as 10.244.0.0/16", c))
		}
	}
	if p.MetricsNamespace != "" {
		if msgs := validation.IsDNS1123Label(p.MetricsNamespace); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("metrics namespace %q: %s", p.MetricsNamespace, strings.Join(msgs, "; ")))
		}
	}
	for _, v := range p.VolumeTypes {
		if !volumeTypesEver[v] {
			errs = append(errs, fmt.Errorf("volume type %q cannot be allowed: want some of %s (host paths and "+
				"network file systems are mounted by the node, past the tenant's network policies)",
				v, strings.Join(sortedKeys(volumeTypesEver), ", ")))
		}
	}
	for _, need := range [][2]string{{"emptyDir", "Silo's own pods use it"}, {"persistentVolumeClaim", "Silo's own pods use it"},
		{"secret", "the queue's configuration is a secret volume"}} {
		if !slices.Contains(p.VolumeTypes, need[0]) {
			errs = append(errs, fmt.Errorf("volume types must include %s: %s", need[0], need[1]))
		}
	}
	for _, region := range sortedKeys(p.ExportObjectStorage) {
		if msgs := validation.IsDNS1123Subdomain(p.ExportObjectStorage[region]); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("export object storage of region %q: %q is not a Secret name: %s",
				region, p.ExportObjectStorage[region], strings.Join(msgs, "; ")))
		}
	}
	switch p.Routing {
	case RoutingIngress:
	case RoutingHTTPRoute:
		if p.Gateway.Namespace == "" || p.Gateway.Name == "" {
			errs = append(errs, errors.New("routing HTTPRoute needs the platform's Gateway as namespace/name, for example gateway-system/public"))
		}
	default:
		errs = append(errs, fmt.Errorf("routing %q: want Ingress or HTTPRoute", p.Routing))
	}
	return errors.Join(errs...)
}

// platformNamespaceAnnotations adds the platform's lists that admission policies read
// to a tenant namespace's annotations.
func platformNamespaceAnnotations(p *Platform, annotations map[string]string) {
	if len(p.ServiceAccountAnnotationKeys) > 0 {
		annotations[silov1.ServiceAccountKeysAnnotation] = strings.Join(p.ServiceAccountAnnotationKeys, ",")
	}
	if len(p.ClusterIssuers) > 0 {
		annotations[silov1.ClusterIssuersAnnotation] = strings.Join(p.ClusterIssuers, ",")
	}
	if len(p.VolumeTypes) > 0 {
		annotations[silov1.VolumeTypesAnnotation] = strings.Join(p.VolumeTypes, ",")
	}
}

// issuerAllowed reports whether the platform lets tenants name a ClusterIssuer.
func (p *Platform) issuerAllowed(issuer string) bool {
	return len(p.ClusterIssuers) == 0 || slices.Contains(p.ClusterIssuers, issuer)
}

// FileStorageClassFor returns the StorageClass of the shared file storage in region,
// or "" when the platform sets none.
func (p *Platform) FileStorageClassFor(region string) string {
	if c := p.RegionFileStorageClasses[region]; region != "" && c != "" {
		return c
	}
	return p.FileStorageClass
}

// ExportObjectStorageFor returns the Secret of the bucket that exports of Tenants in
// region go to, or "" when they go to a claim.
func (p *Platform) ExportObjectStorageFor(region string) string {
	if s, ok := p.ExportObjectStorage[region]; ok && region != "" {
		return s
	}
	return p.ExportObjectStorage[anyRegion]
}

// anyRegion is the ExportObjectStorage entry for Tenants of every other region.
const anyRegion = "*"

// ParseExportObjectStorage parses "region=secret" pairs ("*=secret" for every
// other region), as given to --export-object-storage.
func ParseExportObjectStorage(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		region, secret, ok := strings.Cut(p, "=")
		if !ok || region == "" || secret == "" {
			return nil, fmt.Errorf("invalid export object storage %q: want region=secret (or *=secret for every other region), "+
				"for example eu-west-1=silo-exports-eu-west-1", p)
		}
		if prev, dup := out[region]; dup && prev != secret {
			return nil, fmt.Errorf("region %q is given two export object storage Secrets, %q and %q", region, prev, secret)
		}
		out[region] = secret
	}
	return out, nil
}

// ParseGatewayRef parses namespace/name[/sectionName], as given to --gateway.
func ParseGatewayRef(s string) (GatewayRef, error) {
	if s == "" {
		return GatewayRef{}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return GatewayRef{}, fmt.Errorf("invalid gateway %q: want namespace/name or namespace/name/listener, for example gateway-system/public", s)
	}
	ref := GatewayRef{Namespace: parts[0], Name: parts[1]}
	if len(parts) == 3 {
		ref.SectionName = parts[2]
	}
	return ref, nil
}

// reservedKey reports a key (or prefix) in Silo's or Kubernetes' own domains.
func reservedKey(k string) bool {
	domain, _, ok := strings.Cut(k, "/")
	if !ok {
		return false
	}
	for _, d := range []string{"silo.dev", "kubernetes.io", "k8s.io"} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// keyAllowed reports whether key is on a list of keys and prefixes (entries ending
// in "/").
func keyAllowed(list []string, key string) bool {
	for _, e := range list {
		if e == key || (strings.HasSuffix(e, "/") && strings.HasPrefix(key, e)) {
			return true
		}
	}
	return false
}
