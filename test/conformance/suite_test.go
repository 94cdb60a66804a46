// Package conformance proves Silo's isolation the way a security reviewer checks it:
// the Kubernetes Multi-Tenancy Benchmark (MTB) profile level 1 checks that apply,
// plus Silo's own guardrails, as requests of real non-admin users against a real
// kube-apiserver (envtest) with the operator running as its ServiceAccount and only
// the RBAC `make manifests` generates. Every check asserts why a request was refused
// (the RBAC rule, the Pod Security level or the admission policy), not only that it
// was. The suite ends with a table of checks and results.
package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	nodev1 "k8s.io/api/node/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// Tenant A is fenced as tightly as Silo can: a dedicated node pool, a sandboxed
// runtime class, a region, an image allow-list and an ingress host. Tenant B has
// none of these.
const (
	poolA     = "pool-a"
	regionA   = "eu-west-1"
	runtimeA  = "sandbox"
	registryA = "registry.example.com/"
	imageA    = "registry.example.com/shop/app:1.4.2"
	imageB    = "docker.io/library/busybox:1.37"
	hostA     = "a.shop.example.com"
)

var (
	// env is the envtest control plane; nil when the suite runs against an existing
	// cluster (SILO_CONFORMANCE_KUBECONFIG).
	env      *testenv.Env
	adminCfg *rest.Config
	admin    client.Client
	operator *testenv.Manager
	ctx      = context.Background()
	opConfig = conformanceConfig()

	tenantA, tenantB *silov1.Tenant
	nsA, nsB         string
	ownerA, ownerB   client.Client
	ownerACfg        *rest.Config
	ownerBCfg        *rest.Config

	// cleanups undo, at the end of a run against an existing cluster, what the suite
	// created there besides Tenants.
	cleanups []func()
)

// existingClusterEnv names the kubeconfig of an existing cluster to run against,
// with Silo (CRDs, policies, operator) already installed. Unset, the suite starts its
// own control plane.
const existingClusterEnv = "SILO_CONFORMANCE_KUBECONFIG"

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Multi-tenancy conformance")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	if path := os.Getenv(existingClusterEnv); path != "" {
		connectExistingCluster(path)
	} else {
		startEnvtest()
	}
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: runtimeA}, Handler: "runsc"}
	if err := admin.Create(ctx, rc); err == nil {
		cleanups = append(cleanups, func() { _ = admin.Delete(ctx, rc) })
	} else {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating RuntimeClass %s: %v", runtimeA, err)
	}

	a := newTenant("conformance-a", "owner-a@conformance.example")
	a.Spec.Isolation.NodePool = poolA
	a.Spec.Isolation.RuntimeClassName = runtimeA
	a.Spec.Isolation.AllowedRegistries = []string{registryA}
	a.Spec.Placement.Region = regionA
	a.Spec.App.Ingress = &silov1.IngressSpec{Host: hostA}
	tenantA = createTenant(a)
	tenantB = createTenant(newTenant("conformance-b", "owner-b@conformance.example"))
	nsA, nsB = controllers.NamespaceFor(tenantA), controllers.NamespaceFor(tenantB)
	var err error
	ownerA, ownerACfg, err = user("owner-a@conformance.example")
	Expect(err).NotTo(HaveOccurred())
	ownerB, ownerBCfg, err = user("owner-b@conformance.example")
	Expect(err).NotTo(HaveOccurred())
})

// startEnvtest starts a control plane, installs the policies and runs the operator
// as its ServiceAccount with only its generated RBAC.
func startEnvtest() {
	var err error
	env, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	adminCfg, admin = env.Config, env.Client
	Expect(env.InstallPolicies(ctx, testenv.PoliciesDir())).To(Succeed())
	configureAppPlatform(&opConfig.Platform)
	configureExportObjectStorage(&opConfig.Platform)
	operator, err = env.StartOperator(ctx, opConfig, 2)
	Expect(err).NotTo(HaveOccurred())
}

// connectExistingCluster uses the cluster of the kubeconfig at path, and checks that
// every policy and binding of config/policies is installed there.
func connectExistingCluster(path string) {
	var err error
	adminCfg, err = clientcmd.BuildConfigFromFlags("", path)
	Expect(err).NotTo(HaveOccurred())
	admin, err = client.New(adminCfg, client.Options{Scheme: controllers.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	files, err := filepath.Glob(filepath.Join(testenv.PoliciesDir(), "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		objs, err := testenv.ReadObjects(f)
		Expect(err).NotTo(HaveOccurred())
		for _, o := range objs {
			if o.GetKind() != "ValidatingAdmissionPolicy" && o.GetKind() != "ValidatingAdmissionPolicyBinding" {
				continue
			}
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy())).To(Succeed(),
				"%s %s is not installed: install Silo on the cluster first", o.GetKind(), o.GetName())
		}
	}
}

// user returns a client for a real non-admin user: on envtest, with a client
// certificate; on an existing cluster, by impersonation (the kubeconfig's user must
// be allowed to impersonate users and groups).
func user(name string, groups ...string) (client.Client, *rest.Config, error) {
	if env != nil {
		return env.User(name, groups...)
	}
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: name, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	return c, cfg, err
}

// onEnvtest skips a check that needs the suite's own control plane.
func onEnvtest(why string) {
	if env == nil {
		Skip("runs on envtest only: " + why)
	}
}

var _ = AfterSuite(func() {
	if env == nil {
		for _, t := range []*silov1.Tenant{tenantA, tenantB} {
			if t != nil {
				_ = admin.Delete(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t.Name}})
			}
		}
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		return
	}
	if operator != nil {
		Expect(operator.Stop()).To(Succeed())
	}
	Expect(env.Stop()).To(Succeed())
})

// newTenant returns a Tenant with one owner.
func newTenant(name, owner string) *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantSpec{
			Owners: []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: owner}},
			App:    silov1.AppSpec{Image: imageA},
			// On an existing cluster, deleting the Tenant cleans up its namespace.
			DeletionPolicy: silov1.DeletionPolicyDelete,
		},
	}
}

// createTenant creates t as the platform admin and waits until the operator has
// built its namespace and fences.
func createTenant(t *silov1.Tenant) *silov1.Tenant {
	Expect(admin.Create(ctx, t)).To(Succeed())
	got := &silov1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(meta.FindStatusCondition(got.Status.Conditions, silov1.ReadyCondition)).NotTo(BeNil())
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: controllers.NamespaceFor(got), Name: controllers.OwnerRoleBindingName},
			&rbacv1.RoleBinding{})).To(Succeed())
	}).Should(Succeed())
	return got
}

// checkID finds a check's MTB or Silo id among its spec's labels.
var checkID = regexp.MustCompile(`^(MTB|SILO)-`)

// idOf returns the check id of a spec, or "-".
func idOf(s types.SpecReport) string {
	for _, l := range s.Labels() {
		if checkID.MatchString(l) {
			return l
		}
	}
	return "-"
}

// ReportAfterSuite prints the table of checks a reviewer reads: one row per spec,
// with its MTB or Silo id, what it proves, and its result.
var _ = ReportAfterSuite("conformance table", func(report Report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nMULTI-TENANCY CONFORMANCE")
	fmt.Fprintln(w, "ID\tCHECK\tRESULT")
	specs := report.SpecReports
	sort.SliceStable(specs, func(i, j int) bool { return idOf(specs[i]) < idOf(specs[j]) })
	passed, total, skipped := 0, 0, 0
	for _, s := range specs {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		id := idOf(s)
		result := strings.ToUpper(s.State.String())
		switch s.State {
		case types.SpecStateSkipped, types.SpecStatePending:
			skipped++
		case types.SpecStatePassed:
			passed++
			total++
			result = "PASS"
		default:
			total++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", id, s.LeafNodeText, result)
	}
	fmt.Fprintf(w, "%d of %d checks passed (%d not run)\n", passed, total, skipped)
	_ = w.Flush()
})
