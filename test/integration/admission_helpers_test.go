package integration

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// refuseInNamespace installs, for the rest of the spec, a ValidatingAdmissionPolicy
// that refuses every create and update of resource (in group) in namespace ns, the
// operator's included, and waits until the API server enforces it with probe (a
// dry-run request the policy must refuse). It plays an admission webhook or a
// platform policy that makes one child impossible to write.
func refuseInNamespace(name, group, resource, ns string, probe func() error) {
	GinkgoHelper()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: `object.metadata.?namespace.orValue("") != "` + ns + `" && object.metadata.name != "` + ns + `"`,
				Message:    "refused by the test policy " + name,
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	Expect(k8s.Create(ctx, policy)).To(Succeed())
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func() { liftPolicy(name) })
	Eventually(func() string {
		if err := probe(); err != nil {
			return err.Error()
		}
		return ""
	}).Should(ContainSubstring("refused by the test policy "+name), "the policy %s is not enforced", name)
}

// liftPolicy removes a policy installed by refuseInNamespace.
func liftPolicy(name string) {
	_ = client.IgnoreNotFound(k8s.Delete(ctx, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	_ = client.IgnoreNotFound(k8s.Delete(ctx, &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}))
}

// tenantWrites counts the write requests the operator sent about one Tenant: to its
// namespace, to anything in it, and to the Tenant itself (status included). Other
// specs' Tenants, leases and events are left out.
func tenantWrites(t *silov1.Tenant) int {
	ns := "/namespaces/" + controllers.NamespaceFor(t)
	n := 0
	for k, c := range mgr.Requests.Snapshot() {
		verb, path, _ := strings.Cut(k, " ")
		switch verb {
		case "POST", "PUT", "PATCH", "DELETE":
		default:
			continue
		}
		if strings.Contains(path, "/events") {
			continue
		}
		if strings.Contains(path, ns+"/") || strings.HasSuffix(path, ns) || strings.Contains(path, "/tenants/"+t.Name) {
			n += c
		}
	}
	return n
}

// reconcileAgain makes the controller reconcile the Tenant again, count times, each
// time waiting until it has.
func reconcileAgain(t *silov1.Tenant, count int) {
	GinkgoHelper()
	for i := range count {
		before := reconcileCount()
		poke(t, t.Name+"-"+string(rune('a'+i)))
		Eventually(reconcileCount).Should(BeNumerically(">", before))
	}
}
