package e2e

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/test/testenv"
)

var _ = Describe("The real SaaS app sample", Label("tenants", "workloads"), func() {
	It("applies as written (its pull Secret and database Secret in the operator's namespace) and becomes Ready, pods pulling with the copied Secret as the workload ServiceAccount", func() {
		objs, err := testenv.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "samples", "silo_v1alpha1_tenant_saas.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var t *silov1.Tenant
		for _, o := range objs {
			if o.GetKind() == "Tenant" {
				t = &silov1.Tenant{}
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, t)).To(Succeed())
				continue
			}
			Expect(o.GetNamespace()).To(Equal(operatorNamespace), "the sample's Secrets belong in the operator's namespace")
			// make demo applies the samples too: what it applied stays as it was.
			if err := k8s.Create(ctx, o); !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred(), "%s %s", o.GetKind(), o.GetName())
				DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, o))).To(Succeed()) })
			}
		}
		Expect(t).NotTo(BeNil(), "the sample has no Tenant")
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{}); apierrors.IsNotFound(err) {
			create(t)
		} else {
			Expect(err).NotTo(HaveOccurred())
			By("checking the Tenant make demo applied from the same sample")
		}
		waitReady(t)

		pods := appPods(t, 2)
		for _, p := range pods {
			Expect(p.Spec.ServiceAccountName).To(Equal("tenant-workload"))
			Expect(p.Spec.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "hooli-registry"}}))
			Expect(p.Spec.Containers[0].ReadinessProbe.HTTPGet.Path).To(Equal("/healthz"))
		}
		copied := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: "hooli-registry"}, copied)).To(Succeed())
		Expect(copied.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
	})
})
