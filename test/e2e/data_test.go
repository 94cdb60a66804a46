package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// runtimeClass is the RuntimeClass the data Tenant runs in: kwok runs no container,
// so any handler name does, but the API server's RuntimeClass admission refuses a pod
// whose class does not exist.
const runtimeClass = "e2e-sandbox"

// Exports and credential rotation on the local cluster. The Jobs are created by the
// operator as the chart's ServiceAccount, their pods are created by the real Job
// controller, admitted by the namespace's real Pod Security admission, and scheduled
// by the real scheduler onto the Tenant's node pool. kwok then reports every pod a Job
// owns Running, then Succeeded (its "pod-complete" stage): no container runs, so no
// pg_dump, psql or valkey-cli ever does. The Job controller marks the Job Complete
// and the operator goes on as it would after a real run: the export is handed over,
// the rotation swaps the Secret, rolls the app (real Deployment controller, pods
// simulated) and retires the old password. The database and the cache never see a
// new password: what is proved is the operator's side, on a real control plane.
var _ = Describe("Exports and credential rotation on a real control plane", Label("data"), Ordered, func() {
	var t *silov1.Tenant
	BeforeAll(func() {
		_, err := run("hack/local-cluster.sh", "runtimeclass", runtimeClass)
		Expect(err).NotTo(HaveOccurred())
		t = newTenant("data")
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("1Gi")), Version: "16.9-alpine"}
		t.Spec.Cache = &silov1.CacheSpec{Version: "8.0.2-alpine"}
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: string(corev1.ReadWriteOnce)}
		t.Spec.Isolation.NodePool = pool
		t.Spec.Isolation.RuntimeClassName = runtimeClass
		t.Spec.Placement.Region = "us-east-1"
		create(t)
		waitReady(t)
		namespace := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns(t)}, namespace)).To(Succeed())
		Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"),
			"the data Jobs' pods are admitted under the restricted standard")
	})

	It("export: a Job of the database's image, placed and restricted like the Tenant's pods, completes (simulated) and the claim is handed over", func() {
		id := "e2e-" + runID
		claim := "export-" + id
		annotateTenant(t, silov1.ExportAnnotation, id)

		job := waitJob(t, claim)
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		Expect(c.Image).To(SatisfyAll(Equal(workloadImage(t, controllers.DatabaseName)), HaveSuffix(":16.9-alpine")),
			"the export runs the database's own image (pg_dump of the same version)")
		for _, k := range []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"} {
			Expect(c.Env).To(ContainElement(secretEnv(k, controllers.SettingsSecretName, k)))
		}
		expectNoSecretsInline(t, c)
		expectRestrictedAndPlaced(t, pod)
		Expect(pod.Volumes).To(ContainElement(HaveField("PersistentVolumeClaim", HaveValue(
			Equal(corev1.PersistentVolumeClaimVolumeSource{ClaimName: "storage", ReadOnly: true})))), "the file storage, read-only")
		expectPodAdmitted(t, job)

		By("kwok completes the pod, the Job controller the Job, and the operator hands the claim over")
		waitJobComplete(t, claim)
		Eventually(func(g Gomega) {
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.Export).NotTo(BeNil())
			g.Expect(got.Status.Export.ID).To(Equal(id))
			g.Expect(got.Status.Export.Phase).To(Equal(silov1.ExportSucceeded))
			g.Expect(got.Status.Export.CompletionTime).NotTo(BeNil())
			pvc := &corev1.PersistentVolumeClaim{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: claim}, pvc)).To(Succeed())
			g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
			g.Expect(pvc.Spec.StorageClassName).To(HaveValue(Equal("local-us-east-1")), "the region's class")
			g.Expect(pvc.Labels).NotTo(HaveKey(silov1.ManagedByLabel), "the claim is still Silo's")
			g.Expect(pvc.OwnerReferences).To(BeEmpty(), "the claim would go with the Tenant")
			g.Expect(pvc.Labels).To(HaveKeyWithValue(silov1.ExportIDLabel, id))
			g.Expect(tenantEvents(g, t)).To(ContainElement(controllers.ExportSucceededEventReason))
		}).Should(Succeed())
	})

	It("rotation of the database: apply and retire Jobs as the tenant, the Secret swapped, the app rolled once", func() {
		rotate(t, controllers.DatabaseName, "database", "app_b")
	})

	It("rotation of the cache: apply and retire Jobs as the tenant, the Secret swapped, the app rolled once", func() {
		rotate(t, controllers.CacheName, "cache", "")
	})
})

// rotate asks for a rotation of one service and follows it to its end: each Job is
// checked when it appears, kwok completes it, and the operator takes the next step.
// user is the login the new credentials must have ("" when it does not change).
func rotate(t *silov1.Tenant, service, request, user string) {
	secret := service + "-credentials"
	before := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: secret}, before)).To(Succeed())
	app := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: controllers.AppName}, app)).To(Succeed())
	hash := app.Spec.Template.Annotations[controllers.SettingsHashAnnotation]
	annotateTenant(t, silov1.RotateCredentialsAnnotation, request)

	staging := service + "-credentials-next"
	for _, step := range []string{"apply", "retire"} {
		By("the " + step + " Job")
		name := fmt.Sprintf("rotate-%s-%s-%s", service, step, shortHash(request))
		job := waitJob(t, name)
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		Expect(c.Image).To(Equal(workloadImage(t, service)), "the service's own image and client")
		for env, key := range map[string]string{"PREVIOUS_USER": "previous-username", "PREVIOUS_PASSWORD": "previous-password",
			"NEW_USER": "username", "NEW_PASSWORD": "password"} {
			Expect(c.Env).To(ContainElement(secretEnv(env, staging, key)))
		}
		expectNoSecretsInline(t, c)
		expectRestrictedAndPlaced(t, pod)
		expectPodAdmitted(t, job)
		waitJobComplete(t, name)
	}

	By("the rotation succeeded: the Secret swapped, the staging Secret gone, the app rolled once")
	Eventually(func(g Gomega) {
		got := &silov1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
		g.Expect(got.Status.Credentials).NotTo(BeNil())
		g.Expect(got.Status.Credentials.Request).To(Equal(request))
		g.Expect(got.Status.Credentials.Rotations).To(ContainElement(SatisfyAll(
			HaveField("Service", service), HaveField("Request", request), HaveField("Phase", silov1.RotationSucceeded))))
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: staging}, &corev1.Secret{})).To(
			Satisfy(apierrors.IsNotFound), "the staging Secret is left")
		g.Expect(tenantEvents(g, t)).To(ContainElement(controllers.RotationSucceededEventReason))
	}).Should(Succeed())
	after := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: secret}, after)).To(Succeed())
	Expect(after.UID).NotTo(Equal(before.UID), "the immutable Secret is replaced")
	Expect(after.Data["password"]).NotTo(Equal(before.Data["password"]))
	wantUser := string(before.Data["username"])
	if user != "" {
		wantUser = user
	}
	Expect(string(after.Data["username"])).To(Equal(wantUser))

	// One new template (the settings hash), one rollout by the real Deployment
	// controller, and nothing after it.
	Consistently(func(g Gomega) {
		now := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), now)).To(Succeed())
		g.Expect(now.Generation).To(Equal(app.Generation+1), "the app's template changed more or less than once")
		g.Expect(now.Spec.Template.Annotations[controllers.SettingsHashAnnotation]).NotTo(Equal(hash))
		g.Expect(now.Status.ObservedGeneration).To(Equal(now.Generation))
		g.Expect(now.Status.UpdatedReplicas).To(Equal(ptr.Deref(now.Spec.Replicas, 1)))
		g.Expect(now.Status.Replicas).To(Equal(now.Status.UpdatedReplicas))
	}, 2*time.Second, 250*time.Millisecond).Should(Succeed())
}

// annotateTenant sets an annotation of t.
func annotateTenant(t *silov1.Tenant, key, value string) {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	Expect(k8s.Patch(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t.Name}},
		client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// shortHash is the operator's short hash of a request, in its rotation Jobs' names.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// waitJob waits for a Job of t's namespace and returns it; without one, the failure
// says what the Tenant's conditions say (an admission refusal, for one).
func waitJob(t *silov1.Tenant, name string) *batchv1.Job {
	job := &batchv1.Job{}
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: name}, job)
	}).Should(Succeed(), func() string {
		got := &silov1.Tenant{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(t), got); err != nil {
			return fmt.Sprintf("no Job %s (reading the Tenant: %v)", name, err)
		}
		return fmt.Sprintf("no Job %s; the Tenant's conditions: %+v", name, got.Status.Conditions)
	})
	return job
}

// waitJobComplete waits for the Job controller to mark a Job Complete.
func waitJobComplete(t *silov1.Tenant, name string) {
	Eventually(func(g Gomega) {
		job := &batchv1.Job{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: name}, job)).To(Succeed())
		g.Expect(job.Status.Conditions).To(ContainElement(SatisfyAll(
			HaveField("Type", batchv1.JobComplete), HaveField("Status", corev1.ConditionTrue))), "Job %s", name)
	}).Should(Succeed())
}

// secretEnv is an environment variable read from a Secret's key.
func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

// expectNoSecretsInline checks that no password of t's Secrets is in the container's
// command, arguments or literal environment: they come by reference only.
func expectNoSecretsInline(t *silov1.Tenant, c corev1.Container) {
	secrets := &corev1.SecretList{}
	Expect(k8s.List(ctx, secrets, client.InNamespace(ns(t)))).To(Succeed())
	inline := strings.Join(append(c.Command, c.Args...), "\n")
	for _, e := range c.Env {
		inline += "\n" + e.Value
	}
	n := 0
	for _, s := range secrets.Items {
		for key, v := range s.Data {
			if strings.Contains(strings.ToLower(key), "password") && len(v) > 0 {
				n++
				Expect(inline).NotTo(ContainSubstring(string(v)), "the %s of Secret %s is inline in the Job", key, s.Name)
			}
		}
	}
	Expect(n).To(BeNumerically(">", 0), "no password found to look for")
}

// expectRestrictedAndPlaced checks a Job's pod against the restricted Pod Security
// Standard and the placement of t's app (t runs on the node pool, in a region).
func expectRestrictedAndPlaced(t *silov1.Tenant, pod corev1.PodSpec) {
	Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	Expect(pod.SecurityContext.SeccompProfile).To(HaveValue(HaveField("Type", corev1.SeccompProfileTypeRuntimeDefault)))
	Expect(pod.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
	for _, c := range pod.Containers {
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()), c.Name)
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")), c.Name)
		Expect(c.SecurityContext.Privileged).To(Or(BeNil(), HaveValue(BeFalse())), c.Name)
	}
	app := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns(t), Name: controllers.AppName}, app)).To(Succeed())
	want := app.Spec.Template.Spec
	Expect(pod.NodeSelector).To(SatisfyAll(Equal(want.NodeSelector), HaveKeyWithValue(silov1.NodePoolLabel, pool)))
	Expect(pod.Tolerations).To(SatisfyAll(Equal(want.Tolerations), ContainElement(HaveField("Key", silov1.NodePoolLabel))))
	Expect(ptr.Deref(pod.RuntimeClassName, "")).To(SatisfyAll(Equal(ptr.Deref(want.RuntimeClassName, "")),
		Equal(t.Spec.Isolation.RuntimeClassName)))
	Expect(want.Affinity).NotTo(BeNil(), "the app has no node affinity: give t a region")
	Expect(pod.Affinity).NotTo(BeNil())
	Expect(pod.Affinity.NodeAffinity).To(SatisfyAll(Equal(want.Affinity.NodeAffinity), Not(BeNil())), "the region's node affinity")
}

// expectPodAdmitted checks that the Job controller's pod passed admission (Pod
// Security among it) and was scheduled on the Tenant's node pool in its region, and
// that the same namespace refuses a pod that is not restricted (so the admission is
// not a no-op).
func expectPodAdmitted(t *silov1.Tenant, job *batchv1.Job) {
	var pod corev1.Pod
	Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(k8s.List(ctx, pods, client.InNamespace(ns(t)),
			client.MatchingLabels{batchv1.JobNameLabel: job.Name})).To(Succeed())
		g.Expect(pods.Items).NotTo(BeEmpty(), "the Job controller made no pod for %s (refused by admission?)", job.Name)
		pod = pods.Items[0]
		g.Expect(pod.Spec.NodeName).NotTo(BeEmpty(), "pod %s is not scheduled", pod.Name)
	}).Should(Succeed())
	Expect(nodeOf(pod).Labels).To(SatisfyAll(HaveKeyWithValue(silov1.NodePoolLabel, pool),
		HaveKeyWithValue(regionLabel, t.Spec.Placement.Region)))

	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "not-restricted-", Namespace: ns(t)},
		Spec: *job.Spec.Template.Spec.DeepCopy()}
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	err := k8s.Create(ctx, bad, client.DryRunAll)
	Expect(err).To(HaveOccurred(), "the namespace admits a pod that may escalate privileges")
	Expect(err.Error()).To(ContainSubstring("violates PodSecurity"))
}

// workloadImage returns the image of the first container of a Deployment or, failing
// that, a StatefulSet of t's namespace.
func workloadImage(t *silov1.Tenant, name string) string {
	key := client.ObjectKey{Namespace: ns(t), Name: name}
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx, key, d); err == nil {
		return d.Spec.Template.Spec.Containers[0].Image
	}
	s := &appsv1.StatefulSet{}
	Expect(k8s.Get(ctx, key, s)).To(Succeed())
	return s.Spec.Template.Spec.Containers[0].Image
}

// tenantEvents returns the reasons of the events about t.
func tenantEvents(g Gomega, t *silov1.Tenant) []string {
	events := &eventsv1.EventList{}
	g.Expect(k8s.List(ctx, events)).To(Succeed())
	var reasons []string
	for _, e := range events.Items {
		if e.Regarding.Kind == "Tenant" && e.Regarding.Name == t.Name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}
