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
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

var (
	env      *testenv.Env
	k8s      client.Client
	mgr      *testenv.Manager
	ctx      = context.Background()
	opConfig = controllers.DefaultConfig()
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
	mgr, err = testenv.StartManager(env.Config, opConfig, 4)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if mgr != nil {
		Expect(mgr.Stop()).To(Succeed())
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
