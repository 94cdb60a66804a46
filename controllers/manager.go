package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// NewScheme returns a scheme with the Kubernetes types and Silo's.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(silov1.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	utilruntime.Must(monitoringv1.AddToScheme(s))
	utilruntime.Must(snapshotv1.AddToScheme(s))
	return s
}

// CacheOptions restricts the operator's informers to what Silo manages: every child
// kind is cached only when it carries app.kubernetes.io/managed-by=silo, so unrelated
// objects in the cluster cost the operator no memory, and managed fields (which
// nothing in the operator reads) are stripped before caching.
func CacheOptions(cfg *Config) cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{silov1.ManagedByLabel: silov1.ManagedByValue})}
	forATenant := labels.NewSelector().Add(mustRequirement(silov1.TenantLabel, selection.Exists))
	byObject := map[client.Object]cache.ByObject{&corev1.Namespace{}: managed}
	// Migration and checkpoint Jobs, and the class revisions in the operator's namespace.
	byObject[&batchv1.Job{}] = managed
	if cfg.Platform.VolumeSnapshots {
		byObject[&snapshotv1.VolumeSnapshot{}] = managed
	}
	byObject[&appsv1.ControllerRevision{}] = cache.ByObject{Label: managed.Label,
		Namespaces: map[string]cache.Config{cfg.OperatorNamespace: {}}}
	for _, obj := range cfg.ownedTypes() {
		byObject[obj] = managed
		if _, ok := obj.(*corev1.Secret); ok {
			// Secrets: Silo's own everywhere; in the operator's namespace, where the
			// platform keeps the settings of external services, only those it
			// labelled silo.dev/tenant for a Tenant (the others, other tenants'
			// settings and the platform's own Secrets, are none of Silo's business).
			// The map is keyed by pointer: this must replace the entry, not add a
			// second one.
			byObject[obj] = cache.ByObject{Namespaces: map[string]cache.Config{
				cache.AllNamespaces:   {LabelSelector: managed.Label},
				cfg.OperatorNamespace: {LabelSelector: forATenant},
			}}
		}
	}
	return cache.Options{
		ByObject:         byObject,
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// mustRequirement returns a label requirement with constant arguments.
func mustRequirement(key string, op selection.Operator, values ...string) labels.Requirement {
	r, err := labels.NewRequirement(key, op, values)
	utilruntime.Must(err)
	return *r
}

// NewManager returns a manager running the Tenant controller with cfg. Tests start the
// same manager main.go does.
func NewManager(restCfg *rest.Config, cfg Config, opts ctrl.Options, concurrency int) (ctrl.Manager, error) {
	opts.Scheme = NewScheme()
	podMonitors, err := servesPodMonitors(restCfg)
	if err != nil {
		return nil, err
	}
	cfg.Platform.PodMonitors = podMonitors
	if cfg.Platform.VolumeSnapshots, err = servesVolumeSnapshots(restCfg); err != nil {
		return nil, err
	}
	opts.Cache = CacheOptions(&cfg)
	if opts.MapperProvider == nil {
		opts.MapperProvider = memoMapperProvider
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	r := &TenantReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Config:    cfg,
		Recorder:  mgr.GetEventRecorder("silo"),
	}
	if err := indexTenantsByClass(mgr); err != nil {
		return nil, fmt.Errorf("indexing Tenants by class: %w", err)
	}
	if err := r.SetupWithManager(mgr, concurrency); err != nil {
		return nil, fmt.Errorf("setting up the tenant controller: %w", err)
	}
	cr := &TenantClassReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Config:   cfg,
		Recorder: mgr.GetEventRecorder("silo"),
		Clock:    cfg.Clock,
	}
	if err := cr.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the tenant class controller: %w", err)
	}
	if err := registerMetrics(mgr); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	return mgr, nil
}
