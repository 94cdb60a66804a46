// Package testenv starts a real kube-apiserver and etcd (controller-runtime's envtest)
// with Silo's CRDs installed, and the operator's manager against it. The integration,
// conformance and benchmark tiers share it.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// certDir holds the API server's certificates; it outlives an API server restart.
	certDir string
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
	snapshotCRDs, err := SnapshotCRDPaths()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		// Silo's CRDs, the Gateway API's that tenants' routes use, the PodMonitor
		// kind of the Prometheus Operator, and the CSI snapshot kinds.
		CRDDirectoryPaths: append(append([]string{
			filepath.Join(RepoRoot(), "config", "crd", "bases"),
			filepath.Join(RepoRoot(), "config", "crd", "external"),
		}, gatewayCRDs...), snapshotCRDs...),
		ErrorIfCRDPathMissing: true,
		// envtest's 20 s default is too short for a loaded two-core machine.
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	api := env.ControlPlane.GetAPIServer()
	// Room for thousands of Services (the default range holds about 250).
	api.Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	// Close open watches when stopping, as a production API server is configured to:
	// without a grace period kube-apiserver waits for every watch to end on its own
	// and envtest kills it after 20 s.
	api.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	// A folder of our own for the API server's certificates: envtest removes a folder
	// it made itself when the API server stops, and a restarted API server would then
	// serve new certificates that no existing client trusts.
	certDir, err := os.MkdirTemp("", "silo-apiserver-")
	if err != nil {
		return nil, err
	}
	api.CertDir = certDir
	for _, o := range opts {
		o(env)
	}
	e := &Env{Environment: env, certDir: certDir}
	cfg, err := env.Start()
	if err != nil {
		// A failure after the control plane started (a bad CRD, say) must not leave
		// kube-apiserver and etcd running.
		_ = e.Stop()
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	e.Config, e.Client = cfg, c
	return e, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error {
	err := e.Environment.Stop()
	return errors.Join(err, os.RemoveAll(e.certDir))
}

// RestartAPIServer stops kube-apiserver (SIGTERM), leaves it down for down, and starts
// it again on the same port, with the same certificates and users, against the same
// etcd: what clients see when a control plane node is replaced or upgraded.
func (e *Env) RestartAPIServer(down time.Duration) error {
	api := e.Environment.ControlPlane.GetAPIServer()
	if api.CertDir != e.certDir {
		return fmt.Errorf("the API server's certificates moved from %s to %s: a restart would change them", e.certDir, api.CertDir)
	}
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	time.Sleep(down)
	// A loaded machine (CI's two cores) can take longer than envtest's 20 s default.
	api.StartTimeout = max(api.StartTimeout, 2*time.Minute)
	if err := api.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return nil
}

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

// ManagerOption adjusts the manager's options before it starts.
type ManagerOption func(*ctrl.Options)

// WithMetrics serves the manager's metrics endpoint on addr as main.go does (HTTPS,
// for callers the API server authenticates and authorizes), for a test that scrapes
// it.
func WithMetrics(addr string) ManagerOption {
	return func(o *ctrl.Options) { o.Metrics = controllers.MetricsOptions(addr, true, "") }
}

// StartManager runs the operator's manager (the one main.go runs) with restCfg until
// Stop. Metrics and probes are off unless an option turns them on, so several
// managers can run in one process.
func StartManager(restCfg *rest.Config, cfg controllers.Config, concurrency int, opts ...ManagerOption) (*Manager, error) {
	options := ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}
	for _, o := range opts {
		o(&options)
	}
	return StartManagerWithOptions(restCfg, cfg, concurrency, options)
}

// StartManagerWithOptions is StartManager with the manager's options (metrics,
// probes) given; the controller may run besides another in the same process.
func StartManagerWithOptions(restCfg *rest.Config, cfg controllers.Config, concurrency int, opts ctrl.Options) (*Manager, error) {
	skipNameValidation := true
	requests := &RequestCounter{}
	opts.Controller = ctrlconfigController(skipNameValidation)
	mgr, err := controllers.NewManager(requests.Wrap(restCfg), cfg, opts, concurrency)
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

// WithAPIServerOutput sends kube-apiserver's output to w.
func WithAPIServerOutput(w io.Writer) Option {
	return func(env *envtest.Environment) {
		api := env.ControlPlane.GetAPIServer()
		api.Out, api.Err = w, w
	}
}
