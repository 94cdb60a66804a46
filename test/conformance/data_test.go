package conformance

import (
	"fmt"
	"strings"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// annotateTenant sets an annotation of a Tenant as the platform admin.
func annotateTenant(name, key, value string) {
	GinkgoHelper()
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, key, value)
	Expect(admin.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}},
		client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// dataJob waits for the Tenant's Job of a component whose name starts with prefix;
// before each look it runs settle (when given).
func dataJob(ns, component, prefix string, settle ...func(g Gomega)) *batchv1.Job {
	GinkgoHelper()
	job := &batchv1.Job{}
	Eventually(func(g Gomega) {
		for _, s := range settle {
			s(g)
		}
		jobs := &batchv1.JobList{}
		g.Expect(admin.List(ctx, jobs, client.InNamespace(ns), client.MatchingLabels{silov1.ComponentLabel: component})).To(Succeed())
		found := false
		for i := range jobs.Items {
			if strings.HasPrefix(jobs.Items[i].Name, prefix) {
				*job, found = jobs.Items[i], true
			}
		}
		g.Expect(found).To(BeTrue(), "no Job %s* in %s", prefix, ns)
	}).Should(Succeed())
	return job
}

// ownedTenant creates the Tenant conformance-<name>, owned by owner-<name>, and
// returns it, its namespace and a client of its owner.
func ownedTenant(name string, mutate func(*silov1.Tenant)) (*silov1.Tenant, string, client.Client) {
	GinkgoHelper()
	email := "owner-" + name + "@conformance.example"
	t := newTenant("conformance-"+name, email)
	mutate(t)
	t = createTenant(t)
	DeferCleanup(func() { _ = admin.Delete(ctx, t) })
	owner, _, err := user(email)
	Expect(err).NotTo(HaveOccurred())
	return t, controllers.NamespaceFor(t), owner
}

// completeJob plays the Job controller (as the platform admin): the Job succeeded.
func completeJob(job *batchv1.Job) {
	GinkgoHelper()
	now := metav1.Now()
	job.Status.StartTime, job.Status.CompletionTime, job.Status.Succeeded = &now, &now, 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	Expect(admin.Status().Update(ctx, job)).To(Succeed())
}

// Credential rotation and export write Secrets, Jobs and claims in tenant namespaces:
// the operator does it with its own RBAC under the guardrails, and a tenant admin can
// neither undo a step nor fake a Job's result.
var _ = Describe("Customer data: rotation and export", func() {
	check("SILO-DATA-1", "a credential rotation runs under the operator's own rights; a tenant admin can neither delete its staging Secret or Job nor fake the Job's result", func() {
		onEnvtest("plays the Job and Deployment controllers")
		t, ns, owner := ownedTenant("rotate", func(t *silov1.Tenant) { t.Spec.Database = &silov1.DatabaseSpec{} })

		annotateTenant(t.Name, silov1.RotateCredentialsAnnotation, "database")
		apply := dataJob(ns, controllers.RotationComponent, "rotate-database-apply-")
		staging := &corev1.Secret{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "database-credentials-next"}, staging)).To(Succeed())
		expectPolicyRefusal(owner.Delete(ctx, staging), "silo-tenant-managed-objects", "is managed by Silo")
		expectPolicyRefusal(owner.Delete(ctx, apply), "silo-tenant-managed-objects", "is managed by Silo")
		faked := apply.DeepCopy()
		faked.Status.Succeeded = 1
		expectRBACRefusal(owner.Status().Update(ctx, faked), "jobs/status")

		// Positive control: the Job controller's result moves it on, and the operator
		// switches the credentials (a delete and a create of an immutable Secret).
		completeJob(apply)
		Eventually(func(g Gomega) {
			creds := &corev1.Secret{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "database-credentials"}, creds)).To(Succeed())
			g.Expect(creds.Data["password"]).To(Equal(staging.Data["password"]))
		}).Should(Succeed())
		// The app rolls to the new settings (the test plays the Deployment controller);
		// then the old password is retired.
		retire := dataJob(ns, controllers.RotationComponent, "rotate-database-retire-", func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.AppName}, d)).To(Succeed())
			d.Status = testenv.ReadyDeploymentStatus(d)
			g.Expect(admin.Status().Update(ctx, d)).To(Succeed())
		})
		Expect(retire.Annotations).To(HaveKeyWithValue(silov1.RotationRequestAnnotation, "database"))
		completeJob(retire)
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.Credentials).NotTo(BeNil())
			g.Expect(got.Status.Credentials.Rotations).To(ConsistOf(HaveField("Phase", silov1.RotationSucceeded)))
		}).Should(Succeed())
	})

	check("SILO-DATA-4", "a restore whose source credentials are gone sets the password by a Job under the operator's rights; a tenant admin can neither delete the Job, fake its result nor unmark the claim to start the database early", func() {
		onEnvtest("plays the snapshot and Job controllers")
		// A kept snapshot content of a deleted Tenant (its namespace and credentials
		// are gone), as Silo labels it.
		gone := "conformance-gone-" + strings.ToLower(rand.String(5))
		content := &snapshotv1.VolumeSnapshotContent{
			ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-" + gone, Labels: map[string]string{
				silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: gone, silov1.ComponentLabel: controllers.BackupComponent,
				silov1.VolumeLabel: controllers.DatabaseName, silov1.VolumeSnapshotLabel: "database-1"}},
			Spec: snapshotv1.VolumeSnapshotContentSpec{
				VolumeSnapshotRef: corev1.ObjectReference{Kind: "VolumeSnapshot", Namespace: "tenant-" + gone, Name: "database-1"},
				DeletionPolicy:    snapshotv1.VolumeSnapshotContentRetain,
				Driver:            "csi.example.com",
				Source:            snapshotv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To("snap-" + gone)},
			},
		}
		Expect(admin.Create(ctx, content)).To(Succeed())
		DeferCleanup(func() { _ = admin.Delete(ctx, content) })
		_, ns, owner := ownedTenant("restore", func(t *silov1.Tenant) {
			t.Spec.Database = &silov1.DatabaseSpec{RestoreFrom: &silov1.RestoreSource{Tenant: gone, VolumeSnapshotName: "database-1"}}
		})

		job := dataJob(ns, controllers.RestoreComponent, "restore-credentials-")
		expectPolicyRefusal(owner.Delete(ctx, job), "silo-tenant-managed-objects", "is managed by Silo")
		faked := job.DeepCopy()
		faked.Status.Succeeded = 1
		expectRBACRefusal(owner.Status().Update(ctx, faked), "jobs/status")
		claim := &corev1.PersistentVolumeClaim{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data-database-0"}, claim)).To(Succeed())
		Expect(claim.Annotations).To(HaveKey(controllers.RestoreCredentialsAnnotation))
		unmark := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, controllers.RestoreCredentialsAnnotation)
		expectPolicyRefusal(owner.Patch(ctx, claim, client.RawPatch(types.MergePatchType, unmark)),
			"silo-tenant-managed-objects", "is managed by Silo")
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.DatabaseName}, &appsv1.StatefulSet{})).To(
			MatchError(ContainSubstring("not found")), "the database waits for its password")

		// Positive control: the Job controller's result starts the database.
		completeJob(job)
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.DatabaseName}, &appsv1.StatefulSet{})).To(Succeed())
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Annotations).NotTo(HaveKey(controllers.RestoreCredentialsAnnotation))
		}).Should(Succeed())
	})

	check("SILO-DATA-5", "the queue's configuration Secret (its users and the reload credential) is Silo's: a tenant admin can read it, as the credentials, but neither change nor delete it", func() {
		_, ns, owner := ownedTenant("queue-config", func(t *silov1.Tenant) { t.Spec.Queue = &silov1.QueueSpec{} })
		cfg := &corev1.Secret{}
		key := client.ObjectKey{Namespace: ns, Name: "queue-config"}
		// Positive control: the owner reads it (it holds the tenant's own queue
		// password, and a reload credential that can do nothing but reload this file).
		Eventually(func() error { return owner.Get(ctx, key, cfg) }).Should(Succeed())
		Expect(cfg.Data).To(HaveKey("nats.conf"))
		forged := cfg.DeepCopy()
		forged.Data["nats.conf"] = []byte("authorization { users = [ {user: \"me\", password: \"mine\"} ] }\n")
		expectPolicyRefusal(owner.Update(ctx, forged), "silo-tenant-managed-objects", "is managed by Silo")
		expectPolicyRefusal(owner.Delete(ctx, cfg), "silo-tenant-managed-objects", "is managed by Silo")
		Expect(admin.Get(ctx, key, forged)).To(Succeed())
		Expect(forged.Data).To(Equal(cfg.Data), "the configuration is as Silo wrote it")
	})

	check("SILO-DATA-2", "an export's claim is Silo's while the Job writes it; once finished it is handed over and a tenant admin may delete it", func() {
		onEnvtest("plays the Job controller")
		t, ns, owner := ownedTenant("export", func(t *silov1.Tenant) {
			t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		})

		annotateTenant(t.Name, silov1.ExportAnnotation, "x1")
		job := dataJob(ns, controllers.ExportComponent, "export-x1")
		claim := &corev1.PersistentVolumeClaim{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "export-x1"}, claim)).To(Succeed())
		expectPolicyRefusal(owner.Delete(ctx, claim), "silo-tenant-managed-objects", "is managed by Silo")

		completeJob(job)
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "export-x1"}, claim)).To(Succeed())
			g.Expect(claim.Labels).NotTo(HaveKey(silov1.ManagedByLabel))
		}).Should(Succeed())
		Expect(owner.Delete(ctx, claim)).To(Succeed(), "a finished export is the tenant's to delete")
	})

	check("SILO-DATA-3", "an export to object storage: the bucket's keys stay in the operator's namespace; a tenant admin can neither read them, nor change where the export goes, nor plant upload URLs of its own", func() {
		onEnvtest("plays the Job controller")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opConfig.OperatorNamespace}}
		if err := admin.Create(ctx, ns); err != nil {
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "%v", err)
		}
		bucket := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: exportSecret, Namespace: opConfig.OperatorNamespace},
			StringData: map[string]string{"endpoint": "https://s3." + exportRegion + ".amazonaws.com", "bucket": "platform-exports",
				"region": exportRegion, "accessKeyID": "AKIDPLATFORM", "secretAccessKey": exportSecretKey}}
		Expect(admin.Create(ctx, bucket)).To(Succeed())
		DeferCleanup(func() { _ = admin.Delete(ctx, bucket) })
		t, tns, owner := ownedTenant("export-s3", func(t *silov1.Tenant) {
			t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
			t.Spec.Placement.Region = exportRegion
		})

		// The bucket's Secret, and where exports go, are the platform's.
		expectRBACRefusal(owner.Get(ctx, client.ObjectKeyFromObject(bucket), &corev1.Secret{}), "secrets", opConfig.OperatorNamespace)
		expectRBACRefusal(owner.Patch(ctx, t.DeepCopy(), client.RawPatch(types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"silo.dev/export":"mine"}}}`))), "tenants")

		// Upload URLs of the admin's own, planted at the name of the next export's:
		// never used, nothing runs.
		planted := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "export-x0-upload", Namespace: tns},
			StringData: map[string]string{"MANIFEST": "https://attacker.example/b/MANIFEST", "files.tar": "https://attacker.example/b/files.tar"}}
		Expect(owner.Create(ctx, planted)).To(Succeed())
		annotateTenant(t.Name, silov1.ExportAnnotation, "x0")
		expectDegraded(t.Name, silov1.ExportRefusedReason, "Secret "+tns+"/export-x0-upload already exists")
		jobs := &batchv1.JobList{}
		Expect(admin.List(ctx, jobs, client.InNamespace(tns), client.MatchingLabels{silov1.ComponentLabel: controllers.ExportComponent})).To(Succeed())
		Expect(jobs.Items).To(BeEmpty())

		// Positive control: the next id exports; what reaches the namespace is URLs
		// for this export's keys only, which the admin cannot delete or replace.
		annotateTenant(t.Name, silov1.ExportAnnotation, "x1")
		job := dataJob(tns, controllers.ExportComponent, "export-x1")
		urls := &corev1.Secret{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: tns, Name: "export-x1-upload"}, urls)).To(Succeed())
		Expect(urls.Data).To(HaveLen(2))
		for _, u := range urls.Data {
			Expect(string(u)).To(HavePrefix("https://s3." + exportRegion + ".amazonaws.com/platform-exports/" + t.Name + "/x1/"))
			Expect(string(u)).NotTo(ContainSubstring(exportSecretKey))
		}
		expectPolicyRefusal(owner.Delete(ctx, urls), "silo-tenant-managed-objects", "is managed by Silo")
		expectPolicyRefusal(owner.Delete(ctx, job), "silo-tenant-managed-objects", "is managed by Silo")
		completeJob(job)
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.Export).NotTo(BeNil())
			g.Expect(got.Status.Export.Phase).To(Equal(silov1.ExportSucceeded))
			g.Expect(got.Status.Export.ObjectStorage).To(HaveField("Key", t.Name+"/x1/"))
		}).Should(Succeed())
	})
})

// The region the conformance platform exports to object storage, its Secret, and
// the Secret's secret key (which must never reach a tenant namespace).
const (
	exportRegion    = "eu-north-1"
	exportSecret    = "conformance-exports"
	exportSecretKey = "never-in-a-tenant-namespace"
)

func configureExportObjectStorage(p *controllers.Platform) {
	p.ExportObjectStorage = map[string]string{exportRegion: exportSecret}
}
