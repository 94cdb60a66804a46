package integration

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// configureAppPlatform gives the suite's operator the platform settings the specs of
// what a real app needs rely on.
func configureAppPlatform(p *controllers.Platform) {
	p.ClusterIssuers = []string{"letsencrypt", "letsencrypt-staging"}
}

// What a real app needs, as the children of a Tenant carry it.
var _ = Describe("A real app's Tenant", func() {
	It("gives the app and the workers the Tenant's probes, checking the app's port by default", func() {
		t := newTenant(uniqueName("probes"))
		t.Spec.App.Port = 3000
		t.Spec.App.ReadinessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/healthz"}}
		t.Spec.App.LivenessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/livez"}, PeriodSeconds: 20}
		t.Spec.App.StartupProbe = &silov1.Probe{TCPSocket: &silov1.TCPSocketProbe{}, FailureThreshold: 30}
		t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}, Probes: silov1.Probes{
			LivenessProbe: &silov1.Probe{Exec: &silov1.ExecProbe{Command: []string{"/app", "alive"}}}}}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		app := &appsv1.Deployment{}
		Expect(get(app, ns, controllers.AppName)).To(Succeed())
		c := app.Spec.Template.Spec.Containers[0]
		Expect(c.ReadinessProbe.HTTPGet).To(Equal(&corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(3000), Scheme: corev1.URISchemeHTTP}))
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/livez"))
		Expect(c.LivenessProbe.PeriodSeconds).To(Equal(int32(20)))
		Expect(c.StartupProbe.TCPSocket.Port).To(Equal(intstr.FromInt32(3000)))
		Expect(c.StartupProbe.FailureThreshold).To(Equal(int32(30)))

		workers := &appsv1.Deployment{}
		Expect(get(workers, ns, controllers.WorkersName)).To(Succeed())
		w := workers.Spec.Template.Spec.Containers[0]
		Expect(w.LivenessProbe.Exec.Command).To(Equal([]string{"/app", "alive"}))
		Expect(w.ReadinessProbe.Exec.Command).To(Equal([]string{"true"}), "the workers keep their default readiness")
	})
})

// pullSecret returns a registry credential in the operator's namespace, labelled for
// tenant (no label when tenant is empty).
func pullSecret(name, tenant, auth string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opConfig.OperatorNamespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"registry.example.com":{"auth":"` + auth + `"}}}`)},
	}
	if tenant != "" {
		s.Labels = map[string]string{silov1.TenantLabel: tenant}
	}
	return s
}

var _ = Describe("Image pull Secrets", func() {
	BeforeEach(ensureOperatorNamespace)

	It("are copied into the tenant namespace, kept in sync, used by every managed pod, and removed when withdrawn", func() {
		name := uniqueName("pull")
		src := pullSecret(name+"-registry", name, "dG9rZW4tMQ==")
		Expect(k8s.Create(ctx, src)).To(Succeed())
		t := newTenant(name)
		t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: src.Name}}
		t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
		t.Spec.Cache = &silov1.CacheSpec{}
		t.Spec.Database = &silov1.DatabaseSpec{}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		copied := &corev1.Secret{}
		Expect(get(copied, ns, src.Name)).To(Succeed())
		Expect(copied.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
		Expect(copied.Data).To(Equal(src.Data))
		Expect(copied.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue))
		for _, d := range []string{controllers.AppName, controllers.WorkersName, controllers.CacheName} {
			dep := &appsv1.Deployment{}
			Expect(get(dep, ns, d)).To(Succeed())
			Expect(dep.Spec.Template.Spec.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: src.Name}}), d)
		}
		db := &appsv1.StatefulSet{}
		Expect(get(db, ns, controllers.DatabaseName)).To(Succeed())
		Expect(db.Spec.Template.Spec.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: src.Name}}))

		By("rotating the credential in the operator's namespace")
		src.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{"registry.example.com":{"auth":"dG9rZW4tMg=="}}}`)
		Expect(k8s.Update(ctx, src)).To(Succeed())
		Eventually(func() []byte { return secretDataNow(ns, src.Name)[corev1.DockerConfigJsonKey] }).
			Should(Equal(src.Data[corev1.DockerConfigJsonKey]))

		By("withdrawing it: the label is removed")
		src.Labels = nil
		Expect(k8s.Update(ctx, src)).To(Succeed())
		Eventually(func() bool { return isNotFound(get(&corev1.Secret{}, ns, src.Name)) }).Should(BeTrue(),
			"a credential the platform withdrew stays in the tenant namespace")
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(readyCondition(t).Reason).To(Equal(silov1.PullSecretUnavailableReason))
			g.Expect(readyCondition(t).Message).To(ContainSubstring("is not labelled silo.dev/tenant=" + name))
		}).Should(Succeed())
	})

	It("never copies a Secret labelled for another tenant, and says so", func() {
		name := uniqueName("pullother")
		src := pullSecret(name+"-registry", "someone-else", "b3RoZXI=")
		Expect(k8s.Create(ctx, src)).To(Succeed())
		t := newTenant(name)
		t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: src.Name}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(t.Status.Phase).To(Equal(silov1.PhaseDegraded))
			g.Expect(readyCondition(t).Reason).To(Equal(silov1.PullSecretUnavailableReason))
		}).Should(Succeed())
		Consistently(func() bool {
			return isNotFound(get(&corev1.Secret{}, controllers.NamespaceFor(t), src.Name))
		}, "2s").Should(BeTrue())
	})
})

// secretDataNow reads a Secret's data, or nil when it cannot be read.
func secretDataNow(ns, name string) map[string][]byte {
	s := &corev1.Secret{}
	if err := get(s, ns, name); err != nil {
		return nil
	}
	return s.Data
}

var _ = Describe("Workload identity", func() {
	It("puts the platform-allowed annotations on the workload ServiceAccount the app and workers run as, and allowed labels on their pods", func() {
		t := newTenant(uniqueName("identity"))
		t.Spec.ServiceAccount = &silov1.ServiceAccountSpec{Annotations: map[string]string{
			"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/acme"}}
		t.Spec.PodMetadata = &silov1.PodMetadata{Labels: map[string]string{"azure.workload.identity/use": "true"}}
		t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		sa := &corev1.ServiceAccount{}
		Expect(get(sa, ns, controllers.WorkloadSAName)).To(Succeed())
		Expect(sa.Annotations).To(HaveKeyWithValue("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/acme"))
		Expect(*sa.AutomountServiceAccountToken).To(BeFalse())
		for _, name := range []string{controllers.AppName, controllers.WorkersName} {
			d := &appsv1.Deployment{}
			Expect(get(d, ns, name)).To(Succeed())
			Expect(d.Spec.Template.Spec.ServiceAccountName).To(Equal(controllers.WorkloadSAName), name)
			Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("azure.workload.identity/use", "true"), name)
		}
		Expect(t.Status.Phase).NotTo(Equal(silov1.PhaseDegraded))
	})

	It("leaves out a key the platform did not allow, and says which", func() {
		t := newTenant(uniqueName("identity-refused"))
		t.Spec.ServiceAccount = &silov1.ServiceAccountSpec{Annotations: map[string]string{
			"iam.gke.io/gcp-service-account": "acme@shop.iam.gserviceaccount.com", "example.com/admin-role": "root"}}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(t.Status.Phase).To(Equal(silov1.PhaseDegraded))
			g.Expect(readyCondition(t).Reason).To(Equal(silov1.NotAllowedByPlatformReason))
			g.Expect(readyCondition(t).Message).To(ContainSubstring("serviceAccount.annotations key example.com/admin-role is not on the platform's list"))
			sa := &corev1.ServiceAccount{}
			g.Expect(get(sa, controllers.NamespaceFor(t), controllers.WorkloadSAName)).To(Succeed())
			g.Expect(sa.Annotations).To(HaveKey("iam.gke.io/gcp-service-account"))
			g.Expect(sa.Annotations).NotTo(HaveKey("example.com/admin-role"))
		}).Should(Succeed())
	})
})

var _ = Describe("Egress to private ranges", func() {
	It("lets the tenant reach the Tenant's ranges on their ports, and the node-local DNS cache, and closes them again", func() {
		t := newTenant(uniqueName("egress"))
		t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.20.0.0/16", Ports: []int32{5432}}}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		np := &networkingv1.NetworkPolicy{}
		Expect(get(np, ns, controllers.NetpolAllowEgress)).To(Succeed())
		Expect(np.Spec.PolicyTypes).To(Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}))
		Expect(np.Spec.Egress).To(HaveLen(1))
		Expect(np.Spec.Egress[0].To).To(Equal([]networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}}}))
		Expect(np.Spec.Egress[0].Ports).To(HaveLen(1))
		Expect(np.Spec.Egress[0].Ports[0].Port.IntValue()).To(Equal(5432))
		cache := &networkingv1.NetworkPolicy{}
		Expect(get(cache, ns, controllers.NetpolAllowDNSCache)).To(Succeed())
		Expect(cache.Spec.Egress[0].To[0].IPBlock.CIDR).To(Equal("169.254.20.10/32"))

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.Network.Egress = nil })
		Eventually(func() bool { return isNotFound(get(&networkingv1.NetworkPolicy{}, ns, controllers.NetpolAllowEgress)) }).Should(BeTrue())
	})
})

var _ = Describe("TLS from cert-manager", func() {
	It("asks the named ClusterIssuer for the host's certificate, and leaves out one the platform does not allow", func() {
		t := newTenant(uniqueName("tls"))
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: t.Name + ".shop.example.com", Issuer: "letsencrypt"}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		in := &networkingv1.Ingress{}
		Expect(get(in, ns, controllers.AppName)).To(Succeed())
		Expect(in.Annotations).To(HaveKeyWithValue("cert-manager.io/cluster-issuer", "letsencrypt"))
		Expect(in.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{t.Spec.App.Ingress.Host}, SecretName: "app-tls"}}))

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Ingress.Issuer = "internal-ca" })
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(readyCondition(t).Reason).To(Equal(silov1.NotAllowedByPlatformReason))
			g.Expect(readyCondition(t).Message).To(ContainSubstring("app.ingress.issuer internal-ca is not one of the platform's ClusterIssuers (letsencrypt, letsencrypt-staging)"))
			g.Expect(get(in, ns, controllers.AppName)).To(Succeed())
			g.Expect(in.Annotations).NotTo(HaveKey("cert-manager.io/cluster-issuer"))
		}).Should(Succeed())
	})
})

var _ = Describe("File storage that can bind", func() {
	It("asks for the chosen access mode, and a claim that cannot bind makes the Tenant say why, from the claim's events", func() {
		t := newTenant(uniqueName("files"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadWriteOnce"}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		pvc := &corev1.PersistentVolumeClaim{}
		Expect(get(pvc, ns, controllers.StorageName)).To(Succeed())
		Expect(pvc.Spec.AccessModes).To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}))

		// What the volume controller records when the class cannot serve the claim.
		Expect(k8s.Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "storage.provisioning", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: controllers.StorageName, UID: pvc.UID},
			Type:           corev1.EventTypeWarning, Reason: "ProvisioningFailed",
			Message:       `storageclass.storage.k8s.io "efs" not found`,
			LastTimestamp: metav1.Now(),
		})).To(Succeed())
		poke(t, "claim-events")
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
			g.Expect(componentStatus(t, "storage").Message).To(Equal(
				`volume claim storage is Pending (ProvisioningFailed: storageclass.storage.k8s.io "efs" not found)`))
			g.Expect(readyCondition(t).Message).To(ContainSubstring(`storageclass.storage.k8s.io "efs" not found`))
		}).Should(Succeed())
	})
})

var _ = Describe("Escape hatches a real app uses", func() {
	It("passes envFrom, extra volumes, the grace period, zone spread and file-key variables on to the pods", func() {
		t := newTenant(uniqueName("extras"))
		t.Spec.App.EnvFrom = []silov1.EnvFromSource{{SecretRef: &silov1.ObjectRef{Name: "stripe"}}}
		t.Spec.App.Volumes = []silov1.ExtraVolume{
			{Name: "certs", MountPath: "/etc/certs", ReadOnly: true, Secret: &corev1.SecretVolumeSource{SecretName: "db-ca"}},
			// Kubernetes reads file-key variables from an emptyDir volume only.
			{Name: "envfile", MountPath: "/run/env", EmptyDir: &corev1.EmptyDirVolumeSource{}},
		}
		t.Spec.App.TerminationGracePeriodSeconds = ptr.To(int64(90))
		t.Spec.App.SpreadAcrossZones = "ScheduleAnyway"
		t.Spec.App.Env = []corev1.EnvVar{{Name: "API_TOKEN", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{
			VolumeName: "envfile", Path: "app.env", Key: "API_TOKEN"}}}}
		t = createTenant(t)
		d := &appsv1.Deployment{}
		Expect(get(d, controllers.NamespaceFor(t), controllers.AppName)).To(Succeed())
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		Expect(c.EnvFrom).To(ContainElement(corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "stripe"}}}))
		Expect(c.VolumeMounts).To(ContainElement(corev1.VolumeMount{Name: "certs", MountPath: "/etc/certs", ReadOnly: true}))
		Expect(spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", "db-ca")))
		Expect(spec.TerminationGracePeriodSeconds).To(Equal(ptr.To(int64(90))))
		Expect(spec.TopologySpreadConstraints).To(ConsistOf(HaveField("TopologyKey", "topology.kubernetes.io/zone")))
		Expect(c.Env).To(ContainElement(HaveField("ValueFrom.FileKeyRef.Key", "API_TOKEN")), "valueFrom.fileKeyRef was dropped")
	})
})

// The operator routes with Gateway API when configured so: the suite's operator is
// swapped for one in HTTPRoute mode for these specs, then put back.
var _ = Describe("Gateway API routing", Ordered, func() {
	BeforeAll(func() {
		Expect(mgr.Stop()).To(Succeed())
		routed := opConfig
		routed.Platform.Routing = controllers.RoutingHTTPRoute
		routed.Platform.Gateway = controllers.GatewayRef{Namespace: "gateway-system", Name: "public", SectionName: "https"}
		var err error
		mgr, err = testenv.StartManager(env.Config, routed, 4)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			Expect(mgr.Stop()).To(Succeed())
			var err error
			mgr, err = startOperator()
			Expect(err).NotTo(HaveOccurred())
		})
	})

	It("exposes the app with an HTTPRoute attached to the platform's Gateway instead of an Ingress, and removes it with the host", func() {
		t := newTenant(uniqueName("routed"))
		t.Spec.App.Port = 3000
		t.Spec.App.Ingress = &silov1.IngressSpec{Host: t.Name + ".shop.example.com"}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		route := &gatewayv1.HTTPRoute{}
		Expect(get(route, ns, controllers.AppName)).To(Succeed())
		Expect(route.Spec.Hostnames).To(Equal([]gatewayv1.Hostname{gatewayv1.Hostname(t.Spec.App.Ingress.Host)}))
		Expect(route.Spec.ParentRefs).To(HaveLen(1))
		Expect(route.Spec.ParentRefs[0].Name).To(Equal(gatewayv1.ObjectName("public")))
		Expect(*route.Spec.ParentRefs[0].Namespace).To(Equal(gatewayv1.Namespace("gateway-system")))
		Expect(*route.Spec.ParentRefs[0].SectionName).To(Equal(gatewayv1.SectionName("https")))
		Expect(route.Spec.Rules[0].BackendRefs[0].Name).To(Equal(gatewayv1.ObjectName(controllers.AppName)))
		Expect(*route.Spec.Rules[0].BackendRefs[0].Port).To(Equal(gatewayv1.PortNumber(3000)))
		Expect(isNotFound(get(&networkingv1.Ingress{}, ns, controllers.AppName))).To(BeTrue(), "an Ingress besides the HTTPRoute")

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Ingress = nil })
		Eventually(func() bool { return isNotFound(get(&gatewayv1.HTTPRoute{}, ns, controllers.AppName)) }).Should(BeTrue())
	})
})

var _ = Describe("Monitoring", func() {
	It("creates a PodMonitor for the app's metrics when the Tenant asks, the cluster serving the kind", func() {
		t := newTenant(uniqueName("metrics"))
		t.Spec.App.Metrics = &silov1.MetricsSpec{Port: 9090, Interval: "30s"}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)
		pm := &monitoringv1.PodMonitor{}
		Expect(get(pm, ns, controllers.AppName)).To(Succeed())
		Expect(pm.Spec.Selector.MatchLabels).To(HaveKeyWithValue(silov1.ComponentLabel, controllers.AppName))
		Expect(pm.Spec.PodMetricsEndpoints).To(HaveLen(1))
		Expect(*pm.Spec.PodMetricsEndpoints[0].Port).To(Equal("metrics"))
		Expect(pm.Spec.PodMetricsEndpoints[0].Path).To(Equal("/metrics"))
		Expect(string(pm.Spec.PodMetricsEndpoints[0].Interval)).To(Equal("30s"))
		d := &appsv1.Deployment{}
		Expect(get(d, ns, controllers.AppName)).To(Succeed())
		Expect(d.Spec.Template.Spec.Containers[0].Ports).To(ContainElement(HaveField("ContainerPort", int32(9090))))

		updateTenant(t.Name, func(t *silov1.Tenant) { t.Spec.App.Metrics = nil })
		Eventually(func() bool { return isNotFound(get(&monitoringv1.PodMonitor{}, ns, controllers.AppName)) }).Should(BeTrue())
	})
})

var _ = Describe("The real SaaS app sample", func() {
	BeforeEach(ensureOperatorNamespace)

	It("is accepted, becomes Ready, and its children carry probes, the pull Secret, the identity, TLS and the egress range", func() {
		objs, err := testenv.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "samples", "silo_v1alpha1_tenant_saas.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var name string
		for _, o := range objs {
			Expect(k8s.Create(ctx, o)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
			if o.GetKind() == "Tenant" {
				name = o.GetName()
			}
			// The samples spec dry-runs every sample: leave nothing of this one behind.
			DeferCleanup(func() {
				Expect(client.IgnoreNotFound(k8s.Delete(ctx, o))).To(Succeed())
				Eventually(func() bool { return isNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy())) }).Should(BeTrue())
			})
		}
		t := waitSettled(name)
		Expect(t.Status.Phase).To(Equal(silov1.PhaseReady), "conditions: %v", t.Status.Conditions)
		ns := controllers.NamespaceFor(t)

		app := &appsv1.Deployment{}
		Expect(get(app, ns, controllers.AppName)).To(Succeed())
		pod := app.Spec.Template.Spec
		Expect(pod.Containers[0].ReadinessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(pod.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "hooli-registry"}}))
		Expect(pod.ServiceAccountName).To(Equal(controllers.WorkloadSAName))
		Expect(get(&corev1.Secret{}, ns, "hooli-registry")).To(Succeed())
		sa := &corev1.ServiceAccount{}
		Expect(get(sa, ns, controllers.WorkloadSAName)).To(Succeed())
		Expect(sa.Annotations).To(HaveKey("eks.amazonaws.com/role-arn"))
		in := &networkingv1.Ingress{}
		Expect(get(in, ns, controllers.AppName)).To(Succeed())
		Expect(in.Annotations).To(HaveKeyWithValue("cert-manager.io/cluster-issuer", "letsencrypt"))
		np := &networkingv1.NetworkPolicy{}
		Expect(get(np, ns, controllers.NetpolAllowEgress)).To(Succeed())
		Expect(np.Spec.Egress[0].To[0].IPBlock.CIDR).To(Equal("10.20.0.0/16"))
		Expect(secretData(ns, controllers.SettingsSecretName)).To(HaveKey("DATABASE_URL"))
	})
})
