// Package integration proves the Tenant controller's behaviour against a real
// kube-apiserver and etcd (envtest): no controllers besides Silo's run here, so there
// is no garbage collection, namespace deletion or Deployment -> Pod.
package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// managedPriorityClass is the operator's --default-priority-class.
const managedPriorityClass = "tenant-default"

var (
	// fakeClock is the class controller's clock: specs step it past deadlines. It
	// starts ahead of the real clock, which stamps conditions, so a condition never
	// looks newer than the rollout's own times.
	fakeClock = clocktesting.NewFakeClock(time.Now().Add(time.Hour))
	env       *testenv.Env
	k8s       client.Client
	mgr       *testenv.Manager
	// metricsAddr is where the operator serves its metrics (scrape reads them).
	metricsAddr string
	ctx         = context.Background()
	opConfig    = controllers.DefaultConfig()
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Integration (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	env, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s = env.Client
	opConfig.RegionStorageClasses = map[string]string{"eu-west-1": "fast-eu"}
	configureAppPlatform(&opConfig.Platform)
	configureExportObjectStorage(&opConfig.Platform)
	opConfig.Clock = fakeClock
	opConfig.Guardrails.DefaultPriorityClass = managedPriorityClass
	// The platform creates the class it names, or pods of the managed workloads are
	// refused by the Priority admission plugin.
	Expect(k8s.Create(ctx, &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: managedPriorityClass}, Value: 100})).To(Succeed())
	metricsAddr = freeAddress()
	mgr, err = startOperator()
	Expect(err).NotTo(HaveOccurred())
})

// startOperator starts the operator with the suite's configuration, its metrics
// served on metricsAddr as main.go serves them (HTTPS, authenticated, authorized).
func startOperator() (*testenv.Manager, error) {
	return testenv.StartManager(env.Config, opConfig, 4, testenv.WithMetrics(metricsAddr))
}

var _ = AfterSuite(func() {
	if mgr != nil {
		Expect(mgr.Stop()).To(Succeed())
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
