package controllers

import (
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// QueueName names the queue's StatefulSet and its headless Service.
const QueueName = "queue"

const (
	natsClientPort  int32 = 4222
	natsMonitorPort int32 = 8222
	natsUser              = "app"
)

var defaultQueueStorage = resource.MustParse("1Gi")

func componentQueue() component {
	return component{
		name:    QueueName,
		enabled: func(t *silov1.Tenant) bool { return t.Spec.Queue != nil },
		external: func(t *silov1.Tenant) *silov1.ExternalService {
			return t.Spec.Queue.External
		},
		credentialUser: natsUser,
		build:          buildQueue,
		settings: func(bc *buildContext) map[string]string {
			u := url.URL{Scheme: "nats", Host: queueHost(bc.Tenant),
				User: url.UserPassword(credential(bc, QueueName, "username"), credential(bc, QueueName, "password"))}
			return map[string]string{"NATS_URL": u.String()}
		},
		observe:  observeStatefulSet(QueueName),
		endpoint: func(t *silov1.Tenant) string { return "nats://" + queueHost(t) },
	}
}

func queueHost(t *silov1.Tenant) string {
	return serviceHost(t, QueueName, natsClientPort)
}

// buildQueue returns a NATS server with JetStream on its own volume: a StatefulSet and
// the headless Service that governs it. Clients authenticate with the generated
// credentials.
func buildQueue(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	q := t.Spec.Queue
	size := defaultQueueStorage
	if q.Storage != nil {
		size = *q.Storage
	}
	secret := credentialsSecretName(QueueName)
	c := restrictedContainer("nats", withTag(bc.Config.Images.NATS, q.Version)).
		WithCommand("nats-server").
		// The kubelet expands $(VAR) from the container's environment.
		WithArgs("--jetstream", "--store_dir=/data/jetstream",
			fmt.Sprintf("--port=%d", natsClientPort), fmt.Sprintf("--http_port=%d", natsMonitorPort),
			"--user=$(NATS_USER)", "--pass=$(NATS_PASSWORD)").
		WithEnv(secretEnv("NATS_USER", secret, "username"), secretEnv("NATS_PASSWORD", secret, "password")).
		WithPorts(tcpPort("client", natsClientPort), tcpPort("monitor", natsMonitorPort)).
		WithVolumeMounts(mount(dataVolume, "/data")).
		WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath("/healthz?js-enabled-only=true").WithPort(intstr.FromString("monitor"))))
	if r := resources(q.Resources); r != nil {
		c.WithResources(r)
	}
	tmpl := podTemplate(t, podSpec{component: QueueName, uid: natsUID,
		containers: []*corev1ac.ContainerApplyConfiguration{c}})
	return []runtime.ApplyConfiguration{
		singleStatefulSet(t, bc.Config, QueueName, size, tmpl),
		corev1ac.Service(QueueName, NamespaceFor(t)).
			WithLabels(componentLabels(t, QueueName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(corev1ac.ServiceSpec().
				WithClusterIP(corev1.ClusterIPNone).
				WithSelector(selector(t, QueueName).MatchLabels).
				WithPorts(corev1ac.ServicePort().
					WithName("client").
					WithProtocol(corev1.ProtocolTCP).
					WithPort(natsClientPort).
					WithTargetPort(intstr.FromString("client")))),
	}
}
