// Command silo runs the Silo operator: it turns Tenant objects into isolated,
// fenced-off customer environments.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/silo-dev/silo/controllers"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "silo:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := controllers.DefaultConfig()
	platformFlagsDone := bindPlatformFlags(flag.CommandLine, &cfg.Platform)
	var (
		metricsAddr, probeAddr string
		metricsSecure          bool
		metricsCertDir         string
		pprofAddr              string
		leaderElect            bool
		concurrency            int
		qps                    float64
		burst                  int
		compression            bool
		regionClasses          stringList
		guard                  = &cfg.Guardrails
		priorityClasses        = strings.Join(guard.PriorityClasses, ",")
		tolerations            = strings.Join(guard.Tolerations, ",")
		extendedResources      = strings.Join(guard.ExtendedResources, ",")
		ingressAnnotations     = strings.Join(guard.IngressAnnotations, ",")
		bindingNamespaces      = strings.Join(guard.RoleBindingServiceAccountNamespaces, ",")
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint (0 turns it off)")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to callers the API server authenticates and authorizes for GET /metrics (false: plain HTTP to anyone)")
	flag.StringVar(&metricsCertDir, "metrics-cert-dir", "", "folder with tls.crt and tls.key for the metrics endpoint (empty: a self-signed certificate)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "address of the /debug/pprof endpoints (empty turns them off)")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader, so only one replica reconciles at a time")
	flag.IntVar(&concurrency, "concurrency", 4, "Tenants reconciled in parallel")
	flag.Float64Var(&qps, "kube-api-qps", 200, "steady requests per second to the API server, for each kind of object")
	flag.IntVar(&burst, "kube-api-burst", 400, "burst of requests to the API server, for each kind of object")
	flag.BoolVar(&compression, "kube-api-compression", false, "ask the API server to gzip its responses and watch streams (costs CPU on both ends; for a slow link to the API server)")
	flag.StringVar(&cfg.OperatorNamespace, "operator-namespace", envOr("POD_NAMESPACE", cfg.OperatorNamespace), "the operator's namespace, where external service Secrets live")
	flag.StringVar(&cfg.Images.NATS, "nats-image", cfg.Images.NATS, "default image of managed queues")
	flag.StringVar(&cfg.Images.Valkey, "valkey-image", cfg.Images.Valkey, "default image of managed caches")
	flag.StringVar(&cfg.Images.Postgres, "postgres-image", cfg.Images.Postgres, "default image of managed databases")
	flag.StringVar(&cfg.Images.ExportUploader, "export-uploader-image", cfg.Images.ExportUploader, "image that uploads exports to object storage (needs sh and curl)")
	flag.StringVar(&cfg.IngressNamespace, "ingress-namespace", cfg.IngressNamespace, "namespace of the ingress controller allowed to reach tenant apps")
	flag.StringVar(&cfg.DNSNamespace, "dns-namespace", cfg.DNSNamespace, "namespace of cluster DNS")
	flag.Var(&regionClasses, "region-storage-class", "region=storageclass for volumes of Tenants placed in region (repeatable)")
	var quota, limits, requests stringList
	flag.Var(&quota, "default-quota", "name=quantity of the quota for Tenants that leave it unset, e.g. cpu=4 or requests.storage=50Gi (repeatable)")
	flag.Var(&limits, "default-container-limit", "name=quantity of the limit for containers that set none: cpu, memory, ephemeral-storage (repeatable)")
	flag.Var(&requests, "default-container-request", "name=quantity of the request for containers that set none: cpu, memory, ephemeral-storage (repeatable)")
	flag.StringVar(&priorityClasses, "allowed-priority-classes", priorityClasses, "comma-separated PriorityClasses tenant pods may use, besides the cluster's globalDefault class")
	flag.StringVar(&guard.DefaultPriorityClass, "default-priority-class", guard.DefaultPriorityClass, "PriorityClass of managed workloads (empty: the cluster default); tenant pods may use it too")
	flag.StringVar(&tolerations, "allowed-tolerations", tolerations, "comma-separated taint keys tenant pods may tolerate besides node.kubernetes.io/* and their own node pool (an entry ending in / is a prefix)")
	flag.StringVar(&extendedResources, "extended-resources", extendedResources, "comma-separated extended resources capped at 0 in tenant quotas unless a Tenant grants them (spec.quota.extended)")
	flag.StringVar(&ingressAnnotations, "allowed-ingress-annotations", ingressAnnotations, "comma-separated annotation keys tenant Ingresses may carry (an entry ending in / is a prefix)")
	flag.StringVar(&bindingNamespaces, "rolebinding-serviceaccount-namespaces", bindingNamespaces, "comma-separated namespaces whose ServiceAccounts tenant owners may name in their own RoleBindings, besides their own namespace")
	zapOpts := zap.Options{TimeEncoder: zapcore.RFC3339TimeEncoder}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if err := platformFlagsDone(); err != nil {
		return err
	}

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	classes, err := controllers.ParseRegionStorageClasses(regionClasses)
	if err != nil {
		return err
	}
	cfg.RegionStorageClasses = classes
	for _, d := range []struct {
		flag  string
		pairs []string
		into  *corev1.ResourceList
	}{
		{"--default-quota", quota, &cfg.DefaultQuota},
		{"--default-container-limit", limits, &cfg.DefaultLimits},
		{"--default-container-request", requests, &cfg.DefaultRequests},
	} {
		l, err := controllers.ParseResourceList(d.pairs, *d.into)
		if err != nil {
			return fmt.Errorf("%s: %w", d.flag, err)
		}
		*d.into = l
	}
	guard.PriorityClasses = controllers.SplitList(priorityClasses)
	guard.Tolerations = controllers.SplitList(tolerations)
	guard.ExtendedResources = controllers.SplitList(extendedResources)
	guard.IngressAnnotations = controllers.SplitList(ingressAnnotations)
	guard.RoleBindingServiceAccountNamespaces = controllers.SplitList(bindingNamespaces)
	if err := guard.Validate(); err != nil {
		return fmt.Errorf("invalid guardrail flags: %w", err)
	}

	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	restCfg.QPS, restCfg.Burst = float32(qps), burst
	restCfg.DisableCompression = !compression
	return start(restCfg, cfg, ctrl.Options{
		Metrics:                 controllers.MetricsOptions(metricsAddr, metricsSecure, metricsCertDir),
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "silo.dev",
		LeaderElectionNamespace: cfg.OperatorNamespace,
		// The process exits as soon as the manager stops, so stepping down on SIGTERM
		// is safe, and it lets the next replica (a rolling update, a restart) lead at
		// once instead of waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
	}, concurrency)
}

func start(restCfg *rest.Config, cfg controllers.Config, opts ctrl.Options, concurrency int) error {
	mgr, err := controllers.NewManager(restCfg, cfg, opts, concurrency)
	if err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("cache-sync", controllers.CacheSyncedCheck(mgr.GetCache())); err != nil {
		return err
	}
	ctrl.Log.Info("starting silo", "operatorNamespace", cfg.OperatorNamespace, "concurrency", concurrency)
	return mgr.Start(ctrl.SetupSignalHandler())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
