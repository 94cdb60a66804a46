package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/silo-dev/silo/controllers"
)

// bindPlatformFlags registers the flags of the platform's settings for tenant apps
// on fs, and returns a function to call after parsing: it finishes and validates p.
func bindPlatformFlags(fs *flag.FlagSet, p *controllers.Platform) func() error {
	list := func(name string, dst *[]string, usage string) {
		fs.Func(name, usage+fmt.Sprintf(" (comma-separated; default %q)", strings.Join(*dst, ",")), func(v string) error {
			*dst = controllers.SplitList(v)
			return nil
		})
	}
	list("service-account-annotation-keys", &p.ServiceAccountAnnotationKeys,
		"annotation keys Tenants may put on their workload ServiceAccount and tenant admins may not (an entry ending in / is a prefix)")
	list("pod-label-keys", &p.PodLabelKeys, "label keys Tenants may put on their app and worker pods (an entry ending in / is a prefix)")
	list("pod-annotation-keys", &p.PodAnnotationKeys, "annotation keys Tenants may put on their app and worker pods (an entry ending in / is a prefix)")
	list("allowed-cluster-issuers", &p.ClusterIssuers, "cert-manager ClusterIssuers tenants may name (empty: any)")
	list("allowed-volume-types", &p.VolumeTypes, "volume kinds Tenants' extra volumes and tenant admins' pods may use")
	list("cluster-cidrs", &p.ClusterCIDRs, "the cluster's own networks (pods, Services), which Tenants' network.egress ranges never open")
	fs.StringVar(&p.DNSCacheIP, "dns-cache-ip", p.DNSCacheIP, "address of the node-local DNS cache every tenant may query (empty: none)")
	fs.StringVar(&p.MetricsNamespace, "metrics-namespace", p.MetricsNamespace, "namespace of the monitoring system allowed to scrape tenant apps (empty: none)")
	fs.StringVar(&p.FileStorageClass, "file-storage-class", p.FileStorageClass, "StorageClass of shared file storage volumes (empty: the cluster default)")
	fs.StringVar(&p.ExportStorageClass, "export-storage-class", p.ExportStorageClass, "StorageClass of export claims (empty: the region's volume class)")
	var regionFile []string
	fs.Func("region-file-storage-class", "region=storageclass for shared file storage volumes of Tenants placed in region (repeatable)", func(v string) error {
		regionFile = append(regionFile, v)
		return nil
	})
	var exportStores []string
	fs.Func("export-object-storage", "region=secret: exports of Tenants placed in region are uploaded to the bucket the Secret "+
		"of the operator's namespace names; *=secret for every other Tenant (repeatable; none: exports go to a claim)", func(v string) error {
		exportStores = append(exportStores, v)
		return nil
	})
	routing := string(p.Routing)
	fs.StringVar(&routing, "routing", routing, "how apps are exposed at their host: Ingress or HTTPRoute")
	var gateway string
	fs.StringVar(&gateway, "gateway", "", "the platform Gateway tenant HTTPRoutes attach to, namespace/name[/listener] (routing HTTPRoute)")
	return func() error {
		classes, err := controllers.ParseRegionStorageClasses(regionFile)
		if err != nil {
			return fmt.Errorf("--region-file-storage-class: %w", err)
		}
		p.RegionFileStorageClasses = classes
		if p.ExportObjectStorage, err = controllers.ParseExportObjectStorage(exportStores); err != nil {
			return fmt.Errorf("--export-object-storage: %w", err)
		}
		p.Routing = controllers.RoutingMode(routing)
		if p.Gateway, err = controllers.ParseGatewayRef(gateway); err != nil {
			return err
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("invalid platform flags: %w", err)
		}
		return nil
	}
}
