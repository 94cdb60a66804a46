package integration

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/test/testenv"
)

// newClass returns a valid TenantClass giving an app image.
func newClass(name string) *silov1.TenantClass {
	return &silov1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantClassSpec{
			Template: silov1.TenantSpec{App: silov1.AppSpec{Image: "registry.example.com/shop/app:1.5.0"}},
		},
	}
}

var _ = Describe("TenantClass validation in the CRD", func() {
	refusedClass := func(c *silov1.TenantClass) string {
		err := k8s.Create(ctx, c, client.DryRunAll)
		ExpectWithOffset(1, err).To(HaveOccurred(), "the API server accepted an invalid TenantClass")
		ExpectWithOffset(1, apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		return err.Error()
	}

	DescribeTable("refuses fields that belong to one customer, and bad rollout settings, with a message",
		func(mutate func(c *silov1.TenantClass), want string) {
			c := newClass(uniqueName("bad-class"))
			mutate(c)
			Expect(refusedClass(c)).To(ContainSubstring(want))
		},
		Entry("owners", func(c *silov1.TenantClass) {
			c.Spec.Template.Owners = []silov1.Owner{{Kind: silov1.OwnerKindUser, Name: "carol"}}
		}, "template.owners is not allowed"),
		Entry("placement", func(c *silov1.TenantClass) { c.Spec.Template.Placement.Region = "eu-west-1" },
			"template.placement is not allowed"),
		Entry("suspend", func(c *silov1.TenantClass) { c.Spec.Template.Suspend = true },
			"template.suspend is not allowed"),
		Entry("deletionProtection", func(c *silov1.TenantClass) { c.Spec.Template.DeletionProtection = true },
			"template.deletionProtection is not allowed"),
		Entry("deletionPolicy", func(c *silov1.TenantClass) { c.Spec.Template.DeletionPolicy = silov1.DeletionPolicyDelete },
			"template.deletionPolicy is not allowed"),
		Entry("class", func(c *silov1.TenantClass) { c.Spec.Template.Class = "other" },
			"template.class and template.classUpdatePolicy are not allowed"),
		Entry("classUpdatePolicy", func(c *silov1.TenantClass) { c.Spec.Template.ClassUpdatePolicy = silov1.ClassUpdateManual },
			"template.class and template.classUpdatePolicy are not allowed"),
		Entry("maxUnavailable 0", func(c *silov1.TenantClass) { c.Spec.Rollout.MaxUnavailable = ptr.To(intstr.FromInt32(0)) },
			"rollout.maxUnavailable must be a number of Tenants of at least 1"),
		Entry("maxUnavailable 0%", func(c *silov1.TenantClass) { c.Spec.Rollout.MaxUnavailable = ptr.To(intstr.FromString("0%")) },
			"rollout.maxUnavailable must be a number of Tenants of at least 1"),
		Entry("maxUnavailable not a percentage", func(c *silov1.TenantClass) {
			c.Spec.Rollout.MaxUnavailable = ptr.To(intstr.FromString("ten"))
		}, "rollout.maxUnavailable must be a number of Tenants of at least 1"),
		Entry("progressDeadlineSeconds under 5", func(c *silov1.TenantClass) { c.Spec.Rollout.ProgressDeadlineSeconds = ptr.To(int32(4)) },
			"spec.rollout.progressDeadlineSeconds"),
		Entry("maxFailures 0", func(c *silov1.TenantClass) { c.Spec.Rollout.MaxFailures = ptr.To(int32(0)) },
			"spec.rollout.maxFailures"),
	)

	It("accepts a class with every shared field, percentages and numbers (the positive control)", func() {
		c := newClass(uniqueName("good-class"))
		c.Spec.Template.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
		c.Spec.Template.Isolation.PodSecurity = silov1.PodSecurityBaseline
		c.Spec.Template.Network.AllowInternetEgress = ptr.To(true)
		c.Spec.Template.Database = &silov1.DatabaseSpec{}
		c.Spec.Rollout = silov1.RolloutSpec{MaxUnavailable: ptr.To(intstr.FromString("10%")),
			ProgressDeadlineSeconds: ptr.To(int32(5)), MaxFailures: ptr.To(int32(2)), Paused: true}
		Expect(k8s.Create(ctx, c, client.DryRunAll)).To(Succeed())
		c = newClass(uniqueName("int-class"))
		c.Spec.Rollout.MaxUnavailable = ptr.To(intstr.FromInt32(3))
		Expect(k8s.Create(ctx, c, client.DryRunAll)).To(Succeed())
		c = newClass(uniqueName("empty-class"))
		c.Spec.Template = silov1.TenantSpec{}
		Expect(k8s.Create(ctx, c, client.DryRunAll)).To(Succeed(), "an empty template is a valid class")
	})

	It("accepts a Tenant of a class without app or workers command, and refuses one with neither image nor class", func() {
		t := newTenant(uniqueName("classy"))
		t.Spec.App = silov1.AppSpec{}
		t.Spec.Class = "standard"
		t.Spec.Workers = &silov1.WorkersSpec{Replicas: ptr.To(int32(2))}
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(Succeed(), "the class may provide app.image and workers.command")

		t = newTenant(uniqueName("classless"))
		t.Spec.App = silov1.AppSpec{}
		err := k8s.Create(ctx, t, client.DryRunAll)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("app.image is required unless the Tenant names a class that provides it"))
	})

	It("refuses an unknown classUpdatePolicy and accepts Manual", func() {
		t := newTenant(uniqueName("policy"))
		t.Spec.Class = "standard"
		t.Spec.ClassUpdatePolicy = "Sometimes"
		err := k8s.Create(ctx, t, client.DryRunAll)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`supported values: "Automatic", "Manual"`))
		t.Spec.ClassUpdatePolicy = silov1.ClassUpdateManual
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(Succeed())
	})
})

var _ = Describe("Database version guard", func() {
	It("refuses a PostgreSQL major version change without the opt-in, and allows a minor one or the opt-in", func() {
		t := newTenant(uniqueName("pgmajor"))
		t.Spec.Database = &silov1.DatabaseSpec{Version: "16.4-alpine"}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		patch := func(db string) error {
			return k8s.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t.Name}},
				client.RawPatch(types.MergePatchType, []byte(`{"spec":{"database":`+db+`}}`)))
		}
		err := patch(`{"version":"17.2-alpine"}`)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("database.version cannot move to another PostgreSQL major version"))
		Expect(err.Error()).To(ContainSubstring("pg_upgrade"))

		Expect(patch(`{"version":"16.6-alpine"}`)).To(Succeed(), "a minor version change")
		Expect(patch(`{"version":"17.2-alpine","allowMajorVersionUpgrade":true}`)).To(Succeed(), "the documented opt-in")
	})

	It("refuses the same change in a class template", func() {
		c := newClass(uniqueName("pgclass"))
		c.Spec.Template.Database = &silov1.DatabaseSpec{Version: "16"}
		Expect(k8s.Create(ctx, c)).To(Succeed())
		err := k8s.Patch(ctx, &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}},
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"template":{"database":{"version":"17"}}}}`)))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("database.version cannot move to another PostgreSQL major version"))
	})
})

var _ = Describe("The samples in config/samples", func() {
	It("are valid Tenants and TenantClasses", func() {
		ensureOperatorNamespace() // where the samples' Secrets live
		files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		kinds := map[string]int{}
		for _, f := range files {
			objs, err := testenv.ReadObjects(f)
			Expect(err).NotTo(HaveOccurred())
			for _, o := range objs {
				Expect(k8s.Create(ctx, o, client.DryRunAll)).To(Succeed(), "%s", f)
				kinds[o.GetKind()]++
			}
		}
		Expect(kinds["TenantClass"]).To(BeNumerically(">=", 2), "the standard and dedicated classes")
	})

	It("can all be applied to one cluster: no two samples name the same object", func() {
		files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		seen := map[string]string{}
		for _, f := range files {
			objs, err := testenv.ReadObjects(f)
			Expect(err).NotTo(HaveOccurred())
			for _, o := range objs {
				key := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
				Expect(seen).NotTo(HaveKey(key), "%s is in %s and %s: make demo applies every sample", key, seen[key], filepath.Base(f))
				seen[key] = filepath.Base(f)
			}
		}
	})
})
