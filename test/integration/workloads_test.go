package integration

import (
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

var _ = Describe("A full Tenant's workloads", func() {
	var (
		t  *silov1.Tenant
		ns string
	)
	BeforeEach(func() {
		t = createTenant(fullTenant(uniqueName("full")))
		ns = controllers.NamespaceFor(t)
	})

	It("creates every component's objects, by kind", func() {
		counts := countByKind(managedObjects(t))
		var lines []string
		for kind, n := range counts {
			lines = append(lines, fmt.Sprintf("%s=%d", kind, n))
		}
		sort.Strings(lines)
		GinkgoWriter.Printf("objects of one full Tenant: %s\n", strings.Join(lines, " "))
		Expect(counts).To(Equal(map[string]int{
			"Namespace": 1, "ServiceAccount": 2, // default, tenant-workload
			"ResourceQuota": 1, "LimitRange": 1, "NetworkPolicy": 5, "Role": 1,
			"Deployment":              3, // app, workers, cache
			"StatefulSet":             2, // queue, database
			"Service":                 4, // app, queue, cache, database
			"HorizontalPodAutoscaler": 1,
			"PodDisruptionBudget":     1,
			"Ingress":                 1,
			"PersistentVolumeClaim":   1, // storage (the StatefulSets' claims come from their controller)
			"Secret":                  5, // three credentials, connection settings, the queue's configuration
		}))
		Expect(t.Status.Components).To(HaveLen(6))
		var names []string
		for _, c := range t.Status.Components {
			names = append(names, c.Name)
		}
		Expect(names).To(Equal([]string{"app", "workers", "queue", "cache", "database", "storage"}))
		Expect(t.Status.ComponentsReady).To(Equal("0/6"))
	})

	It("wires the app and the workers to every component through one Secret of connection settings", func() {
		settings := secretData(ns, controllers.SettingsSecretName)
		Expect(settings).To(HaveKey("DATABASE_URL"))
		Expect(settings).To(HaveKey("REDIS_URL"))
		Expect(settings).To(HaveKey("NATS_URL"))
		Expect(settings).To(HaveKeyWithValue("STORAGE_PATH", []byte("/data")))
		db := secretData(ns, "database-credentials")
		Expect(string(settings["DATABASE_URL"])).To(Equal(fmt.Sprintf(
			"postgres://app:%s@database.%s.svc:5432/app?sslmode=disable", db["password"], ns)))
		cache := secretData(ns, "cache-credentials")
		Expect(string(settings["REDIS_URL"])).To(Equal(fmt.Sprintf("redis://default:%s@cache.%s.svc:6379/0", cache["password"], ns)))
		queue := secretData(ns, "queue-credentials")
		Expect(string(settings["NATS_URL"])).To(Equal(fmt.Sprintf("nats://app:%s@queue.%s.svc:4222", queue["password"], ns)))

		for _, name := range []string{controllers.AppName, controllers.WorkersName} {
			d := &appsv1.Deployment{}
			Expect(get(d, ns, name)).To(Succeed())
			pod := d.Spec.Template.Spec
			Expect(pod.Containers).To(HaveLen(1))
			c := pod.Containers[0]
			Expect(c.Image).To(Equal(t.Spec.App.Image), "%s runs the app image", name)
			Expect(c.EnvFrom).To(ConsistOf(corev1.EnvFromSource{
				SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: controllers.SettingsSecretName}}}))
			Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/data")))
			Expect(pod.Volumes).To(ContainElement(HaveField("PersistentVolumeClaim.ClaimName", controllers.StorageName)))
			Expect(d.Spec.Template.Annotations).To(HaveKey(controllers.SettingsHashAnnotation))
		}
		workers := &appsv1.Deployment{}
		Expect(get(workers, ns, controllers.WorkersName)).To(Succeed())
		Expect(workers.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"/app", "worker"}))
		Expect(workers.Spec.Replicas).To(Equal(ptr.To(int32(2))))

		db2 := &appsv1.StatefulSet{}
		Expect(get(db2, ns, controllers.DatabaseName)).To(Succeed())
		env := db2.Spec.Template.Spec.Containers[0].Env
		Expect(env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "database-credentials")))
		Expect(db2.Spec.Template.Spec.Containers[0].Image).To(Equal(opConfig.Images.Postgres))
		Expect(db2.Spec.VolumeClaimTemplates).To(HaveLen(1))
		Expect(db2.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String()).To(Equal("5Gi"))

		Expect(t.Status.Endpoints).To(Equal(map[string]string{
			"app":      fmt.Sprintf("http://app.%s.svc:3000", ns),
			"queue":    fmt.Sprintf("nats://queue.%s.svc:4222", ns),
			"cache":    fmt.Sprintf("redis://cache.%s.svc:6379", ns),
			"database": fmt.Sprintf("postgres://database.%s.svc:5432/app", ns),
		}))
	})

	It("gives the app an autoscaler that owns its replicas, a disruption budget and an Ingress", func() {
		d := &appsv1.Deployment{}
		Expect(get(d, ns, controllers.AppName)).To(Succeed())
		for _, mf := range d.ManagedFields {
			if mf.Manager == controllers.FieldOwner {
				Expect(string(mf.FieldsV1.Raw)).NotTo(ContainSubstring(`"f:replicas"`), "Silo must not own the replicas the HPA owns")
			}
		}
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		Expect(get(hpa, ns, controllers.AppName)).To(Succeed())
		Expect(hpa.Spec.ScaleTargetRef.Name).To(Equal(controllers.AppName))
		Expect(hpa.Spec.MinReplicas).To(Equal(ptr.To(int32(2))))
		Expect(hpa.Spec.MaxReplicas).To(Equal(int32(5)))
		pdb := &policyv1.PodDisruptionBudget{}
		Expect(get(pdb, ns, controllers.AppName)).To(Succeed())
		Expect(pdb.Spec.Selector.MatchLabels).To(HaveKeyWithValue(silov1.ComponentLabel, "app"))
		in := &networkingv1.Ingress{}
		Expect(get(in, ns, controllers.AppName)).To(Succeed())
		Expect(in.Spec.Rules).To(HaveLen(1))
		Expect(in.Spec.Rules[0].Host).To(Equal(t.Spec.App.Ingress.Host))
		Expect(in.Spec.TLS).To(ConsistOf(networkingv1.IngressTLS{Hosts: []string{t.Spec.App.Ingress.Host}, SecretName: t.Name + "-tls"}))
		Expect(in.Spec.IngressClassName).To(Equal(ptr.To("nginx")))
	})

	It("builds every component's pods so that the restricted Pod Security Standard admits them", func() {
		templates := map[string]corev1.PodTemplateSpec{}
		for _, name := range []string{controllers.AppName, controllers.WorkersName, controllers.CacheName} {
			d := &appsv1.Deployment{}
			Expect(get(d, ns, name)).To(Succeed())
			templates[name] = d.Spec.Template
		}
		for _, name := range []string{controllers.QueueName, controllers.DatabaseName} {
			s := &appsv1.StatefulSet{}
			Expect(get(s, ns, name)).To(Succeed())
			tmpl := s.Spec.Template
			// The StatefulSet controller adds a volume per claim template.
			for _, vct := range s.Spec.VolumeClaimTemplates {
				tmpl.Spec.Volumes = append(tmpl.Spec.Volumes, corev1.Volume{Name: vct.Name, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vct.Name + "-" + name + "-0"}}})
			}
			templates[name] = tmpl
		}
		n := &corev1.Namespace{}
		Expect(get(n, "", ns)).To(Succeed())
		Expect(n.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		for name, tmpl := range templates {
			Expect(tmpl.Spec.AutomountServiceAccountToken).To(Equal(ptr.To(false)), name)
			Expect(tmpl.Spec.Containers[0].ReadinessProbe).NotTo(BeNil(), name)
			pod := podFromTemplate(ns, name+"-pss", tmpl)
			Expect(k8s.Create(ctx, pod, client.DryRunAll)).To(Succeed(), "the %s pod is refused", name)
		}
		// The check itself can fail: the same pod as root is refused.
		tmpl := templates[controllers.AppName]
		tmpl.Spec.SecurityContext.RunAsUser = ptr.To(int64(0))
		err := k8s.Create(ctx, podFromTemplate(ns, "root-pss", tmpl), client.DryRunAll)
		Expect(err).To(MatchError(ContainSubstring(`violates PodSecurity "restricted:latest"`)))
	})

	It("writes nothing when the unchanged Tenant is reconciled again", func() {
		before := managedObjects(t)
		Expect(before).To(HaveLen(29))
		// Wait for the operator to go quiet on this Tenant. Writes are counted for this
		// Tenant only: other specs' Tenants and classes may still be settling.
		Consistently(func() int { return tenantWrites(t) }).WithTimeout(time.Second).Should(Equal(tenantWrites(t)))
		writes := tenantWrites(t)
		count := reconcileCount()
		// A metadata-only change triggers a reconcile without changing the spec.
		mutateTenant(t.Name, func(t *silov1.Tenant) {
			if t.Annotations == nil {
				t.Annotations = map[string]string{}
			}
			t.Annotations["test.silo.dev/poke"] = "workloads"
		})
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		pokedRV := t.ResourceVersion
		Eventually(reconcileCount).Should(BeNumerically(">", count))
		Expect(managedObjects(t)).To(Equal(before))
		Expect(tenantWrites(t)).To(Equal(writes), "the operator sent write requests for an unchanged Tenant: %v", mgr.Requests.Snapshot())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		Expect(t.ResourceVersion).To(Equal(pokedRV), "the status was written again")
	})

	It("becomes Ready when every component reports ready", func() {
		Eventually(func(g Gomega) {
			for _, d := range []string{controllers.AppName, controllers.WorkersName, controllers.CacheName} {
				markDeploymentReady(g, ns, d)
			}
			for _, s := range []string{controllers.QueueName, controllers.DatabaseName} {
				markStatefulSetReady(g, ns, s)
			}
			markClaimBound(g, ns, controllers.StorageName)
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.ComponentsReady).To(Equal("6/6"))
			g.Expect(got.Status.Phase).To(Equal(silov1.PhaseReady))
			g.Expect(readyCondition(got).Status).To(Equal(metav1.ConditionTrue))
			app := componentStatus(got, "app")
			g.Expect(app.Replicas).To(Equal(int32(1)), "the API server defaults an HPA-owned Deployment to 1 replica")
		}).Should(Succeed())
	})

	It("rolls the app when its connection settings change", func() {
		d := &appsv1.Deployment{}
		Expect(get(d, ns, controllers.AppName)).To(Succeed())
		before := d.Spec.Template.Annotations[controllers.SettingsHashAnnotation]
		mutateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Storage = nil })
		Eventually(func(g Gomega) {
			g.Expect(get(d, ns, controllers.AppName)).To(Succeed())
			g.Expect(d.Spec.Template.Annotations[controllers.SettingsHashAnnotation]).NotTo(Equal(before))
			g.Expect(d.Spec.Template.Spec.Volumes).NotTo(ContainElement(HaveField("Name", "storage")))
		}).Should(Succeed())
		Expect(secretData(ns, controllers.SettingsSecretName)).NotTo(HaveKey("STORAGE_PATH"))
		Expect(get(&corev1.PersistentVolumeClaim{}, ns, controllers.StorageName)).To(Succeed(), "the volume is kept")
	})

	It("scales everything to zero when suspended, keeping volumes and credentials, and back when resumed", func() {
		creds := secretData(ns, "database-credentials")
		mutateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			for _, name := range []string{controllers.AppName, controllers.WorkersName, controllers.CacheName} {
				d := &appsv1.Deployment{}
				g.Expect(get(d, ns, name)).To(Succeed())
				g.Expect(d.Spec.Replicas).To(Equal(ptr.To(int32(0))), name)
			}
			for _, name := range []string{controllers.QueueName, controllers.DatabaseName} {
				s := &appsv1.StatefulSet{}
				g.Expect(get(s, ns, name)).To(Succeed())
				g.Expect(s.Spec.Replicas).To(Equal(ptr.To(int32(0))), name)
			}
			g.Expect(isNotFound(get(&autoscalingv2.HorizontalPodAutoscaler{}, ns, controllers.AppName))).To(BeTrue(), "the HPA would scale back up")
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal(silov1.PhaseSuspended))
		}).Should(Succeed())
		Expect(get(&corev1.PersistentVolumeClaim{}, ns, controllers.StorageName)).To(Succeed())
		Expect(secretData(ns, "database-credentials")).To(Equal(creds))

		mutateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Suspend = false })
		Eventually(func(g Gomega) {
			g.Expect(get(&autoscalingv2.HorizontalPodAutoscaler{}, ns, controllers.AppName)).To(Succeed())
			app := &appsv1.Deployment{}
			g.Expect(get(app, ns, controllers.AppName)).To(Succeed())
			// An HPA leaves a Deployment at zero replicas alone: Silo must hand it back at one.
			g.Expect(app.Spec.Replicas).To(Equal(ptr.To(int32(1))))
			w := &appsv1.Deployment{}
			g.Expect(get(w, ns, controllers.WorkersName)).To(Succeed())
			g.Expect(w.Spec.Replicas).To(Equal(ptr.To(int32(2))))
			s := &appsv1.StatefulSet{}
			g.Expect(get(s, ns, controllers.DatabaseName)).To(Succeed())
			g.Expect(s.Spec.Replicas).To(Equal(ptr.To(int32(1))))
			got := &silov1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal(silov1.PhaseProvisioning))
		}).Should(Succeed())
	})

	It("refuses a change of the database volume size with a message that says what to do", func() {
		Eventually(func() error {
			got := &silov1.Tenant{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			got.Spec.Database.Storage = ptr.To(resource.MustParse("50Gi"))
			return k8s.Update(ctx, got)
		}).Should(MatchError(ContainSubstring("database.storage cannot change once the database exists")))
	})
})
