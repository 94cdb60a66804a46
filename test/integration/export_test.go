package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// exportingTenant creates a settled Tenant with a managed database and file storage,
// placed in region on the node pool exports, and returns its name and namespace.
func exportingTenant(prefix, region string) (string, string) {
	GinkgoHelper()
	t := newTenant(uniqueName(prefix))
	t.Spec.Database = &silov1.DatabaseSpec{}
	t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
	t.Spec.Placement.Region = region
	t.Spec.Isolation.NodePool = "exports"
	Expect(k8s.Create(ctx, t)).To(Succeed())
	waitSettled(t.Name)
	return t.Name, "tenant-" + t.Name
}

// onlyExportJob waits for the Tenant's one export Job.
func onlyExportJob(name string) batchv1.Job {
	GinkgoHelper()
	var job batchv1.Job
	Eventually(func(g Gomega) {
		jobs := exportJobs(g, name)
		g.Expect(jobs).To(HaveLen(1))
		job = jobs[0]
	}).Should(Succeed())
	return job
}

var _ = Describe("Export", func() {
	It("creates the claim and one Job in the Tenant's region, security and image, and reports its result once per id", func() {
		name, ns := exportingTenant("export", "eu-west-1")

		annotate(name, silov1.ExportAnnotation, "2027-01-15")
		job := onlyExportJob(name)
		Eventually(func(g Gomega) {
			g.Expect(exportOf(g, name)).To(HaveField("Phase", silov1.ExportRunning))
		}).Should(Succeed())
		claim := &corev1.PersistentVolumeClaim{}
		Expect(get(claim, ns, "export-2027-01-15")).To(Succeed())
		Expect(claim.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue), "Silo's while it writes")
		Expect(ptr.Deref(claim.Spec.StorageClassName, "")).To(Equal("fast-eu"), "the region's class")
		Expect(claim.Spec.Resources.Requests.Storage().String()).To(Equal("11Gi"))

		p := job.Spec.Template.Spec
		Expect(p.InitContainers).To(BeEmpty(), "a region the platform does not export to object storage: a claim")
		Expect(exportOf(Default, name).ObjectStorage).To(BeNil())
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

// Regions the suite's platform exports to object storage, each with its Secret in
// the operator's namespace (created by the specs).
const (
	exportRegion         = "eu-central-1" // a complete Secret of a bucket in the region
	exportRefusedRegion  = "sa-east-1"    // a Secret missing, then incomplete, then fixed
	exportResidentRegion = "ap-south-1"   // a Secret of a bucket in another region, then fixed
)

func configureExportObjectStorage(p *controllers.Platform) {
	p.ExportObjectStorage = map[string]string{
		exportRegion:         "exports-" + exportRegion,
		exportRefusedRegion:  "exports-" + exportRefusedRegion,
		exportResidentRegion: "exports-" + exportResidentRegion,
	}
}

// secretAccessKey is the object storage Secrets' secret key: it must never reach a
// tenant namespace.
const secretAccessKey = "wJalrXUtnFEMI-never-in-a-tenant"

// objectStorageSecret writes the platform's Secret of the bucket of region, with
// data (nil: a complete one in that region).
func objectStorageSecret(region string, data map[string]string) {
	GinkgoHelper()
	if data == nil {
		data = map[string]string{"endpoint": "https://s3." + region + ".amazonaws.com", "bucket": "silo-exports-" + region,
			"region": region, "accessKeyID": "AKIDEXPORTS", "secretAccessKey": secretAccessKey, "prefix": "exports"}
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "exports-" + region, Namespace: opConfig.OperatorNamespace}, StringData: data}
	if err := k8s.Create(ctx, s); err != nil {
		Expect(k8s.Update(ctx, s)).To(Succeed())
	}
}

// uploadSecret reads an export's upload Secret.
func uploadSecret(g Gomega, ns, id string) *corev1.Secret {
	s := &corev1.Secret{}
	g.Expect(get(s, ns, "export-"+id+"-upload")).To(Succeed())
	return s
}

var _ = Describe("Export to object storage", func() {
	BeforeEach(ensureOperatorNamespace)

	It("uploads from a Job in the Tenant's region and security, with presigned URLs only, and reports the bucket and key", func() {
		objectStorageSecret(exportRegion, nil)
		name, ns := exportingTenant("export-s3", exportRegion)

		annotate(name, silov1.ExportAnnotation, "x1")
		job := onlyExportJob(name)
		key := "exports/" + name + "/x1/"
		Eventually(func(g Gomega) {
			e := exportOf(g, name)
			g.Expect(e).To(HaveField("Phase", silov1.ExportRunning))
			g.Expect(e.ObjectStorage).To(Equal(&silov1.ExportObjectStorage{SecretName: "exports-" + exportRegion,
				Endpoint: "https://s3." + exportRegion + ".amazonaws.com", Bucket: "silo-exports-" + exportRegion,
				Region: exportRegion, Key: key}))
		}).Should(Succeed())

		p := job.Spec.Template.Spec
		Expect(p.InitContainers).To(HaveLen(1))
		Expect(p.InitContainers[0].Command[2]).To(ContainSubstring("pg_dump --format=custom"))
		Expect(p.Containers).To(HaveLen(1))
		up := p.Containers[0]
		Expect(up.Image).To(Equal(opConfig.Images.ExportUploader))
		Expect(up.Args).To(BeEmpty())
		refs := map[string]string{}
		for _, e := range up.Env {
			if e.ValueFrom != nil {
				Expect(e.ValueFrom.SecretKeyRef.Name).To(Equal("export-x1-upload"))
				refs[e.Name] = e.ValueFrom.SecretKeyRef.Key
			}
		}
		Expect(refs).To(Equal(map[string]string{"SILO_UPLOAD_DATABASE": "database.dump", "SILO_UPLOAD_FILES": "files.tar",
			"SILO_UPLOAD_MANIFEST": "MANIFEST"}))
		Expect(p.NodeSelector).To(HaveKeyWithValue(silov1.NodePoolLabel, "exports"))
		Expect(p.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].
			MatchExpressions[0].Values).To(Equal([]string{exportRegion}))
		Expect(*up.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(k8s.Create(ctx, podFromTemplate(ns, "export-s3-pod", job.Spec.Template), client.DryRunAll)).To(Succeed(),
			"the pod passes the namespace's pod security")

		// What reaches the tenant namespace: one URL per object, signed for that key
		// only; never the bucket's keys.
		s := uploadSecret(Default, ns, "x1")
		Expect(*s.Immutable).To(BeTrue())
		Expect(s.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
		Expect(s.Data).To(HaveLen(3))
		for obj, url := range s.Data {
			Expect(string(url)).To(HavePrefix("https://s3." + exportRegion + ".amazonaws.com/silo-exports-" + exportRegion + "/" + key + obj + "?"))
			Expect(string(url)).NotTo(ContainSubstring(secretAccessKey))
		}
		for _, e := range up.Env {
			Expect(e.Value).NotTo(ContainSubstring(secretAccessKey))
		}

		finishJob(Default, &job, true)
		Eventually(func(g Gomega) {
			e := exportOf(g, name)
			g.Expect(e).To(HaveField("Phase", silov1.ExportSucceeded))
			g.Expect(e.ClaimName).To(BeEmpty(), "the claim was scratch space")
			g.Expect(e.ObjectStorage).To(HaveField("Key", key))
			g.Expect(get(&corev1.Secret{}, ns, "export-x1-upload")).To(Satisfy(apierrors.IsNotFound), "the URLs go with the Job")
		}).Should(Succeed())
		claim := &corev1.PersistentVolumeClaim{}
		Expect(get(claim, ns, "export-x1")).To(Succeed())
		Expect(claim.Labels).NotTo(HaveKey(silov1.ManagedByLabel))
		Expect(claim.OwnerReferences).To(ConsistOf(And(HaveField("Kind", "Job"), HaveField("UID", job.UID))),
			"the garbage collector removes it with the Job")
		_, d := degradedOf(Default, name)
		Expect(d).To(Or(BeNil(), HaveField("Status", metav1.ConditionFalse)))
	})

	It("refuses, before any claim or Job, an export whose bucket Secret is missing or incomplete, and exports once it is fixed", func() {
		t := newTenant(uniqueName("export-s3-refused"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		t.Spec.Placement.Region = exportRefusedRegion
		Expect(k8s.Create(ctx, t)).To(Succeed())
		name, ns := t.Name, "tenant-"+t.Name
		waitSettled(name)

		secret := opConfig.OperatorNamespace + "/exports-" + exportRefusedRegion
		annotate(name, silov1.ExportAnnotation, "x1")
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportRefusedReason))
			g.Expect(d.Message).To(ContainSubstring("the Secret " + secret + " (--export-object-storage) is missing: create it with the keys endpoint, bucket, accessKeyID, secretAccessKey"))
		}).Should(Succeed())
		Expect(exportJobs(Default, name)).To(BeEmpty())
		Expect(get(&corev1.PersistentVolumeClaim{}, ns, "export-x1")).To(Satisfy(apierrors.IsNotFound))

		objectStorageSecret(exportRefusedRegion, map[string]string{"endpoint": "s3.example", "accessKeyID": "AKID"})
		annotate(name, "test.silo.dev/poke", "incomplete")
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportRefusedReason))
			g.Expect(d.Message).To(ContainSubstring("cannot be used: it has no bucket, secretAccessKey; fix it"))
		}).Should(Succeed())
		Expect(exportJobs(Default, name)).To(BeEmpty())
		Expect(exportOf(Default, name)).To(BeNil())

		// Positive control: the same export, once the Secret is complete.
		objectStorageSecret(exportRefusedRegion, nil)
		annotate(name, "test.silo.dev/poke", "fixed")
		Eventually(func(g Gomega) {
			g.Expect(exportJobs(g, name)).To(HaveLen(1))
			g.Expect(exportOf(g, name)).To(HaveField("ObjectStorage.Bucket", "silo-exports-"+exportRefusedRegion))
		}).Should(Succeed())
	})

	It("refuses a bucket outside the Tenant's region (data residency), exports to one in it, and reports a failed upload", func() {
		other := "us-east-1"
		objectStorageSecret(exportResidentRegion, map[string]string{"endpoint": "https://s3.us-east-1.amazonaws.com",
			"bucket": "silo-exports-us", "region": other, "accessKeyID": "AKID", "secretAccessKey": secretAccessKey})
		name, ns := exportingTenant("export-s3-region", exportResidentRegion)

		annotate(name, silov1.ExportAnnotation, "x1")
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportRefusedReason))
			g.Expect(d.Message).To(ContainSubstring("its bucket silo-exports-us is in the region " + other +
				" and the Tenant's data must stay in " + exportResidentRegion))
		}).Should(Succeed())
		Expect(exportJobs(Default, name)).To(BeEmpty())

		// Positive control: the platform points the region at a bucket in it.
		objectStorageSecret(exportResidentRegion, nil)
		annotate(name, "test.silo.dev/poke", "resident")
		job := onlyExportJob(name)
		Eventually(func(g Gomega) {
			g.Expect(exportOf(g, name)).To(HaveField("ObjectStorage.Region", exportResidentRegion))
		}).Should(Succeed())
		Expect(uploadSecret(Default, ns, "x1").Data).To(HaveKey("database.dump"))

		finishJob(Default, &job, false)
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.ExportFailedReason))
			g.Expect(d.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/export-x1 --all-containers"))
			g.Expect(exportOf(g, name)).To(HaveField("Phase", silov1.ExportFailed))
			g.Expect(get(&corev1.Secret{}, ns, "export-x1-upload")).To(Satisfy(apierrors.IsNotFound))
		}).Should(Succeed())
		claim := &corev1.PersistentVolumeClaim{}
		Expect(get(claim, ns, "export-x1")).To(Succeed(), "a failed upload's dump is kept")
		Expect(claim.OwnerReferences).To(BeEmpty())
	})
})
