package controllers

import (
	"fmt"

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

// queueService is a NATS server with JetStream on its own volume: a StatefulSet and the
// headless Service that governs it. Clients authenticate with the generated
// credentials.
var queueService = managedService{
	name: QueueName,
	spec: func(t *silov1.Tenant) *serviceSpec {
		q := t.Spec.Queue
		if q == nil {
			return nil
		}
		return &serviceSpec{version: q.Version, storage: q.Storage, resources: q.Resources, external: q.External}
	},
	image:       func(i *Images) string { return i.NATS },
	container:   "nats",
	uid:         natsUID,
	port:        namedPort{"client", natsClientPort},
	extraPorts:  []namedPort{{"monitor", natsMonitorPort}},
	headless:    true,
	user:        natsUser,
	userEnv:     "NATS_USER",
	passwordEnv: "NATS_PASSWORD",
	command:     []string{"nats-server"},
	args: func(*serviceSpec) []string {
		return []string{"--jetstream", "--store_dir=/data/jetstream",
			fmt.Sprintf("--port=%d", natsClientPort), fmt.Sprintf("--http_port=%d", natsMonitorPort),
			"--user=$(NATS_USER)", "--pass=$(NATS_PASSWORD)"}
	},
	dataPath:       "/data",
	defaultStorage: &defaultQueueStorage,
	probe: func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath("/healthz?js-enabled-only=true").WithPort(intstr.FromString("monitor")))
	},
	urlKey: "NATS_URL", scheme: "nats",
}

func componentQueue() component { return queueService.component() }

// buildQueue returns the queue's StatefulSet and Service.
func buildQueue(bc *buildContext) []runtime.ApplyConfiguration { return queueService.build(bc) }
