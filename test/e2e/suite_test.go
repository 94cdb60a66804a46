// Package e2e proves Silo as a user gets it: the Helm chart installed by a real helm
// on a local cluster (real kube-apiserver, etcd, kube-controller-manager and
// kube-scheduler; kwok fake nodes, so pods are simulated and no container runs), and
// the operator running as the chart's ServiceAccount with the chart's flags.
//
// Run it with `make test-e2e`. The suite starts the local cluster itself when it is
// not running (hack/local-cluster.sh up), installs the chart, and starts the operator
// (hack/local-operator.sh, which stops an operator `make demo` started).
//
// Specs labelled "workloads" need the component workloads (Deployments, PVCs,
// Secrets) in the operator; `-ginkgo.label-filter='!workloads'` runs the others.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

const (
	// operatorNamespace, release and serviceAccount are where and as whom the chart
	// installs the operator.
	operatorNamespace = "silo-system"
	release           = "silo"
	serviceAccount    = "silo"
	// pool is the dedicated node pool hack/local-cluster.sh creates.
	pool = "dedicated"
)

var (
	ctx        = context.Background()
	root       = testenv.RepoRoot()
	kubeconfig string
	helmBin    string
	restCfg    *rest.Config
	k8s        client.Client
	// runID keeps this run's Tenants apart from those of an earlier run on the same
	// cluster (a retained namespace would otherwise be adopted).
	runID = rand.String(4)
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "End to end (local cluster, simulated pods)")
}

var _ = BeforeSuite(func() {
	kubeconfig = os.Getenv("SILO_E2E_KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = filepath.Join(root, ".cache", "local-cluster", "kubeconfig")
	}
	out, err := run("hack/k8s-binaries.sh", "cluster")
	Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	helmBin = filepath.Join(lines[len(lines)-1], "helm")

	if _, err := exec.LookPath("kubectl"); err != nil {
		By("building kubectl from the Go module proxy: none is on PATH")
		out, err := run("hack/k8s-binaries.sh", "kubectl")
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(os.Setenv("PATH", lines[len(lines)-1]+string(os.PathListSeparator)+os.Getenv("PATH"))).To(Succeed())
	}
	if _, err := run("kubectl", "get", "--raw", "/readyz"); err != nil {
		By("starting the local cluster")
		_, err := run("hack/local-cluster.sh", "up")
		Expect(err).NotTo(HaveOccurred())
	}
	restCfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	sch := controllers.NewScheme()
	Expect(apiextensionsv1.AddToScheme(sch)).To(Succeed())
	k8s, err = client.New(restCfg, client.Options{Scheme: sch})
	Expect(err).NotTo(HaveOccurred())

	installChart()
	startOperator()
})

var _ = AfterSuite(func() {
	if kubeconfig != "" {
		_, err := run("hack/local-operator.sh", "stop")
		Expect(err).NotTo(HaveOccurred())
	}
})

// installChart installs (or upgrades) the chart into a namespace that enforces the
// restricted Pod Security Standard, so the operator's pod is admitted only if the
// chart's security context is restricted.
func installChart() {
	By("installing the chart with helm")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}
	err := k8s.Create(ctx, ns)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ns), ns)).To(Succeed())
	before := ns.DeepCopy()
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	Expect(k8s.Patch(ctx, ns, client.MergeFrom(before))).To(Succeed())

	_, err = helm("upgrade", "--install", release, "charts/silo", "-n", operatorNamespace,
		"-f", "hack/demo/values.yaml", "--wait", "--timeout", "2m")
	Expect(err).NotTo(HaveOccurred())
}

// startOperator (re)starts the operator on this machine as the chart's ServiceAccount.
func startOperator() {
	By("starting the operator as system:serviceaccount:" + operatorNamespace + ":" + serviceAccount)
	_, err := run("hack/local-operator.sh", "start")
	Expect(err).NotTo(HaveOccurred())
}

// run runs a command in the repository root against the local cluster and returns
// its stdout; the error carries stderr.
func run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, GinkgoWriter)
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// helm runs the helm the repository builds (hack/k8s-binaries.sh).
func helm(args ...string) (string, error) { return run(helmBin, args...) }
