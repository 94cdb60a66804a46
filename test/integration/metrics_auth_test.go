package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

var _ = Describe("The metrics endpoint's authentication", func() {
	It("serves HTTPS only to callers the API server authenticates and authorizes for GET /metrics, with the operator's generated RBAC", func() {
		// The operator as its ServiceAccount, with config/rbac/role.yaml only: the
		// endpoint's TokenReviews and SubjectAccessReviews must be in it.
		Expect(testenv.GrantOperatorRBAC(ctx, k8s)).To(Succeed())
		opCfg, err := env.OperatorConfig()
		Expect(err).NotTo(HaveOccurred())
		addr := freeAddress()
		m, err := testenv.StartManagerWithOptions(opCfg, opConfig, 1, ctrl.Options{
			Metrics:                controllers.MetricsOptions(addr, true, ""),
			HealthProbeBindAddress: "0",
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(m.Stop)

		// A monitoring system's ServiceAccount bound to config/rbac's metrics-reader
		// ClusterRole, and one that is not.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("monitoring")}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		objs, err := testenv.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(objs).To(HaveLen(1))
		reader := objs[0]
		Expect(k8s.Create(ctx, reader)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, reader) })
		Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns.Name + "-prometheus"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.GetName()},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns.Name, Name: "prometheus"}},
		})).To(Succeed())
		prometheus, stranger := tokenOf(ns.Name, "prometheus"), tokenOf(ns.Name, "stranger")

		url := "https://" + addr + "/metrics"
		Eventually(func() (int, error) { code, _, err := scrapeAs(url, ""); return code, err }).
			Should(Equal(http.StatusUnauthorized), "an unauthenticated scrape")
		code, _, err := scrapeAs(url, stranger)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden), "a ServiceAccount without the metrics-reader role")
		code, body, err := scrapeAs(url, prometheus)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK), "the monitoring system's ServiceAccount: %s", body)
		Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))

		// Plain HTTP is not served on the port.
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			defer resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest), "an HTTPS port answers plain HTTP with 400")
		}
	})
})

// freeAddress returns a loopback address with a port nothing listens on.
func freeAddress() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// tokenOf creates the ServiceAccount name in namespace and returns a token for it.
func tokenOf(namespace, name string) string {
	GinkgoHelper()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	_, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

// scrapeAs GETs url over TLS (the endpoint's certificate is self-signed) with token as
// bearer ("" for none), and returns the status code and body.
func scrapeAs(url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the endpoint's certificate is self-signed; the test checks authentication, not the certificate
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
