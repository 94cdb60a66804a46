package conformance

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// check declares one conformance check: a spec labelled with its MTB or Silo id,
// which the summary table prints.
func check(id, description string, body func()) bool {
	return It(description, Label(id), body)
}

// expectPolicyRefusal asserts err is the API server refusing a request through the
// ValidatingAdmissionPolicy policy, with a message containing each of says.
func expectPolicyRefusal(err error, policy string, says ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the request was admitted; want a refusal by policy %s", policy)
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 Forbidden, got: %v", err)
	Expect(err.Error()).To(ContainSubstring("ValidatingAdmissionPolicy '%s'", policy))
	for _, s := range says {
		Expect(err.Error()).To(ContainSubstring(s))
	}
}

// expectRBACRefusal asserts err is RBAC refusing a request, with a message containing
// each of says (typically the resource and the scope).
func expectRBACRefusal(err error, says ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the request was admitted; want RBAC to refuse it")
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 Forbidden, got: %v", err)
	Expect(err.Error()).NotTo(ContainSubstring("ValidatingAdmissionPolicy"), "want RBAC, not admission, to refuse it")
	for _, s := range says {
		Expect(err.Error()).To(ContainSubstring(s))
	}
}

// expectPodSecurityRefusal asserts err is Pod Security admission refusing a pod at
// the restricted level, for the reason given.
func expectPodSecurityRefusal(err error, reason string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the pod was admitted; want Pod Security to refuse it")
	Expect(err.Error()).To(ContainSubstring(`violates PodSecurity "restricted:latest"`))
	Expect(err.Error()).To(ContainSubstring(reason))
}

// restrictedPod returns a pod that passes the restricted Pod Security Standard and
// nothing more: no placement.
func restrictedPod(namespace, name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(1000)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{Name: "app", Image: image, SecurityContext: restrictedContainer()}},
		},
	}
}

// restrictedContainer is a container security context the restricted level accepts.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// podInA returns a pod that keeps every one of tenant A's rules: its registry, node
// pool (selected and tolerated), runtime class and region.
func podInA(name string) *corev1.Pod {
	pod := restrictedPod(nsA, name, imageA)
	pod.Spec.NodeSelector = map[string]string{
		silov1.NodePoolLabel:       poolA,
		corev1.LabelTopologyRegion: regionA,
	}
	pod.Spec.Tolerations = []corev1.Toleration{{
		Key: silov1.NodePoolLabel, Operator: corev1.TolerationOpEqual, Value: poolA, Effect: corev1.TaintEffectNoSchedule,
	}}
	pod.Spec.RuntimeClassName = ptr.To(runtimeA)
	return pod
}

// regionAffinity is a required node affinity with one term on region In values.
func regionAffinity(values ...string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelTopologyRegion, Operator: corev1.NodeSelectorOpIn, Values: values,
			}},
		}}},
	}}
}

// stopOperatorUntilCleanup stops the operator the suite runs and starts it again when
// the current container's cleanup runs: checks after it prove the guardrails are the
// API server's. Call it in a BeforeAll.
func stopOperatorUntilCleanup() {
	GinkgoHelper()
	Expect(operator.Stop()).To(Succeed())
	DeferCleanup(func() {
		var err error
		operator, err = env.StartOperator(ctx, opConfig, 2)
		Expect(err).NotTo(HaveOccurred())
	})
}
