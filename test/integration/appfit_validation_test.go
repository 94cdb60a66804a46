package integration

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// The fields a real app needs (probes, pull Secrets, identity, egress, TLS, storage,
// escape hatches, routing, monitoring) are refused by the API server when wrong, with
// a message that says what to fix.
var _ = Describe("Validation of what a real app needs", func() {
	DescribeTable("refuses a Tenant with a message that says what to fix",
		func(mutate func(t *silov1.Tenant), want string) {
			t := newTenant(uniqueName("appfit-invalid"))
			mutate(t)
			err := k8s.Create(ctx, t, client.DryRunAll)
			Expect(err).To(HaveOccurred(), "the API server accepted an invalid Tenant")
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("a probe with no handler", func(t *silov1.Tenant) {
			t.Spec.App.ReadinessProbe = &silov1.Probe{PeriodSeconds: 5}
		}, "a probe needs exactly one of exec, httpGet, tcpSocket or grpc"),
		Entry("a probe with two handlers", func(t *silov1.Tenant) {
			t.Spec.App.LivenessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{}, TCPSocket: &silov1.TCPSocketProbe{}}
		}, "a probe needs exactly one of exec, httpGet, tcpSocket or grpc"),
		Entry("a liveness probe that needs two successes", func(t *silov1.Tenant) {
			t.Spec.App.LivenessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/livez"}, SuccessThreshold: 2}
		}, "livenessProbe.successThreshold must be 1"),
		Entry("a workers' startup probe that needs two successes", func(t *silov1.Tenant) {
			t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"},
				Probes: silov1.Probes{StartupProbe: &silov1.Probe{Exec: &silov1.ExecProbe{Command: []string{"true"}}, SuccessThreshold: 3}}}
		}, "startupProbe.successThreshold must be 1"),
		Entry("a probe port out of range", func(t *silov1.Tenant) {
			t.Spec.App.ReadinessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Port: ptr.To(intstr.FromInt32(70000))}}
		}, "port must be a number from 1 to 65535 or a container port name"),
		Entry("a probe path that is not a path", func(t *silov1.Tenant) {
			t.Spec.App.ReadinessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "healthz"}}
		}, "spec.app.readinessProbe.httpGet.path"),
		Entry("a pull Secret at the name of the generated credentials", func(t *silov1.Tenant) {
			t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: "database-credentials"}}
		}, "imagePullSecrets name connection-settings, queue-config or *-credentials"),
		Entry("a pull Secret at the name of a rotation's staging Secret", func(t *silov1.Tenant) {
			t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: "database-credentials-next"}}
		}, "imagePullSecrets name connection-settings, queue-config or *-credentials"),
		Entry("a pull Secret at the name of the queue's configuration", func(t *silov1.Tenant) {
			t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: "queue-config"}}
		}, "imagePullSecrets name connection-settings, queue-config or *-credentials"),
		Entry("a pod label that would pass for one of Silo's selectors", func(t *silov1.Tenant) {
			t.Spec.PodMetadata = &silov1.PodMetadata{Labels: map[string]string{"silo.dev/component": "cache"}}
		}, "podMetadata.labels cannot set silo.dev/ keys"),
		Entry("a pod label value that is too long", func(t *silov1.Tenant) {
			t.Spec.PodMetadata = &silov1.PodMetadata{Labels: map[string]string{"azure.workload.identity/use": strings.Repeat("y", 64)}}
		}, "podMetadata.labels keys are at most 253 characters and values at most 63"),
		Entry("an egress range that is no range", func(t *silov1.Tenant) {
			t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.20.0.0"}}
		}, "network.egress cidr must be an address range with no host bits set"),
		Entry("an egress range with host bits", func(t *silov1.Tenant) {
			t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.20.1.7/16"}}
		}, "network.egress cidr must be an address range with no host bits set"),
		Entry("an egress range as wide as the internet", func(t *silov1.Tenant) {
			t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "0.0.0.0/0", Ports: []int32{443}}}
		}, "network.egress cidr must be a /8 or narrower"),
		Entry("an egress range holding the cloud metadata service", func(t *silov1.Tenant) {
			t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "169.254.0.0/16"}}
		}, "network.egress cidr must not contain 169.254.169.254"),
		Entry("an egress port out of range", func(t *silov1.Tenant) {
			t.Spec.Network.Egress = []silov1.EgressRule{{CIDR: "10.20.0.0/16", Ports: []int32{0}}}
		}, "spec.network.egress[0].ports[0]"),
		Entry("an issuer that cannot name a ClusterIssuer", func(t *silov1.Tenant) {
			t.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.example.com", Issuer: "Lets Encrypt"}
		}, "spec.app.ingress.issuer"),
		Entry("an access mode a file volume cannot have", func(t *silov1.Tenant) {
			t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi"), AccessMode: "ReadOnlyMany"}
		}, `supported values: "ReadWriteMany", "ReadWriteOnce"`),
		Entry("an envFrom with both a Secret and a ConfigMap", func(t *silov1.Tenant) {
			t.Spec.App.EnvFrom = []silov1.EnvFromSource{{SecretRef: &silov1.ObjectRef{Name: "a"}, ConfigMapRef: &silov1.ObjectRef{Name: "b"}}}
		}, "envFrom needs exactly one of secretRef or configMapRef"),
		Entry("a volume with no source", func(t *silov1.Tenant) {
			t.Spec.App.Volumes = []silov1.ExtraVolume{{Name: "x", MountPath: "/x"}}
		}, "a volume needs exactly one of configMap, secret, emptyDir or persistentVolumeClaim"),
		Entry("a volume at Silo's own name", func(t *silov1.Tenant) {
			t.Spec.App.Volumes = []silov1.ExtraVolume{{Name: "tmp", MountPath: "/x", EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		}, "volume names tmp and storage are Silo's"),
		Entry("a volume over the file storage", func(t *silov1.Tenant) {
			t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"w"}, PodExtras: silov1.PodExtras{Volumes: []silov1.ExtraVolume{
				{Name: "x", MountPath: "/data", EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}
		}, "volumes cannot be mounted at /tmp or /data"),
		Entry("a grace period over an hour", func(t *silov1.Tenant) {
			t.Spec.App.TerminationGracePeriodSeconds = ptr.To(int64(7200))
		}, "spec.app.terminationGracePeriodSeconds"),
		Entry("an unknown zone spread", func(t *silov1.Tenant) { t.Spec.App.SpreadAcrossZones = "Always" },
			`supported values: "ScheduleAnyway", "DoNotSchedule"`),
		Entry("a metrics interval that is no duration", func(t *silov1.Tenant) {
			t.Spec.App.Metrics = &silov1.MetricsSpec{Interval: "often"}
		}, "spec.app.metrics.interval"),
		Entry("the same pull Secret twice", func(t *silov1.Tenant) {
			t.Spec.ImagePullSecrets = []silov1.PullSecretReference{{Name: "reg"}, {Name: "reg"}}
		}, "Duplicate value"),
	)
})

var _ = Describe("Validation of a file volume's access mode", func() {
	It("refuses to change it once the volume exists, saying what to do", func() {
		t := newTenant(uniqueName("files-mode"))
		t.Spec.Storage = &silov1.StorageSpec{Size: resource.MustParse("1Gi")}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		mode := func(m string) client.Patch {
			return client.RawPatch(types.MergePatchType, []byte(`{"spec":{"storage":{"accessMode":"`+m+`"}}}`))
		}
		err := k8s.Patch(ctx, t, mode("ReadWriteOnce"), client.DryRunAll)
		Expect(err).To(MatchError(ContainSubstring("storage.accessMode cannot change once the volume exists")))
		Expect(k8s.Patch(ctx, t, mode("ReadWriteMany"), client.DryRunAll)).To(Succeed(),
			"ReadWriteMany is the default, so naming it changes nothing")
	})
})
