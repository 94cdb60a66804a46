package integration

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

const (
	imageV1 = "registry.example.com/shop/app:1.5.0"
	imageV2 = "registry.example.com/shop/app:1.6.0"
)

// fleet is a class and its Tenants, created and settled on the class's first revision.
type fleet struct {
	class   string
	tenants []string
}

// newFleet creates a class (changed by mutate) and n Tenants of it, and waits until
// every Tenant is Ready on the class's first revision.
func newFleet(prefix string, n int, mutate func(c *silov1.TenantClass)) *fleet {
	ensureOperatorNamespace()
	c := newClass(uniqueName(prefix))
	c.Spec.Template.App.Image = imageV1
	if mutate != nil {
		mutate(c)
	}
	Expect(k8s.Create(ctx, c)).To(Succeed())
	f := &fleet{class: c.Name}
	for i := range n {
		t := &silov1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-t%d", c.Name, i)},
			Spec:       silov1.TenantSpec{Class: c.Name},
		}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		f.tenants = append(f.tenants, t.Name)
	}
	for _, name := range f.tenants {
		waitSettled(name)
	}
	Eventually(func(g Gomega) {
		st := f.status(g)
		g.Expect(st.Updated).To(BeNumerically("==", n))
		g.Expect(st.Ready).To(BeNumerically("==", n))
	}).Should(Succeed())
	return f
}

func (f *fleet) status(g Gomega) silov1.TenantClassStatus {
	c := &silov1.TenantClass{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: f.class}, c)).To(Succeed())
	return c.Status
}

// update changes the class.
func (f *fleet) update(mutate func(c *silov1.TenantClass)) {
	Eventually(func() error {
		c := &silov1.TenantClass{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: f.class}, c); err != nil {
			return err
		}
		mutate(c)
		return k8s.Update(ctx, c)
	}).Should(Succeed())
}

// poke makes the class controller look again (after the fake clock moved).
func (f *fleet) poke() {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"test.silo.dev/poke":"%d"}}}`, time.Now().UnixNano())
	Expect(k8s.Patch(ctx, &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: f.class}},
		client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// onImage returns the Tenants whose app Deployment runs image, sorted.
func (f *fleet) onImage(g Gomega, image string) []string {
	var out []string
	for _, name := range f.tenants {
		d := &appsv1.Deployment{}
		g.Expect(get(d, "tenant-"+name, controllers.AppName)).To(Succeed())
		if d.Spec.Template.Spec.Containers[0].Image == image {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// appReady reports whether the Tenant's app Deployment reports its current spec ready.
func appReady(g Gomega, name string) bool {
	d := &appsv1.Deployment{}
	g.Expect(get(d, "tenant-"+name, controllers.AppName)).To(Succeed())
	return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == ptr.Deref(d.Spec.Replicas, 1) &&
		d.Status.ReadyReplicas == ptr.Deref(d.Spec.Replicas, 1)
}

// settleOne plays the workload controllers for one Tenant and waits until it is Ready
// on the class's current revision.
func (f *fleet) settleOne(name string) {
	Eventually(func(g Gomega) {
		t := &silov1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		settleWorkloads(g, t)
		g.Expect(t.Status.ClassRevision).To(Equal(f.status(g).Revision))
		g.Expect(meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition)).To(BeTrue())
	}).Should(Succeed())
}

var _ = Describe("TenantClass rollouts", func() {
	It("moves 5 Tenants one at a time with maxUnavailable 1: one new app image until it is ready, in name order", func() {
		f := newFleet("batch", 5, nil)
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })

		var order []string
		for step := range 5 {
			var moved []string
			Eventually(func(g Gomega) {
				moved = f.onImage(g, imageV2)
				g.Expect(moved).To(HaveLen(step + 1))
			}).Should(Succeed())
			newest := ""
			for _, m := range moved {
				if !contains(order, m) {
					newest = m
				}
			}
			order = append(order, newest)
			Consistently(func(g Gomega) {
				g.Expect(f.onImage(g, imageV2)).To(HaveLen(step+1), "a Tenant moved before %s was ready", newest)
				g.Expect(appReady(g, newest)).To(BeFalse())
			}, "1500ms", "100ms").Should(Succeed())
			f.settleOne(newest)
		}
		Expect(order).To(Equal(f.tenants), "Tenants move by name")
		Eventually(func(g Gomega) {
			st := f.status(g)
			g.Expect(st.Updated).To(BeNumerically("==", 5))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, silov1.ReadyCondition)).To(BeTrue())
			g.Expect(meta.IsStatusConditionFalse(st.Conditions, silov1.ProgressingCondition)).To(BeTrue())
		}).Should(Succeed())
	})

	It("moves canaries first", func() {
		f := newFleet("canary", 3, nil)
		last := f.tenants[2]
		Expect(k8s.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: last}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"silo.dev/canary":"true"}}}`)))).To(Succeed())
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal([]string{last})) }).Should(Succeed())
		f.settleOne(last)
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(HaveLen(2)) }).Should(Succeed())
		Expect(f.onImage(Default, imageV2)).To(ContainElement(f.tenants[0]), "after the canary, by name")
	})

	It("pauses after maxFailures when a Tenant never becomes ready, and lists it", func() {
		f := newFleet("failing", 3, func(c *silov1.TenantClass) {
			c.Spec.Rollout.ProgressDeadlineSeconds = ptr.To(int32(60))
			c.Spec.Rollout.MaxFailures = ptr.To(int32(1))
		})
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[:1])) }).Should(Succeed())

		fakeClock.Step(61 * time.Second)
		f.poke()
		Eventually(func(g Gomega) {
			st := f.status(g)
			g.Expect(st.Failed).To(Equal(f.tenants[:1]))
			paused := meta.FindStatusCondition(st.Conditions, silov1.PausedCondition)
			g.Expect(paused).NotTo(BeNil())
			g.Expect(paused.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(paused.Reason).To(Equal(silov1.TooManyFailuresReason))
			g.Expect(paused.Message).To(ContainSubstring(f.tenants[0]))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(HaveLen(1)) }, "1500ms", "100ms").Should(Succeed())

		By("the failed Tenant recovering, the rollout resumes")
		f.settleOne(f.tenants[0])
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(HaveLen(2)) }).Should(Succeed())
	})

	It("moves nobody while paused by hand, and resumes when un-paused", func() {
		f := newFleet("paused", 2, nil)
		f.update(func(c *silov1.TenantClass) {
			c.Spec.Rollout.Paused = true
			c.Spec.Template.App.Image = imageV2
		})
		Eventually(func(g Gomega) {
			paused := meta.FindStatusCondition(f.status(g).Conditions, silov1.PausedCondition)
			g.Expect(paused).NotTo(BeNil())
			g.Expect(paused.Reason).To(Equal(silov1.ManualReason))
			g.Expect(paused.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(BeEmpty()) }, "1500ms", "100ms").Should(Succeed())

		f.update(func(c *silov1.TenantClass) { c.Spec.Rollout.Paused = false })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[:1])) }).Should(Succeed())
	})

	It("loses no progress and moves no extra Tenant across an operator restart; unmoved Tenants keep their revision exactly", func() {
		f := newFleet("restart", 3, nil)
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[:1])) }).Should(Succeed())
		before := map[string]string{}
		for _, name := range f.tenants[1:] {
			d := &appsv1.Deployment{}
			Expect(get(d, "tenant-"+name, controllers.AppName)).To(Succeed())
			before[name] = d.ResourceVersion
		}

		By("restarting the operator")
		restartOperator(nil)

		Consistently(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[:1])) }, "2s", "100ms").Should(Succeed())
		for _, name := range f.tenants[1:] {
			d := &appsv1.Deployment{}
			Expect(get(d, "tenant-"+name, controllers.AppName)).To(Succeed())
			Expect(d.ResourceVersion).To(Equal(before[name]), "the app of %s, which has not moved, was written", name)
		}
		f.settleOne(f.tenants[0])
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[:2])) }).Should(Succeed())
	})

	It("keeps a Tenant with classUpdatePolicy Manual on its revision, counted as held", func() {
		f := newFleet("held", 2, nil)
		mutateTenant(f.tenants[0], func(t *silov1.Tenant) { t.Spec.ClassUpdatePolicy = silov1.ClassUpdateManual })
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(Equal(f.tenants[1:])) }).Should(Succeed())
		f.settleOne(f.tenants[1])
		Eventually(func(g Gomega) {
			st := f.status(g)
			g.Expect(st.Held).To(BeNumerically("==", 1))
			g.Expect(meta.IsStatusConditionFalse(st.Conditions, silov1.ProgressingCondition)).To(BeTrue())
		}).Should(Succeed())
		Expect(f.onImage(Default, imageV1)).To(Equal(f.tenants[:1]))

		mutateTenant(f.tenants[0], func(t *silov1.Tenant) { t.Spec.ClassUpdatePolicy = silov1.ClassUpdateAutomatic })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(HaveLen(2)) }).Should(Succeed())
	})

	It("moves a suspended Tenant without waiting for it", func() {
		f := newFleet("suspended", 2, nil)
		mutateTenant(f.tenants[0], func(t *silov1.Tenant) { t.Spec.Suspend = true })
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		Eventually(func(g Gomega) { g.Expect(f.onImage(g, imageV2)).To(HaveLen(2)) }).Should(Succeed(),
			"the suspended Tenant took no slot, so the other one moved too")
	})

	It("lets a Tenant's own fields win over its class, and a Tenant without a class is unchanged by classes", func() {
		f := newFleet("merge", 1, func(c *silov1.TenantClass) {
			c.Spec.Template.App.Replicas = ptr.To(int32(2))
			c.Spec.Template.App.Env = []corev1.EnvVar{{Name: "TIER", Value: "standard"}}
		})
		mutateTenant(f.tenants[0], func(t *silov1.Tenant) {
			t.Spec.App.Env = []corev1.EnvVar{{Name: "TIER", Value: "gold"}}
		})
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(get(d, "tenant-"+f.tenants[0], controllers.AppName)).To(Succeed())
			g.Expect(d.Spec.Replicas).To(Equal(ptr.To(int32(2))), "from the class")
			g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(Equal([]corev1.EnvVar{{Name: "TIER", Value: "gold"}}), "the Tenant's list replaces the class's")
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(imageV1))
		}).Should(Succeed())
		t := &silov1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: f.tenants[0]}, t)).To(Succeed())
		Expect(t.Status.Class).To(Equal(f.class))
		Expect(t.Status.ClassRevision).To(Equal(f.status(Default).Revision))
	})
})

var _ = Describe("kubectl get tenantclasses", func() {
	It("shows the Revision, Tenants, Updated, Ready, Paused and Age columns", func() {
		f := newFleet("table", 1, nil)
		cs, err := kubernetes.NewForConfig(env.Config)
		Expect(err).NotTo(HaveOccurred())
		raw, err := cs.RESTClient().Get().AbsPath("/apis/silo.dev/v1alpha1/tenantclasses").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		table := &metav1.Table{}
		Expect(json.Unmarshal(raw, table)).To(Succeed())
		var names []string
		for _, c := range table.ColumnDefinitions {
			names = append(names, c.Name)
		}
		Expect(names).To(Equal([]string{"Name", "Revision", "Tenants", "Updated", "Ready", "Paused", "Age"}))
		var row []any
		for _, r := range table.Rows {
			if r.Cells[0] == f.class {
				row = r.Cells
			}
		}
		Expect(row).NotTo(BeNil())
		Expect(row[1]).To(Equal(f.status(Default).Revision))
		Expect(row[2:6]).To(Equal([]any{float64(1), float64(1), float64(1), "False"}))
	})
})

var _ = Describe("A Tenant's class", func() {
	It("is Degraded ClassNotFound and creates nothing when its class does not exist, until it does", func() {
		name := uniqueName("orphan")
		t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: silov1.TenantSpec{Class: name + "-class"}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			degraded := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
			g.Expect(degraded).NotTo(BeNil())
			g.Expect(degraded.Reason).To(Equal(silov1.ClassNotFoundReason))
			g.Expect(degraded.Message).To(ContainSubstring(`TenantClass "` + name + `-class" does not exist`))
		}).Should(Succeed())
		Expect(isNotFound(get(&corev1.Namespace{}, "", controllers.NamespaceFor(t)))).To(BeTrue(), "nothing is created")

		c := newClass(name + "-class")
		Expect(k8s.Create(ctx, c)).To(Succeed())
		waitSettled(name)
	})

	It("is Degraded with a message when neither it nor its class gives an image", func() {
		name := uniqueName("noimage")
		c := newClass(name + "-class")
		c.Spec.Template.App.Image = ""
		Expect(k8s.Create(ctx, c)).To(Succeed())
		t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: silov1.TenantSpec{Class: c.Name}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			degraded := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
			g.Expect(degraded).NotTo(BeNil())
			g.Expect(degraded.Reason).To(Equal(silov1.IncompleteSpecReason))
			g.Expect(degraded.Message).To(ContainSubstring("gives app.image"))
		}).Should(Succeed())
		By("the Tenant giving its own image (the positive control)")
		mutateTenant(name, func(t *silov1.Tenant) { t.Spec.App.Image = imageV1 })
		waitSettled(name)
	})
})

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
