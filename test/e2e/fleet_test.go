package e2e

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

var _ = Describe("A TenantClass rollout on a real control plane", Label("fleet"), func() {
	It("moves 20 Tenants to a new app image in batches of maxUnavailable, seen by sampling their Deployments", func() {
		const (
			tenants   = 20
			batch     = 5 // 25% of 20
			oldImage  = "registry.example.com/shop/app:1.5.0"
			newImage  = "registry.example.com/shop/app:1.6.0"
			sampleGap = 200 * time.Millisecond
		)
		class := &silov1.TenantClass{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-fleet-" + runID},
			Spec: silov1.TenantClassSpec{
				Template: silov1.TenantSpec{App: silov1.AppSpec{Image: oldImage, Replicas: ptr.To[int32](1)}},
				Rollout:  silov1.RolloutSpec{MaxUnavailable: ptr.To(intstr.FromString("25%"))},
			},
		}
		Expect(k8s.Create(ctx, class)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, class))).To(Succeed()) })
		var list []*silov1.Tenant
		for i := range tenants {
			t := &silov1.Tenant{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e2e-fleet-%s-%02d", runID, i)},
				Spec:       silov1.TenantSpec{Class: class.Name},
			}
			create(t)
			list = append(list, t)
		}
		for _, t := range list {
			waitReady(t)
		}

		// Sample the app Deployments from outside: how many run the new image, and how
		// many are mid-rollout (new image, not yet rolled out and available).
		var (
			mu                  sync.Mutex
			maxMoving, partials int
		)
		sample := func() (onNew int) {
			moving := 0
			for _, t := range list {
				d := &appsv1.Deployment{}
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: appDeployment}, d); err != nil {
					continue
				}
				if d.Spec.Template.Spec.Containers[0].Image != newImage {
					continue
				}
				onNew++
				want := ptr.Deref(d.Spec.Replicas, 1)
				if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want || d.Status.AvailableReplicas < want {
					moving++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			maxMoving = max(maxMoving, moving)
			if onNew > 0 && onNew < tenants {
				partials++
			}
			return onNew
		}
		patch := fmt.Sprintf(`{"spec":{"template":{"app":{"image":%q}}}}`, newImage)
		Expect(k8s.Patch(ctx, class, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(sample()).To(Equal(tenants))
			got := &silov1.TenantClass{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(class), got)).To(Succeed())
			g.Expect(got.Status.Updated).To(BeNumerically("==", tenants))
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, silov1.ReadyCondition)).To(BeTrue())
		}).WithTimeout(5 * time.Minute).WithPolling(sampleGap).Should(Succeed())

		Expect(maxMoving).To(BeNumerically("<=", batch), "more Tenants than maxUnavailable were mid-rollout at once")
		Expect(partials).To(BeNumerically(">", 0), "every Tenant moved at once: no batches were seen")
		for _, t := range list {
			waitReady(t)
		}
	})
})
