package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// migrationJobs returns the Tenant's migration Jobs.
func migrationJobs(g Gomega, tenant string) []batchv1.Job {
	jobs := &batchv1.JobList{}
	g.Expect(k8s.List(ctx, jobs, client.InNamespace("tenant-"+tenant),
		client.MatchingLabels{silov1.ComponentLabel: controllers.MigrationComponent})).To(Succeed())
	return jobs.Items
}

// finishJob plays the Job controller: the Job succeeded or failed.
func finishJob(g Gomega, j *batchv1.Job, succeeded bool) {
	now := metav1.Now()
	j.Status.StartTime = &now
	if succeeded {
		j.Status.Succeeded = 1
		j.Status.CompletionTime = &now
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
	} else {
		j.Status.Failed = 1
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded",
				Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
	}
	g.Expect(k8s.Status().Update(ctx, j)).To(Succeed())
}

func appImageOf(g Gomega, tenant string) string {
	d := &appsv1.Deployment{}
	g.Expect(get(d, "tenant-"+tenant, controllers.AppName)).To(Succeed())
	return d.Spec.Template.Spec.Containers[0].Image
}

var _ = Describe("Migrations", func() {
	It("keep the old image when the migration Job fails: the Tenant is Degraded MigrationFailed and fails the class rollout", func() {
		f := newFleet("migrate", 2, func(c *silov1.TenantClass) {
			c.Spec.Template.App.Migration = &silov1.MigrationSpec{Command: []string{"/app", "migrate"}}
		})
		f.update(func(c *silov1.TenantClass) { c.Spec.Template.App.Image = imageV2 })
		first := f.tenants[0]
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := migrationJobs(g, first)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}).Should(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Image).To(Equal(imageV2), "the migration runs the new image")
		Expect(job.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"/app", "migrate"}))
		Expect(job.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name).To(Equal(controllers.SettingsSecretName))
		Consistently(func(g Gomega) { g.Expect(appImageOf(g, first)).To(Equal(imageV1)) }, "1s", "100ms").Should(Succeed(),
			"the app moved before its migration finished")

		Eventually(func(g Gomega) {
			j := &batchv1.Job{}
			g.Expect(get(j, job.Namespace, job.Name)).To(Succeed())
			finishJob(g, j, false)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: first}, t)).To(Succeed())
			degraded := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
			g.Expect(degraded).NotTo(BeNil())
			g.Expect(degraded.Reason).To(Equal(silov1.MigrationFailedReason))
			g.Expect(degraded.Message).To(ContainSubstring("kubectl logs -n tenant-" + first + " job/" + job.Name))
			st := f.status(g)
			g.Expect(st.Failed).To(Equal([]string{first}))
			g.Expect(meta.FindStatusCondition(st.Conditions, silov1.PausedCondition).Reason).To(Equal(silov1.TooManyFailuresReason))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(appImageOf(g, first)).To(Equal(imageV1))
			g.Expect(migrationJobs(g, first)).To(HaveLen(1), "the failed Job is kept for its logs")
			g.Expect(f.onImage(g, imageV2)).To(BeEmpty())
		}, "1s", "100ms").Should(Succeed())
	})

	It("move the app to the new image once the Job succeeded, then delete the Job", func() {
		t := newTenant(uniqueName("migrated"))
		t.Spec.App.Migration = &silov1.MigrationSpec{Command: []string{"/app", "migrate"}, TimeoutSeconds: ptr.To(int32(30))}
		t = createTenant(t)
		waitSettled(t.Name)
		Expect(migrationJobs(Default, t.Name)).To(BeEmpty(), "a Tenant's first image starts without a migration")

		mutateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Image = imageV2 })
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := migrationJobs(g, t.Name)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}).Should(Succeed())
		Expect(job.Spec.ActiveDeadlineSeconds).To(Equal(ptr.To(int64(30))))
		Expect(appImageOf(Default, t.Name)).NotTo(Equal(imageV2))
		Eventually(func(g Gomega) {
			j := &batchv1.Job{}
			g.Expect(get(j, job.Namespace, job.Name)).To(Succeed())
			finishJob(g, j, true)
		}).Should(Succeed())
		Eventually(func(g Gomega) { g.Expect(appImageOf(g, t.Name)).To(Equal(imageV2)) }).Should(Succeed())
		Eventually(func(g Gomega) {
			for _, j := range migrationJobs(g, t.Name) {
				g.Expect(j.DeletionTimestamp).NotTo(BeNil(), "a succeeded Job is cleaned up")
			}
		}).Should(Succeed())
		waitSettled(t.Name)
	})
})

var _ = Describe("A PostgreSQL major version that arrives through a class", func() {
	It("is held: the database keeps its version and the Tenant is Degraded, until allowMajorVersionUpgrade is set", func() {
		ensureOperatorNamespace()
		name := uniqueName("pgmove")
		for class, version := range map[string]string{name + "-16": "16.4-alpine", name + "-17": "17.2-alpine"} {
			c := newClass(class)
			c.Spec.Template.Database = &silov1.DatabaseSpec{Version: version}
			Expect(k8s.Create(ctx, c)).To(Succeed())
		}
		t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: silov1.TenantSpec{Class: name + "-16"}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		waitSettled(name)
		dbImage := func(g Gomega) string {
			s := &appsv1.StatefulSet{}
			g.Expect(get(s, "tenant-"+name, controllers.DatabaseName)).To(Succeed())
			return s.Spec.Template.Spec.Containers[0].Image
		}
		Expect(dbImage(Default)).To(HaveSuffix(":16.4-alpine"))

		mutateTenant(name, func(t *silov1.Tenant) { t.Spec.Class = name + "-17" })
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, got)).To(Succeed())
			degraded := meta.FindStatusCondition(got.Status.Conditions, silov1.DegradedCondition)
			g.Expect(degraded).NotTo(BeNil())
			g.Expect(degraded.Reason).To(Equal(silov1.DatabaseMajorUpgradeReason))
			g.Expect(degraded.Message).To(ContainSubstring("pg_upgrade"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(dbImage(g)).To(HaveSuffix(":16.4-alpine")) }, "1s", "100ms").Should(Succeed())

		By("the documented opt-in (the positive control)")
		mutateTenant(name, func(t *silov1.Tenant) {
			t.Spec.Database = &silov1.DatabaseSpec{AllowMajorVersionUpgrade: true}
		})
		Eventually(func(g Gomega) { g.Expect(dbImage(g)).To(HaveSuffix(":17.2-alpine")) }).Should(Succeed())
	})
})
