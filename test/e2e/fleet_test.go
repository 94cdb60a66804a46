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
	It("moves 20 Tenants to a new app image in batches of maxUnavailable, seen by watching their Deployments", func() {
		const (
			tenants  = 20
			batch    = 5 // 25% of 20
			oldImage = "registry.example.com/shop/app:1.5.0"
			newImage = "registry.example.com/shop/app:1.6.0"
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

		// Watch the app Deployments from outside, every change in the order the API
		// server made it (a watch misses no state, where sampling could): how many
		// run the new image, and how many are mid-rollout (new image, not yet rolled
		// out and available).
		namespaces := map[string]bool{}
		for _, t := range list {
			namespaces[ns(t)] = true
		}
		wc, err := client.NewWithWatch(restCfg, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, &appsv1.DeploymentList{}, client.MatchingLabels{silov1.ComponentLabel: appDeployment})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)
		var (
			mu sync.Mutex
			// onNew and moving are the Deployments on the new image, and those of
			// them not rolled out yet.
			onNew, moving = map[string]bool{}, map[string]bool{}
			maxMoving     int
			// startedAfterADone counts Deployments that took the new image after
			// another had finished rolling out to it: a later batch.
			startedAfterADone int
		)
		go func() {
			defer GinkgoRecover()
			for ev := range w.ResultChan() {
				d, ok := ev.Object.(*appsv1.Deployment)
				if !ok || !namespaces[d.Namespace] {
					continue
				}
				mu.Lock()
				isNew := d.Spec.Template.Spec.Containers[0].Image == newImage
				want := ptr.Deref(d.Spec.Replicas, 1)
				rolling := isNew && (d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want ||
					d.Status.Replicas > d.Status.UpdatedReplicas || d.Status.AvailableReplicas < want)
				if isNew && !onNew[d.Namespace] && len(onNew) > len(moving) {
					startedAfterADone++
				}
				if isNew {
					onNew[d.Namespace] = true
				}
				if rolling {
					moving[d.Namespace] = true
				} else {
					delete(moving, d.Namespace)
				}
				maxMoving = max(maxMoving, len(moving))
				mu.Unlock()
			}
		}()
		patch := fmt.Sprintf(`{"spec":{"template":{"app":{"image":%q}}}}`, newImage)
		Expect(k8s.Patch(ctx, class, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		Eventually(func(g Gomega) {
			mu.Lock()
			nNew, nMoving := len(onNew), len(moving)
			mu.Unlock()
			g.Expect(nNew).To(Equal(tenants))
			g.Expect(nMoving).To(BeZero())
			got := &silov1.TenantClass{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(class), got)).To(Succeed())
			g.Expect(got.Status.Updated).To(BeNumerically("==", tenants))
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, silov1.ReadyCondition)).To(BeTrue())
		}).WithTimeout(5 * time.Minute).Should(Succeed())

		mu.Lock()
		defer mu.Unlock()
		Expect(maxMoving).To(BeNumerically("<=", batch), "more Tenants than maxUnavailable were mid-rollout at once")
		Expect(startedAfterADone).To(BeNumerically(">=", tenants-batch),
			"Tenants beyond the first batch took the new image before any earlier one had rolled out to it")
		for _, t := range list {
			waitReady(t)
		}
	})
})
