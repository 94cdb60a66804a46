// Package testenv starts a real kube-apiserver and etcd (controller-runtime's envtest)
// with Silo's CRDs installed, and the operator's manager against it. The integration,
// conformance and benchmark tiers share it.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/silo-dev/silo/controllers"
)

// Env is a running control plane with Silo's CRDs.
type Env struct {
	// Environment is the envtest environment.
	Environment *envtest.Environment
	// Config is an admin's rest config.
	Config *rest.Config
	// Client is an admin's client (no cache).
	Client client.Client
}

// RepoRoot returns the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Option adjusts the control plane before it starts.
type Option func(*envtest.Environment)

// WithAPIServerFlag sets a kube-apiserver flag (name without dashes), for example an
// audit policy or request limits.
func WithAPIServerFlag(name, value string) Option {
	return func(env *envtest.Environment) {
		env.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
}

// Start starts kube-apiserver and etcd from KUBEBUILDER_ASSETS and installs the CRDs
// from config/crd/bases.
func Start(opts ...Option) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, " +
			"or export KUBEBUILDER_ASSETS=$(hack/k8s-binaries.sh test)")
	}
	gatewayCRDs, err := GatewayAPICRDPaths()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		// Silo's CRDs, the Gateway API's that tenants' routes use, and the PodMonitor
		// kind of the Prometheus Operator.
		CRDDirectoryPaths: append([]string{
			filepath.Join(RepoRoot(), "config", "crd", "bases"),
			filepath.Join(RepoRoot(), "config", "crd", "external"),
		}, gatewayCRDs...),
		ErrorIfCRDPathMissing: true,
	}
	// Room for thousands of Services (the default range holds about 250).
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	for _, o := range opts {
		o(env)
	}
	cfg, err := env.Start()
	if err != nil {
		// A failure after the control plane started (a bad CRD, say) must not leave
		// kube-apiserver and etcd running.
		_ = env.Stop()
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Environment: env, Config: cfg, Client: c}, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.Environment.Stop() }

// User returns a client authenticated as a real non-admin user; RBAC decides what it
// may do.
func (e *Env) User(name string, groups ...string) (client.Client, *rest.Config, error) {
	u, err := e.Environment.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("adding user %s: %w", name, err)
	}
	cfg := u.Config()
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	return c, cfg, err
}

// Manager is a running operator.
type Manager struct {
	Manager ctrl.Manager
	// Requests counts every API request the manager sends.
	Requests *RequestCounter
	cancel   context.CancelFunc
	done     chan error
}

// StartManager runs the operator's manager (the one main.go runs) with restCfg until
// Stop. Metrics and probes are off so several managers can run in one process.
func StartManager(restCfg *rest.Config, cfg controllers.Config, concurrency int) (*Manager, error) {
	skipNameValidation := true
	requests := &RequestCounter{}
	mgr, err := controllers.NewManager(requests.Wrap(restCfg), cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             ctrlconfigController(skipNameValidation),
	}, concurrency)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{Manager: mgr, Requests: requests, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return nil, errors.New("manager cache did not sync within a minute")
	}
	return m, nil
}

// Stop stops the manager and waits for it to finish.
func (m *Manager) Stop() error {
	m.cancel()
	return <-m.done
}
