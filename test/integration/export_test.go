package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// exportJobs returns the Tenant's export Jobs.
func exportJobs(g Gomega, tenant string) []batchv1.Job {
	return componentJobs(g, tenant, controllers.ExportComponent)
}

// exportOf returns the Tenant's export status.
func exportOf(g Gomega, name string) *silov1.ExportStatus {
	t := &silov1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
	return t.Status.Export
}

var _ = Describe("Export", func() {
	It("creates the claim and one Job in the Tenant's region, security and image, and reports its result once per id", func() {
		t := newTenant(uniqueName("export"))
		t.Spec.Database = &silov1.DatabaseSpec{}
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		t.Spec.Placement.Region = "eu-west-1"
		t.Spec.Isolation.NodePool = "exports"
		Expect(k8s.Create(ctx, t)).To(Succeed())
		name, ns := t.Name, "tenant-"+t.Name
		waitSettled(name)

		annotate(name, silov1.ExportAnnotation, "2027-01-15")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := exportJobs(g, name)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
			g.Expect(exportOf(g, name)).To(HaveField("Phase", silov1.ExportRunning))
		}).Should(Succeed())
		claim := &corev1.PersistentVolumeClaim{}
		Expect(get(claim, ns, "export-2027-01-15")).To(Succeed())
		Expect(claim.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue), "Silo's while it writes")
		Expect(ptr.Deref(claim.Spec.StorageClassName, "")).To(Equal("fast-eu"), "the region's class")
		Expect(claim.Spec.Resources.Requests.Storage().String()).To(Equal("11Gi"))

		p := job.Spec.Template.Spec
		Expect(p.Containers[0].Image).To(Equal(controllers.DefaultConfig().Images.Postgres))
		Expect(p.Containers[0].Command[2]).To(ContainSubstring("pg_dump --format=custom"))
		Expect(p.NodeSelector).To(HaveKeyWithValue(silov1.NodePoolLabel, "exports"))
		Expect(p.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].
			MatchExpressions[0].Values).To(Equal([]string{"eu-west-1"}))
		Expect(*p.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(*p.Containers[0].SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		var envNames []string
		for _, e := range p.Containers[0].Env {
			envNames = append(envNames, e.Name)
		}
		Expect(envNames).To(ContainElements("PGHOST", "PGUSER", "PGPASSWORD"))
		// The pod the Job controller would create passes the namespace's pod security.
		Expect(k8s.Create(ctx, podFromTemplate(ns, "export-pod", job.Spec.Template), client.DryRunAll)).To(Succeed())

		finishJob(Default, &job, true)
		Eventually(func(g Gomega) {
			e := exportOf(g, name)
			g.Expect(e).To(HaveField("Phase", silov1.ExportSucceeded))
			g.Expect(e.ClaimName).To(Equal("export-2027-01-15"))
			g.Expect(e.CompletionTime).NotTo(BeNil())
		}).Should(Succeed())

		// The same id again (and a restart) does nothing.
		restartOperator(nil)
		annotate(name, "test.silo.dev/poke", "again")
		Consistently(func(g Gomega) {
			g.Expect(exportJobs(g, name)).To(HaveLen(1))
			g.Expect(exportOf(g, name)).To(HaveField("Phase", silov1.ExportSucceeded))
		}, "500ms").Should(Succeed())
		Expect(get(claim, ns, "export-2027-01-15")).To(Succeed(), "the claim is kept")
		Expect(claim.Labels).NotTo(HaveKey(silov1.ManagedByLabel), "handed over: the namespace's admins may delete it")
		Expect(claim.Labels).To(HaveKeyWithValue(silov1.ExportIDLabel, "2027-01-15"))
		Expect(claim.OwnerReferences).To(BeEmpty(), "it outlives a Tenant deleted with Retain")

		// The Job gone after its time to live, and the status lost (as for a new
		// Tenant adopting a retained namespace): the handed-over claim is never
		// written over; the Tenant says so.
		Expect(k8s.Delete(ctx, &job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		tn := &silov1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
		tn.Status.Export = nil
		Expect(k8s.Status().Update(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportRefusedReason))
			g.Expect(d.Message).To(ContainSubstring("export under another id"))
		}).Should(Succeed())
		Expect(exportJobs(Default, name)).To(BeEmpty())
	})

	It("makes the Tenant Degraded when the export Job fails, keeps the claim, and refuses an id that cannot name a claim", func() {
		t := newTenant(uniqueName("export-fail"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		name, ns := t.Name, "tenant-"+t.Name
		waitSettled(name)

		annotate(name, silov1.ExportAnnotation, "Not/A/Label")
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportRefusedReason))
		}).Should(Succeed())
		Expect(exportJobs(Default, name)).To(BeEmpty())

		annotate(name, silov1.ExportAnnotation, "first")
		Eventually(func(g Gomega) {
			jobs := exportJobs(g, name)
			g.Expect(jobs).To(HaveLen(1))
			finishJob(g, &jobs[0], false)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			tn, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportFailedReason))
			g.Expect(d.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/export-first"))
			g.Expect(exportOf(g, name)).To(HaveField("Phase", silov1.ExportFailed))
			g.Expect(eventNote(g, tn, silov1.ExportFailedReason)).To(ContainSubstring("export-first"))
		}).Should(Succeed())
		Expect(get(&corev1.PersistentVolumeClaim{}, ns, "export-first")).To(Succeed(), "the claim is kept")
	})
})
