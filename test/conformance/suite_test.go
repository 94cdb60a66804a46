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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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
	env      *testenv.Env
	admin    client.Client
	operator *testenv.Manager
	ctx      = context.Background()
	opConfig = controllers.DefaultConfig()

	tenantA, tenantB *silov1.Tenant
	nsA, nsB         string
	ownerA, ownerB   client.Client
	ownerACfg        *rest.Config
	ownerBCfg        *rest.Config
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Multi-tenancy conformance (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	env, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin = env.Client
	Expect(testenv.InstallPolicies(ctx, admin, testenv.PoliciesDir())).To(Succeed())
	Expect(admin.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: runtimeA}, Handler: "runsc"})).To(Succeed())
	operator, err = env.StartOperator(ctx, opConfig, 2)
	Expect(err).NotTo(HaveOccurred())

	a := newTenant("tenant-a", "owner-a@conformance.example")
	a.Spec.Isolation.NodePool = poolA
	a.Spec.Isolation.RuntimeClassName = runtimeA
	a.Spec.Isolation.AllowedRegistries = []string{registryA}
	a.Spec.Placement.Region = regionA
	a.Spec.App.Ingress = &silov1.IngressSpec{Host: hostA}
	tenantA = createTenant(a)
	tenantB = createTenant(newTenant("tenant-b", "owner-b@conformance.example"))
	nsA, nsB = controllers.NamespaceFor(tenantA), controllers.NamespaceFor(tenantB)
	ownerA, ownerACfg, err = env.User("owner-a@conformance.example")
	Expect(err).NotTo(HaveOccurred())
	ownerB, ownerBCfg, err = env.User("owner-b@conformance.example")
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if operator != nil {
		Expect(operator.Stop()).To(Succeed())
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// newTenant returns a Tenant with one owner.
func newTenant(name, owner string) *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantSpec{
			Owners: []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: owner}},
			App:    silov1.AppSpec{Image: imageA},
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
