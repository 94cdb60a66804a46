package integration

import (
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

var tenantSeq atomic.Int32

// uniqueName returns a fresh tenant name, so specs never share state.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, tenantSeq.Add(1))
}

// newTenant returns a minimal valid Tenant.
func newTenant(name string) *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantSpec{
			App: silov1.AppSpec{Image: "registry.example.com/shop/app:1.4.2"},
		},
	}
}

// createTenant creates t and waits until the controller has reconciled its spec.
func createTenant(t *silov1.Tenant) *silov1.Tenant {
	Expect(k8s.Create(ctx, t)).To(Succeed())
	return waitReconciled(t.Name)
}

// waitReconciled waits until status.observedGeneration reaches the Tenant's generation.
func waitReconciled(name string) *silov1.Tenant {
	t := &silov1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
		g.Expect(meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)).NotTo(BeNil())
	}).Should(Succeed())
	return t
}

// get reads obj by name and namespace.
func get(obj client.Object, namespace, name string) error {
	return k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
}

// isForbidden matches an error the API server returned because RBAC refused it.
func isForbidden(err error) bool { return apierrors.IsForbidden(err) }

// isNotFound matches a NotFound error.
func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// metaItems returns the items of a typed list as objects.
func metaItems(list client.ObjectList) ([]client.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(client.Object))
	}
	return out, nil
}

// waitSettled waits until the controller has nothing left to do for the Tenant: its
// spec is reconciled and it is no longer Progressing. It plays the workload
// controllers envtest lacks, so the Tenant's components become ready.
func waitSettled(name string) *silov1.Tenant {
	t := &silov1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		settleWorkloads(g, t)
		g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
		g.Expect(meta.IsStatusConditionFalse(t.Status.Conditions, silov1.ProgressingCondition)).To(BeTrue(),
			"still progressing: %v", t.Status.Conditions)
	}).Should(Succeed())
	return t
}

// poke changes an annotation of the Tenant, which makes the controller reconcile it
// without a spec change.
func poke(t *silov1.Tenant, value string) {
	patch := []byte(`{"metadata":{"annotations":{"test.silo.dev/poke":"` + value + `"}}}`)
	Expect(k8s.Patch(ctx, t, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// updateTenant changes the Tenant's spec with mutate, retrying when the controller
// wrote its status in between.
func updateTenant(name string, mutate func(t *silov1.Tenant)) *silov1.Tenant {
	t := &silov1.Tenant{}
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
			return err
		}
		mutate(t)
		return k8s.Update(ctx, t)
	})).To(Succeed())
	return t
}

// restartOperator stops the operator, runs whileStopped (if any), and starts a new
// one with the same configuration; the suite keeps a running operator even if the
// spec fails half-way.
func restartOperator(whileStopped func()) {
	Expect(mgr.Stop()).To(Succeed())
	stopped := mgr
	DeferCleanup(func() {
		if mgr == stopped {
			var err error
			mgr, err = startOperator()
			Expect(err).NotTo(HaveOccurred())
		}
	})
	if whileStopped != nil {
		whileStopped()
	}
	var err error
	mgr, err = startOperator()
	Expect(err).NotTo(HaveOccurred())
}
