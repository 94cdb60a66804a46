package integration

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

var _ = Describe("Tenant validation in the CRD", func() {
	// refused creates t (dry-run) and returns the API server's refusal message.
	refused := func(t *silov1.Tenant) string {
		err := k8s.Create(ctx, t, client.DryRunAll)
		ExpectWithOffset(1, err).To(HaveOccurred(), "the API server accepted an invalid Tenant")
		ExpectWithOffset(1, apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		return err.Error()
	}

	DescribeTable("refuses an invalid Tenant with a message that says what to fix",
		func(name string, mutate func(t *silov1.Tenant), want string) {
			t := newTenant(name)
			mutate(t)
			Expect(refused(t)).To(ContainSubstring(want))
		},
		Entry("a name over 40 characters", strings.Repeat("a", 41), func(*silov1.Tenant) {},
			"metadata.name must be at most 40 characters"),
		Entry("a name that is not a DNS label", "Acme.Corp", func(*silov1.Tenant) {},
			"metadata.name must be a DNS label"),
		Entry("no app image and no class", "no-image", func(t *silov1.Tenant) { t.Spec.App.Image = "" },
			"app.image is required unless the Tenant names a class that provides it"),
		Entry("a negative CPU quota", "neg-cpu", func(t *silov1.Tenant) { t.Spec.Quota.CPU = ptr.To(resource.MustParse("-1")) },
			"quota.cpu must be a positive quantity"),
		Entry("a zero memory quota", "zero-mem", func(t *silov1.Tenant) { t.Spec.Quota.Memory = ptr.To(resource.MustParse("0")) },
			"quota.memory must be a positive quantity"),
		Entry("an unknown Pod Security level", "bad-psa", func(t *silov1.Tenant) { t.Spec.Isolation.PodSecurity = "privileged" },
			`supported values: "restricted", "baseline"`),
		Entry("an unknown deletion policy", "bad-policy", func(t *silov1.Tenant) { t.Spec.DeletionPolicy = "Orphan" },
			`supported values: "Retain", "Delete"`),
		Entry("an owner of unknown kind", "bad-owner", func(t *silov1.Tenant) {
			t.Spec.Owners = []silov1.Owner{{Kind: "Robot", Name: "r2"}}
		}, `supported values: "User", "Group", "ServiceAccount"`),
		Entry("a ServiceAccount owner without namespace", "sa-owner", func(t *silov1.Tenant) {
			t.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindServiceAccount, Name: "deployer"}}
		}, "namespace is required for kind ServiceAccount"),
		Entry("app replicas together with autoscaling", "replicas-hpa", func(t *silov1.Tenant) {
			t.Spec.App.Replicas = ptr.To(int32(2))
			t.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MaxReplicas: 5}
		}, "set either app.replicas or app.autoscaling, not both"),
		Entry("autoscaling min above max", "min-max", func(t *silov1.Tenant) {
			t.Spec.App.Autoscaling = &silov1.AutoscalingSpec{MinReplicas: ptr.To(int32(6)), MaxReplicas: 5}
		}, "autoscaling.minReplicas must not exceed autoscaling.maxReplicas"),
		Entry("an external database with managed settings", "ext-db", func(t *silov1.Tenant) {
			t.Spec.Database = &silov1.DatabaseSpec{
				External: &silov1.ExternalService{SecretName: "db"}, Storage: ptr.To(resource.MustParse("10Gi")),
			}
		}, "database.external cannot be combined with storage, version or resources"),
		Entry("workers without command or image", "lazy-workers", func(t *silov1.Tenant) {
			t.Spec.Workers = &silov1.WorkersSpec{Replicas: ptr.To(int32(1))}
		}, "workers needs a command"),
		Entry("a region that is not a DNS label", "bad-region", func(t *silov1.Tenant) { t.Spec.Placement.Region = "EU West" },
			"spec.placement.region"),
		Entry("an extended resource without a domain", "bare-gpu", func(t *silov1.Tenant) {
			t.Spec.Quota.Extended = map[string]resource.Quantity{"gpu": resource.MustParse("1")}
		}, "quota.extended keys must be extended resource names of the form <domain>/<name>"),
		Entry("a Kubernetes resource as an extended one", "k8s-extended", func(t *silov1.Tenant) {
			t.Spec.Quota.Extended = map[string]resource.Quantity{"kubernetes.io/cpu": resource.MustParse("1")}
		}, "quota.extended keys must not be in the kubernetes.io domain"),
		Entry("half a GPU", "half-gpu", func(t *silov1.Tenant) {
			t.Spec.Quota.Extended = map[string]resource.Quantity{"nvidia.com/gpu": resource.MustParse("500m")}
		}, "quota.extended values must be whole numbers of 0 or more"),
		Entry("a negative GPU count", "neg-gpu", func(t *silov1.Tenant) {
			t.Spec.Quota.Extended = map[string]resource.Quantity{"nvidia.com/gpu": resource.MustParse("-1")}
		}, "quota.extended values must be whole numbers of 0 or more"),
	)

	It("accepts a minimal Tenant and leaves deletionPolicy and podSecurity unset, so a class can provide them", func() {
		t := newTenant(uniqueName("defaults"))
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(Succeed())
		Expect(t.Spec.DeletionPolicy).To(BeEmpty())
		Expect(t.Spec.Isolation.PodSecurity).To(BeEmpty())
	})

	It("refuses to move a Tenant to another region once set", func() {
		t := newTenant(uniqueName("region"))
		t.Spec.Placement.Region = "eu-west-1"
		t = createTenant(t)
		// A merge patch carries no resourceVersion: the only possible refusal is validation.
		move := func(region string) error {
			orig := t.DeepCopy()
			t.Spec.Placement.Region = region
			return k8s.Patch(ctx, t, client.MergeFrom(orig))
		}
		err := move("us-east-1")
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("placement.region is immutable once set"))

		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		err = move("")
		Expect(err).To(HaveOccurred(), "removing the region must be refused too")
		Expect(err.Error()).To(ContainSubstring("placement.region is immutable once set"))
	})

	It("lets a Tenant without a region get one", func() {
		t := createTenant(newTenant(uniqueName("noregion")))
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Placement.Region = "eu-west-1" })
	})

	// changeSpec applies mutate to the stored Tenant as a dry-run merge patch (no
	// resourceVersion, so the only possible refusal is validation; dry-run, so the
	// operator is not left retrying a change envtest cannot carry out, such as
	// growing a claim that no volume binds).
	changeSpec := func(t *silov1.Tenant, mutate func(t *silov1.Tenant)) error {
		live := &silov1.Tenant{}
		ExpectWithOffset(1, k8s.Get(ctx, client.ObjectKeyFromObject(t), live)).To(Succeed())
		orig := live.DeepCopy()
		mutate(live)
		return k8s.Patch(ctx, live, client.MergeFrom(orig), client.DryRunAll)
	}

	It("refuses to add a region to a Tenant whose volumes exist, since they cannot change their storage class", func() {
		for name, volumes := range map[string]func(t *silov1.Tenant){
			"storage":  func(t *silov1.Tenant) { t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")} },
			"queue":    func(t *silov1.Tenant) { t.Spec.Queue = &silov1.QueueSpec{} },
			"database": func(t *silov1.Tenant) { t.Spec.Database = &silov1.DatabaseSpec{} },
		} {
			t := newTenant(uniqueName("vol-" + name))
			volumes(t)
			t = createTenant(t)
			err := changeSpec(t, func(t *silov1.Tenant) { t.Spec.Placement.Region = "eu-west-1" })
			Expect(err).To(HaveOccurred(), "adding a region to a Tenant with a %s volume", name)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring("placement.region cannot be added to a Tenant that already has volumes"))
		}
	})

	It("lets a Tenant whose services are all external get a region, and volumes together with the region", func() {
		t := newTenant(uniqueName("external"))
		t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "db"}}
		// Validation alone is under test: no need to wait for the operator (which
		// would report the missing Secret).
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Expect(changeSpec(t, func(t *silov1.Tenant) {
			t.Spec.Placement.Region = "eu-west-1"
			t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		})).To(Succeed())
	})

	It("refuses to shrink storage.size, saying from what to what, and lets it grow", func() {
		t := newTenant(uniqueName("shrink"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("20Gi")}
		t = createTenant(t)
		err := changeSpec(t, func(t *silov1.Tenant) { t.Spec.Storage.Size = resource.MustParse("10Gi") })
		Expect(err).To(HaveOccurred(), "shrinking the storage volume must be refused")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("storage.size cannot shrink from 20Gi to 10Gi"))
		Expect(changeSpec(t, func(t *silov1.Tenant) { t.Spec.Storage.Size = resource.MustParse("20480Mi") })).To(Succeed(),
			"the same size written otherwise is not a shrink")
		Expect(changeSpec(t, func(t *silov1.Tenant) { t.Spec.Storage.Size = resource.MustParse("30Gi") })).To(Succeed())
	})
})

var _ = Describe("A Tenant the schema admits but no child could carry", func() {
	It("is Degraded InvalidSpec with a message naming the field, changes nothing, and recovers once fixed", func() {
		t := newTenant(uniqueName("dup-env"))
		t.Spec.App.Env = []corev1.EnvVar{{Name: "MODE", Value: "a"}, {Name: "MODE", Value: "b"}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			degraded := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
			g.Expect(degraded).NotTo(BeNil())
			g.Expect(degraded.Reason).To(Equal(silov1.InvalidSpecReason))
			g.Expect(degraded.Message).To(ContainSubstring("spec.app.env has more than one entry named MODE"))
		}).Should(Succeed())
		Expect(isNotFound(get(&corev1.Namespace{}, "", controllers.NamespaceFor(t)))).To(BeTrue(), "the namespace was created")

		By("one entry per name (the positive control)")
		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Env = t.Spec.App.Env[:1] })
		got := waitSettled(t.Name)
		Expect(meta.IsStatusConditionTrue(got.Status.Conditions, silov1.ReadyCondition)).To(BeTrue())
	})
})
