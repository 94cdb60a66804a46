package integration

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// annotate sets (or, with "", removes) an annotation of the Tenant.
func annotate(name, key, value string) {
	v := "null"
	if value != "" {
		v = fmt.Sprintf("%q", value)
	}
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%s}}}`, key, v)
	Expect(k8s.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}},
		client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// rotationOf returns the Tenant's last rotation of a service, or nil.
func rotationOf(g Gomega, name, service string) *silov1.CredentialRotation {
	t := &silov1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
	if t.Status.Credentials == nil {
		return nil
	}
	for i := range t.Status.Credentials.Rotations {
		if r := &t.Status.Credentials.Rotations[i]; r.Service == service {
			return r
		}
	}
	return nil
}

// degradedOf reads the Tenant and returns it with its Degraded condition.
func degradedOf(g Gomega, name string) (*silov1.Tenant, *metav1.Condition) {
	t := &silov1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
	return t, meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
}

// componentJobs returns the Tenant's Jobs of a component.
func componentJobs(g Gomega, tenant, component string) []batchv1.Job {
	jobs := &batchv1.JobList{}
	g.Expect(k8s.List(ctx, jobs, client.InNamespace("tenant-"+tenant),
		client.MatchingLabels{silov1.ComponentLabel: component})).To(Succeed())
	return jobs.Items
}

// rotationJobs returns the names of the Tenant's rotation Jobs.
func rotationJobs(g Gomega, tenant string) []string {
	var names []string
	for _, j := range componentJobs(g, tenant, controllers.RotationComponent) {
		names = append(names, j.Name)
	}
	return names
}

// finishRotationJob waits for the rotation Job of a step and plays the Job controller.
func finishRotationJob(tenant, service, step, request string, succeeded bool) {
	name := fmt.Sprintf("rotate-%s-%s-", service, step)
	Eventually(func(g Gomega) {
		jobs := &batchv1.JobList{}
		g.Expect(k8s.List(ctx, jobs, client.InNamespace("tenant-"+tenant))).To(Succeed())
		var job *batchv1.Job
		for i := range jobs.Items {
			if j := &jobs.Items[i]; j.Annotations[silov1.RotationRequestAnnotation] == request && len(j.Name) > len(name) && j.Name[:len(name)] == name {
				job = j
			}
		}
		g.Expect(job).NotTo(BeNil(), "no %s Job of %s", step, request)
		finishJob(g, job, succeeded)
	}).Should(Succeed())
}

// appGeneration returns the generation and settings hash of the app's Deployment.
func appGeneration(g Gomega, tenant string) (int64, string) {
	d := &appsv1.Deployment{}
	g.Expect(get(d, "tenant-"+tenant, controllers.AppName)).To(Succeed())
	return d.Generation, d.Spec.Template.Annotations[controllers.SettingsHashAnnotation]
}

// secretDataG reads a Secret's data inside Eventually.
func secretDataG(g Gomega, ns, name string) map[string][]byte {
	s := &corev1.Secret{}
	g.Expect(get(s, ns, name)).To(Succeed())
	return s.Data
}

// credentialsOf returns the data of every credentials Secret of the Tenant.
func credentialsOf(tenant string, services ...string) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for _, s := range services {
		out[s] = secretData("tenant-"+tenant, s+"-credentials")
	}
	return out
}

// rotationTenant creates a Tenant with a database, a cache and workers, settled.
func rotationTenant(prefix string) string {
	t := newTenant(uniqueName(prefix))
	t.Spec.Database = &silov1.DatabaseSpec{}
	t.Spec.Cache = &silov1.CacheSpec{}
	t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
	Expect(k8s.Create(ctx, t)).To(Succeed())
	waitSettled(t.Name)
	return t.Name
}

// restartLosingRotationStatus restarts the operator as if it had stopped before
// writing the status of a rotation it started (the request looks new again), and
// checks that the rotation of service resumes with the staging Secret it had: the
// new password is never generated twice.
func restartLosingRotationStatus(name, service string, staging *corev1.Secret) {
	GinkgoHelper()
	restartOperator(func() {
		t := &silov1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
		t.Status.Credentials = nil
		Expect(k8s.Status().Update(ctx, t)).To(Succeed())
	})
	Eventually(func(g Gomega) {
		g.Expect(rotationOf(g, name, service)).To(HaveField("Phase", silov1.RotationApplying))
	}).Should(Succeed())
	again := &corev1.Secret{}
	Expect(get(again, "tenant-"+name, service+"-credentials-next")).To(Succeed())
	Expect(again.UID).To(Equal(staging.UID), "the staged password is kept, never generated again")
}

// queueTenant creates a Tenant with a queue and workers, settled.
func queueTenant(prefix string) (name, ns string) {
	t := newTenant(uniqueName(prefix))
	t.Spec.Queue = &silov1.QueueSpec{}
	t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
	Expect(k8s.Create(ctx, t)).To(Succeed())
	waitSettled(t.Name)
	return t.Name, "tenant-" + t.Name
}

// natsConfigOf returns the queue's configuration file, which lists its users.
func natsConfigOf(g Gomega, ns string) string {
	return string(secretDataG(g, ns, "queue-config")["nats.conf"])
}

// natsLogin is how a user and its password appear in the queue's configuration file.
func natsLogin(user, password []byte) string {
	return fmt.Sprintf("{user: %q, password: %q}", user, password)
}

// generationOf returns the generation of a workload.
func generationOf(g Gomega, obj client.Object, ns, name string) int64 {
	g.Expect(get(obj, ns, name)).To(Succeed())
	return obj.GetGeneration()
}

var _ = Describe("Credential rotation", func() {
	It("rotates the queue's password without restarting it: both passwords work until the app and the workers have rolled, once", func() {
		name, ns := queueTenant("rotate-queue")
		before := secretData(ns, "queue-credentials")
		queue := &appsv1.StatefulSet{}
		Expect(get(queue, ns, controllers.QueueName)).To(Succeed())
		gen, hash := appGeneration(Default, name)
		workersGen := generationOf(Default, &appsv1.Deployment{}, ns, controllers.WorkersName)
		old := natsLogin(before["username"], before["password"])
		Expect(natsConfigOf(Default, ns)).To(ContainSubstring(old))

		annotate(name, silov1.RotateCredentialsAnnotation, "queue")
		staging := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.QueueName)).To(HaveField("Phase", silov1.RotationApplying))
			g.Expect(get(staging, ns, "queue-credentials-next")).To(Succeed())
			g.Expect(natsConfigOf(g, ns)).To(ContainSubstring(natsLogin(staging.Data["username"], staging.Data["password"])),
				"the queue's configuration lists the new password before the Job asks it to reload")
			g.Expect(rotationJobs(g, name)).To(HaveLen(1))
		}).Should(Succeed())
		staged := staging.Data
		neu := natsLogin(staged["username"], staged["password"])
		Expect(string(staged["username"])).To(Equal("app_b"), "NATS users are unique by name: the new password goes to the other user")
		Expect(staged["previous-password"]).To(Equal(before["password"]))
		Expect(natsConfigOf(Default, ns)).To(ContainSubstring(old), "the old password still works")
		Expect(secretData(ns, "queue-credentials")).To(Equal(before), "nothing switches before the queue has the password")

		restartLosingRotationStatus(name, controllers.QueueName, staging)
		Expect(natsConfigOf(Default, ns)).To(And(ContainSubstring(old), ContainSubstring(neu)))

		finishRotationJob(name, "queue", "apply", "queue", true)
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.QueueName)).To(HaveField("Phase", silov1.RotationRollingOut))
			g.Expect(secretDataG(g, ns, "queue-credentials")).To(Equal(map[string][]byte{
				"username": staged["username"], "password": staged["password"]}))
			g.Expect(string(secretDataG(g, ns, controllers.SettingsSecretName)["NATS_URL"])).To(
				ContainSubstring("app_b:" + string(staged["password"]) + "@"))
			newGen, newHash := appGeneration(g, name)
			g.Expect(newHash).NotTo(Equal(hash))
			g.Expect(newGen).To(Equal(gen + 1))
			g.Expect(generationOf(g, &appsv1.Deployment{}, ns, controllers.WorkersName)).To(Equal(workersGen + 1))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(natsConfigOf(g, ns)).To(And(ContainSubstring(old), ContainSubstring(neu)))
			g.Expect(rotationJobs(g, name)).To(HaveLen(1))
		}, "300ms").Should(Succeed(), "the old password is not retired before the app and the workers have rolled")

		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			settleWorkloads(g, t)
			g.Expect(rotationOf(g, name, controllers.QueueName)).To(HaveField("Phase", silov1.RotationRetiring))
			g.Expect(natsConfigOf(g, ns)).To(And(ContainSubstring(neu), Not(ContainSubstring(old))),
				"the configuration loses the old password when the retire step starts")
		}).Should(Succeed())
		finishRotationJob(name, "queue", "retire", "queue", true)
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.QueueName)).To(HaveField("Phase", silov1.RotationSucceeded))
			g.Expect(get(&corev1.Secret{}, ns, "queue-credentials-next")).To(MatchError(isNotFound, "the staging Secret is gone"))
		}).Should(Succeed())

		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "after")
		after := natsConfigOf(Default, ns)
		Consistently(func(g Gomega) {
			g.Expect(natsConfigOf(g, ns)).To(Equal(after))
			newGen, _ := appGeneration(g, name)
			g.Expect(newGen).To(Equal(gen+1), "the app rolled exactly once")
			g.Expect(generationOf(g, &appsv1.Deployment{}, ns, controllers.WorkersName)).To(Equal(workersGen+1), "the workers rolled exactly once")
			g.Expect(generationOf(g, &appsv1.StatefulSet{}, ns, controllers.QueueName)).To(Equal(queue.Generation),
				"the queue's pod template never changed: it reloads its configuration, it does not restart")
			g.Expect(rotationJobs(g, name)).To(HaveLen(2))
		}, "500ms").Should(Succeed())
	})

	It("keeps the queue's old password when its rotation Job fails", func() {
		name, ns := queueTenant("rotate-queue-fail")
		before := secretData(ns, "queue-credentials")
		gen, _ := appGeneration(Default, name)
		annotate(name, silov1.RotateCredentialsAnnotation, "queue")
		finishRotationJob(name, "queue", "apply", "queue", false)
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.RotationFailedReason))
			g.Expect(d.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/rotate-queue-apply-"))
			g.Expect(rotationOf(g, name, controllers.QueueName)).To(HaveField("Phase", silov1.RotationFailed))
		}).Should(Succeed())
		Expect(secretData(ns, "queue-credentials")).To(Equal(before))
		Expect(natsConfigOf(Default, ns)).To(ContainSubstring(natsLogin(before["username"], before["password"])),
			"the old password stays in the queue's configuration")
		after, _ := appGeneration(Default, name)
		Expect(after).To(Equal(gen), "the app did not roll")
	})

	It("changes the database password once and rolls the app once; the old password works until the app has rolled", func() {
		name := rotationTenant("rotate")
		ns := "tenant-" + name
		before := secretData(ns, "database-credentials")
		gen, hash := appGeneration(Default, name)

		annotate(name, silov1.RotateCredentialsAnnotation, "database")
		var staged map[string][]byte
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.DatabaseName)).To(HaveField("Phase", silov1.RotationApplying))
			s := &corev1.Secret{}
			g.Expect(get(s, ns, "database-credentials-next")).To(Succeed())
			staged = s.Data
			g.Expect(rotationJobs(g, name)).To(HaveLen(1))
		}).Should(Succeed())
		Expect(string(staged["username"])).To(Equal("app_b"), "the new password goes to the other login role")
		Expect(staged["password"]).NotTo(Equal(before["password"]))
		Expect(staged["previous-password"]).To(Equal(before["password"]))
		Expect(secretData(ns, "database-credentials")).To(Equal(before), "nothing switches before the service has the password")

		finishRotationJob(name, "database", "apply", "database", true)
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.DatabaseName)).To(HaveField("Phase", silov1.RotationRollingOut))
			g.Expect(secretDataG(g, ns, "database-credentials")).To(Equal(map[string][]byte{
				"username": staged["username"], "password": staged["password"]}))
			g.Expect(string(secretDataG(g, ns, controllers.SettingsSecretName)["DATABASE_URL"])).To(
				ContainSubstring("app_b:" + string(staged["password"]) + "@"))
			newGen, newHash := appGeneration(g, name)
			g.Expect(newHash).NotTo(Equal(hash))
			g.Expect(newGen).To(Equal(gen + 1))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return rotationJobs(g, name) }, "300ms").Should(HaveLen(1),
			"the old password is not retired before the app has rolled")

		Eventually(func(g Gomega) {
			t := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, t)).To(Succeed())
			settleWorkloads(g, t)
			g.Expect(rotationOf(g, name, controllers.DatabaseName)).To(HaveField("Phase", silov1.RotationRetiring))
		}).Should(Succeed())
		finishRotationJob(name, "database", "retire", "database", true)
		Eventually(func(g Gomega) {
			r := rotationOf(g, name, controllers.DatabaseName)
			g.Expect(r).To(HaveField("Phase", silov1.RotationSucceeded))
			g.Expect(r.CompletionTime).NotTo(BeNil())
			g.Expect(get(&corev1.Secret{}, ns, "database-credentials-next")).To(MatchError(isNotFound, "the staging Secret is gone"))
		}).Should(Succeed())

		poke(&silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, "after")
		after := secretData(ns, "database-credentials")
		Consistently(func(g Gomega) {
			g.Expect(secretDataG(g, ns, "database-credentials")).To(Equal(after))
			newGen, _ := appGeneration(g, name)
			g.Expect(newGen).To(Equal(gen+1), "the app rolled exactly once")
			g.Expect(rotationJobs(g, name)).To(HaveLen(2))
		}, "500ms").Should(Succeed())
	})

	It("never changes credentials without the annotation: across a restart, drift, a spec update and a class rollout", func() {
		ensureOperatorNamespace()
		class := newClass(uniqueName("rotate-class"))
		class.Spec.Template.App.Image = imageV1
		Expect(k8s.Create(ctx, class)).To(Succeed())
		t := newTenant(uniqueName("no-rotate"))
		t.Spec.Class = class.Name
		t.Spec.App.Image = "" // the class's
		t.Spec.Database = &silov1.DatabaseSpec{}
		t.Spec.Cache = &silov1.CacheSpec{}
		t.Spec.Queue = &silov1.QueueSpec{}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		name, ns := t.Name, "tenant-"+t.Name
		waitSettled(name)
		before := credentialsOf(name, "database", "cache", "queue")
		settings := secretData(ns, controllers.SettingsSecretName)
		queueConfig := secretData(ns, "queue-config")

		restartOperator(nil)
		s := &corev1.Secret{}
		Expect(get(s, ns, controllers.SettingsSecretName)).To(Succeed())
		s.Data["DATABASE_URL"] = []byte("postgres://someone:else@elsewhere/app")
		Expect(k8s.Update(ctx, s)).To(Succeed())
		Eventually(func() map[string][]byte { return secretData(ns, controllers.SettingsSecretName) }).Should(Equal(settings))
		c := &corev1.Secret{}
		Expect(get(c, ns, "database-credentials")).To(Succeed())
		c.Data["password"] = []byte("edited")
		Expect(k8s.Update(ctx, c)).NotTo(Succeed(), "credentials Secrets are immutable")

		mutateTenant(name, func(t *silov1.Tenant) { t.Spec.DisplayName = "Renamed" })
		Eventually(func(g Gomega) {
			cl := &silov1.TenantClass{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: class.Name}, cl)).To(Succeed())
			cl.Spec.Template.App.Image = imageV2
			g.Expect(k8s.Update(ctx, cl)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			tn := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
			settleWorkloads(g, tn)
			g.Expect(appImageOf(g, name)).To(Equal(imageV2))
			g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
		}).Should(Succeed())
		Expect(credentialsOf(name, "database", "cache", "queue")).To(Equal(before))
		Expect(secretData(ns, controllers.SettingsSecretName)).To(Equal(settings))
		Expect(secretData(ns, "queue-config")).To(Equal(queueConfig), "the queue's users and its reload password stay as they are")
		Expect(rotationJobs(Default, name)).To(BeEmpty())
		Expect(rotationOf(Default, name, controllers.DatabaseName)).To(BeNil())
	})

	It("resumes after a restart between any two steps without a second new password", func() {
		name := rotationTenant("rotate-crash")
		ns := "tenant-" + name
		annotate(name, silov1.RotateCredentialsAnnotation, "database,cache")
		staging := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(get(staging, ns, "database-credentials-next")).To(Succeed())
			g.Expect(rotationJobs(g, name)).To(HaveLen(2))
		}).Should(Succeed())

		restartLosingRotationStatus(name, controllers.DatabaseName, staging)

		restartOperator(func() {
			// Stopped in the middle of the switch: the apply Job succeeded and the old
			// credentials Secret was deleted, the new one not created yet.
			finishRotationJob(name, "database", "apply", "database,cache", true)
			c := &corev1.Secret{}
			Expect(get(c, ns, "database-credentials")).To(Succeed())
			Expect(k8s.Delete(ctx, c)).To(Succeed())
		})
		Eventually(func(g Gomega) {
			g.Expect(secretDataG(g, ns, "database-credentials")).To(Equal(map[string][]byte{
				"username": staging.Data["username"], "password": staging.Data["password"]}))
			g.Expect(rotationOf(g, name, controllers.DatabaseName)).To(HaveField("Phase", silov1.RotationRollingOut))
		}).Should(Succeed())
		Expect(secretData(ns, "cache-credentials")["password"]).To(Equal(
			secretData(ns, "cache-credentials-next")["previous-password"]), "the cache waits for its own Job")
	})

	It("keeps the old credentials and makes the Tenant Degraded when the rotation Job fails", func() {
		name := rotationTenant("rotate-fail")
		ns := "tenant-" + name
		before := secretData(ns, "cache-credentials")
		gen, _ := appGeneration(Default, name)
		annotate(name, silov1.RotateCredentialsAnnotation, "cache")
		finishRotationJob(name, "cache", "apply", "cache", false)
		Eventually(func(g Gomega) {
			t, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.RotationFailedReason))
			g.Expect(d.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/rotate-cache-apply-"))
			g.Expect(rotationOf(g, name, controllers.CacheName)).To(HaveField("Phase", silov1.RotationFailed))
			g.Expect(eventNote(g, t, silov1.RotationFailedReason)).To(ContainSubstring("unchanged"))
		}).Should(Succeed())
		Expect(secretData(ns, "cache-credentials")).To(Equal(before))
		after, _ := appGeneration(Default, name)
		Expect(after).To(Equal(gen), "the app did not roll")

		// A new value tries again (the positive control), and the Tenant is no longer
		// Degraded for the failed one.
		annotate(name, silov1.RotateCredentialsAnnotation, "cache@2")
		Eventually(func(g Gomega) {
			g.Expect(rotationOf(g, name, controllers.CacheName)).To(HaveField("Phase", silov1.RotationApplying))
			_, d := degradedOf(g, name)
			g.Expect(d.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
	})

	It("refuses a value it cannot act on, and says what to write", func() {
		name := rotationTenant("rotate-refused")
		annotate(name, silov1.RotateCredentialsAnnotation, "storage")
		Eventually(func(g Gomega) {
			_, d := degradedOf(g, name)
			g.Expect(d).To(HaveField("Reason", silov1.RotationRefusedReason))
			g.Expect(d.Message).To(ContainSubstring("kubectl annotate --overwrite tenant " + name))
		}).Should(Succeed())
		Expect(rotationJobs(Default, name)).To(BeEmpty())
	})
})
