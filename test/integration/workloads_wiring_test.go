package integration

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// credentialSecrets are the generated credentials of a full Tenant.
var credentialSecrets = []string{"queue-credentials", "cache-credentials", "database-credentials"}

// ensureOperatorNamespace creates the operator's namespace, where external service
// Secrets live.
func ensureOperatorNamespace() {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opConfig.OperatorNamespace}}
	if err := k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}

var _ = Describe("Tenant credentials", func() {
	It("survive a spec change and an operator restart byte for byte", func() {
		t := createTenant(fullTenant(uniqueName("creds")))
		ns := controllers.NamespaceFor(t)
		before := map[string]*corev1.Secret{}
		for _, name := range credentialSecrets {
			s := &corev1.Secret{}
			Expect(get(s, ns, name)).To(Succeed())
			Expect(s.Data["password"]).To(HaveLen(48))
			Expect(s.Immutable).To(Equal(ptr.To(true)))
			Expect(metav1.GetControllerOf(s).UID).To(Equal(t.UID))
			before[name] = s
		}
		settings := secretData(ns, controllers.SettingsSecretName)

		By("changing the spec")
		mutateTenant(t.Name, func(t *silov1.Tenant) {
			t.Spec.Cache.Version = "8.1.4-alpine"
			t.Spec.Queue.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
		})
		t = waitReconciled(t.Name)
		cache := &appsv1.Deployment{}
		Expect(get(cache, ns, controllers.CacheName)).To(Succeed())
		Expect(cache.Spec.Template.Spec.Containers[0].Image).To(Equal("docker.io/valkey/valkey:8.1.4-alpine"))

		By("restarting the operator")
		restartOperator(func() { mutateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Workers.Replicas = ptr.To(int32(3)) }) })
		t = waitReconciled(t.Name)
		workers := &appsv1.Deployment{}
		Expect(get(workers, ns, controllers.WorkersName)).To(Succeed())
		Expect(workers.Spec.Replicas).To(Equal(ptr.To(int32(3))), "the new operator reconciled")

		for _, name := range credentialSecrets {
			s := &corev1.Secret{}
			Expect(get(s, ns, name)).To(Succeed())
			Expect(s.Data).To(Equal(before[name].Data), name)
			Expect(s.ResourceVersion).To(Equal(before[name].ResourceVersion), "%s was written again", name)
		}
		Expect(secretData(ns, controllers.SettingsSecretName)).To(Equal(settings))
	})

	It("are kept with the volumes when the Tenant is deleted with Retain, and reused by a Tenant of the same name", func() {
		t := createTenant(fullTenant(uniqueName("retain")))
		ns := controllers.NamespaceFor(t)
		creds := map[string]map[string][]byte{}
		for _, name := range credentialSecrets {
			creds[name] = secretData(ns, name)
		}
		pvc := &corev1.PersistentVolumeClaim{}
		Expect(get(pvc, ns, controllers.StorageName)).To(Succeed())

		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(t), &silov1.Tenant{})) }).Should(BeTrue())
		kept := &corev1.PersistentVolumeClaim{}
		Expect(get(kept, ns, controllers.StorageName)).To(Succeed())
		Expect(kept.OwnerReferences).To(BeEmpty(), "garbage collection would delete the volume with the Tenant")
		for _, name := range credentialSecrets {
			s := &corev1.Secret{}
			Expect(get(s, ns, name)).To(Succeed())
			Expect(s.OwnerReferences).To(BeEmpty(), name)
		}

		again := createTenant(fullTenant(t.Name))
		Expect(again.UID).NotTo(Equal(t.UID))
		for _, name := range credentialSecrets {
			s := &corev1.Secret{}
			Expect(get(s, ns, name)).To(Succeed())
			Expect(s.Data).To(Equal(creds[name]), "%s changed", name)
			Expect(metav1.GetControllerOf(s)).NotTo(BeNil())
			Expect(metav1.GetControllerOf(s).UID).To(Equal(again.UID), "%s is adopted", name)
		}
		Expect(get(kept, ns, controllers.StorageName)).To(Succeed())
		Expect(kept.UID).To(Equal(pvc.UID), "the same volume claim")
		// Retain scaled the app to zero; an autoscaler never scales up from there.
		app := &appsv1.Deployment{}
		Expect(get(app, ns, controllers.AppName)).To(Succeed())
		Expect(app.Spec.Replicas).To(Equal(ptr.To(int32(2))), "the app is handed back to its autoscaler at minReplicas")
	})
})

var _ = Describe("Tenant placement", func() {
	It("puts the node pool, runtime class and region on every pod template and the region's storage class on every volume", func() {
		t := fullTenant(uniqueName("placed"))
		t.Spec.Isolation.NodePool = "acme-dedicated"
		t.Spec.Isolation.RuntimeClassName = "gvisor"
		t.Spec.Placement.Region = "eu-west-1"
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		pods := map[string]corev1.PodSpec{}
		for _, name := range []string{controllers.AppName, controllers.WorkersName, controllers.CacheName} {
			d := &appsv1.Deployment{}
			Expect(get(d, ns, name)).To(Succeed())
			pods[name] = d.Spec.Template.Spec
		}
		for _, name := range []string{controllers.QueueName, controllers.DatabaseName} {
			s := &appsv1.StatefulSet{}
			Expect(get(s, ns, name)).To(Succeed())
			pods[name] = s.Spec.Template.Spec
			Expect(s.Spec.VolumeClaimTemplates).To(HaveLen(1))
			Expect(s.Spec.VolumeClaimTemplates[0].Spec.StorageClassName).To(Equal(ptr.To("fast-eu")), name)
		}
		Expect(pods).To(HaveLen(5))
		for name, p := range pods {
			Expect(p.NodeSelector).To(Equal(map[string]string{silov1.NodePoolLabel: "acme-dedicated"}), name)
			Expect(p.Tolerations).To(ConsistOf(corev1.Toleration{Key: silov1.NodePoolLabel, Operator: corev1.TolerationOpEqual,
				Value: "acme-dedicated", Effect: corev1.TaintEffectNoSchedule}), name)
			Expect(p.RuntimeClassName).To(Equal(ptr.To("gvisor")), name)
			Expect(p.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).To(ConsistOf(
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "topology.kubernetes.io/region", Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-west-1"}}}}), name)
		}
		pvc := &corev1.PersistentVolumeClaim{}
		Expect(get(pvc, ns, controllers.StorageName)).To(Succeed())
		Expect(pvc.Spec.StorageClassName).To(Equal(ptr.To("fast-eu")))
	})
})

var _ = Describe("An external database", func() {
	BeforeEach(ensureOperatorNamespace)

	// externalSecret is the platform's Secret of the Tenant's external database,
	// labelled for it.
	externalSecret := func(tenant, name string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opConfig.OperatorNamespace,
				Labels: map[string]string{silov1.TenantLabel: tenant}},
			StringData: map[string]string{"DATABASE_URL": "postgres://acme:s3cret@db.example.com:5432/acme", "PGSSLMODE": "require"},
		}
	}

	It("takes the tenant's settings from the named Secret and runs no database of its own", func() {
		name := uniqueName("extdb")
		Expect(k8s.Create(ctx, externalSecret(name, name+"-db"))).To(Succeed())
		t := newTenant(name)
		t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: name + "-db"}}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		settings := secretData(ns, controllers.SettingsSecretName)
		Expect(settings).To(HaveKeyWithValue("DATABASE_URL", []byte("postgres://acme:s3cret@db.example.com:5432/acme")))
		Expect(settings).To(HaveKeyWithValue("PGSSLMODE", []byte("require")))
		Expect(isNotFound(get(&appsv1.StatefulSet{}, ns, controllers.DatabaseName))).To(BeTrue())
		Expect(isNotFound(get(&corev1.Service{}, ns, controllers.DatabaseName))).To(BeTrue())
		Expect(isNotFound(get(&corev1.Secret{}, ns, "database-credentials"))).To(BeTrue())
		Expect(componentStatus(t, "database")).To(Equal(&silov1.ComponentStatus{Name: "database", Ready: true}))
		Expect(t.Status.Endpoints).NotTo(HaveKey("database"), "the external address may carry credentials")
	})

	It("makes the Tenant Degraded naming a missing Secret, and Ready once it appears", func() {
		name := uniqueName("extmissing")
		t := newTenant(name)
		t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: name + "-db"}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		ns := controllers.NamespaceFor(t)
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(t.Status.Phase).To(Equal(silov1.PhaseDegraded))
			c := readyCondition(t)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(silov1.ExternalSecretMissingReason))
			g.Expect(c.Message).To(ContainSubstring(opConfig.OperatorNamespace + "/" + name + "-db"))
		}).Should(Succeed())

		Expect(k8s.Create(ctx, externalSecret(name, name+"-db"))).To(Succeed())
		Eventually(func(g Gomega) {
			// Play the Deployment controller for the app (its settings change rolls it).
			markDeploymentReady(g, ns, controllers.AppName)
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(t.Status.Phase).To(Equal(silov1.PhaseReady))
			g.Expect(readyCondition(t).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Expect(secretData(ns, controllers.SettingsSecretName)).To(HaveKey("DATABASE_URL"))
	})
})

var _ = Describe("The sample Tenants", func() {
	for _, file := range []string{"silo_v1alpha1_tenant_minimal.yaml", "silo_v1alpha1_tenant_full.yaml"} {
		It("are accepted by the API server: "+file, func() {
			raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", file))
			Expect(err).NotTo(HaveOccurred())
			t := &silov1.Tenant{}
			Expect(yaml.UnmarshalStrict(raw, t)).To(Succeed())
			Expect(k8s.Create(ctx, t, client.DryRunAll)).To(Succeed())
		})
	}
})

var _ = Describe("Workload validation", func() {
	It("refuses an empty file storage volume with a message that says what to give", func() {
		t := newTenant(uniqueName("badsize"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("0")}
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(MatchError(ContainSubstring(`storage.size must be a positive quantity`)))
	})

	It("refuses an external Secret name that cannot name a Secret", func() {
		t := newTenant(uniqueName("badsecret"))
		t.Spec.Queue = &silov1.QueueSpec{External: &silov1.ExternalService{SecretName: "Not_A_Name"}}
		Expect(k8s.Create(ctx, t, client.DryRunAll)).To(MatchError(ContainSubstring("spec.queue.external.secretName")))
	})

	It("lets a managed database become external even though its storage was set", func() {
		t := newTenant(uniqueName("toext"))
		t.Spec.Database = &silov1.DatabaseSpec{Storage: ptr.To(resource.MustParse("5Gi"))}
		t = createTenant(t)
		mutateTenant(t.Name, func(t *silov1.Tenant) {
			t.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "somewhere"}}
		})
	})
})
