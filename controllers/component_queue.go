package controllers

import (
	"fmt"
	"slices"
	"strings"

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
	// natsReloadUser is the queue's one user besides the app's: in the system
	// account, it may only ask the server to reload its configuration file (and
	// read the answer). It is how a rotation gives the running server a new password.
	natsReloadUser = "silo-reload"
	// natsConfigPath is where the queue's configuration Secret is mounted;
	// natsConfigFile is its one file.
	natsConfigPath = "/etc/nats"
	natsConfigFile = "nats.conf"
	// reloadPasswordKey is the key of the configuration Secret that holds the reload
	// user's password, for the rotation Jobs.
	reloadPasswordKey = "reload-password"
)

var defaultQueueStorage = resource.MustParse("1Gi")

// queueService is a NATS server with JetStream on its own volume: a StatefulSet and the
// headless Service that governs it. Its users come from a configuration file (the
// Secret queue-config), which the server reloads when asked, so a rotation changes
// the password without a restart.
var queueService = managedService{
	name: QueueName,
	spec: func(t *silov1.Tenant) *serviceSpec {
		q := t.Spec.Queue
		if q == nil {
			return nil
		}
		return &serviceSpec{version: q.Version, storage: q.Storage, resources: q.Resources, external: q.External}
	},
	image:      func(i *Images) string { return i.NATS },
	container:  "nats",
	uid:        natsUID,
	port:       namedPort{"client", natsClientPort},
	extraPorts: []namedPort{{"monitor", natsMonitorPort}},
	headless:   true,
	user:       natsUser,
	command:    []string{"nats-server"},
	args: func(*serviceSpec) []string {
		return []string{"--jetstream", "--store_dir=/data/jetstream",
			fmt.Sprintf("--port=%d", natsClientPort), fmt.Sprintf("--http_port=%d", natsMonitorPort),
			"--config=" + natsConfigPath + "/" + natsConfigFile}
	},
	dataPath:       "/data",
	defaultStorage: &defaultQueueStorage,
	configPath:     natsConfigPath,
	probe: func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath("/healthz?js-enabled-only=true").WithPort(intstr.FromString("monitor")))
	},
	urlKey: "NATS_URL", scheme: "nats",
}

func componentQueue() component {
	c := queueService.component()
	c.build = buildQueue
	return c
}

// buildQueue returns the queue's configuration Secret, StatefulSet and Service. The
// Secret comes first: a new pod of the StatefulSet mounts it.
func buildQueue(bc *buildContext) []runtime.ApplyConfiguration {
	return append([]runtime.ApplyConfiguration{buildQueueConfig(bc)}, queueService.build(bc)...)
}

// buildQueueConfig returns the queue's configuration Secret: the NATS configuration
// file of its users, and the reload user's password for the rotation Jobs.
func buildQueueConfig(bc *buildContext) *corev1ac.SecretApplyConfiguration {
	t := bc.Tenant
	return corev1ac.Secret(configSecretName(QueueName), NamespaceFor(t)).
		WithLabels(componentLabels(t, QueueName)).
		WithOwnerReferences(ownerRef(t)).
		WithType("Opaque").
		WithData(map[string][]byte{
			natsConfigFile:    []byte(natsConfig(queueLogins(bc), bc.QueueReloadPassword)),
			reloadPasswordKey: []byte(bc.QueueReloadPassword),
		})
}

// login is a user name and its password.
type login struct {
	user, password string
}

// queueLogins are the app's users the queue accepts: the credentials in use, and
// while a rotation holds a staging Secret, both of its credentials (the old and the
// new password work side by side while the app and the workers roll), until the
// rotation retires the old one. A user name appears once (the credentials in use
// first), sorted.
func queueLogins(bc *buildContext) []login {
	var out []login
	add := func(user, password []byte) {
		if len(user) == 0 || len(password) == 0 ||
			slices.ContainsFunc(out, func(l login) bool { return l.user == string(user) }) {
			return
		}
		out = append(out, login{string(user), string(password)})
	}
	current := bc.Credentials[QueueName]
	add(current["username"], current["password"])
	if st := bc.QueueStaging; st != nil && !rotationRetired(bc.Tenant, QueueName) {
		add(st["username"], st["password"])
		add(st[previousUserKey], st[previousPasswordKey])
	}
	slices.SortFunc(out, func(a, b login) int { return strings.Compare(a.user, b.user) })
	return out
}

// rotationRetired reports whether the Tenant's rotation of a service has reached its
// last step: the old password is being (or was) taken away.
func rotationRetired(t *silov1.Tenant, service string) bool {
	if t.Status.Credentials == nil {
		return false
	}
	for _, r := range t.Status.Credentials.Rotations {
		if r.Service == service {
			return r.Phase == silov1.RotationRetiring || r.Phase == silov1.RotationSucceeded
		}
	}
	return false
}

// natsConfig is the queue's configuration file: the app's users in the global
// account (where the JetStream data has always been), and the reload user in the
// system account, allowed nothing but to ask for a reload and read the answer.
func natsConfig(users []login, reloadPassword string) string {
	var b strings.Builder
	b.WriteString("# The queue's users, written by Silo from the Secrets queue-credentials and, during a\n" +
		"# rotation, queue-credentials-next. Silo puts back any change.\n" +
		"authorization {\n  users = [\n")
	for _, u := range users {
		fmt.Fprintf(&b, "    {user: %s, password: %s}\n", natsQuote(u.user), natsQuote(u.password))
	}
	fmt.Fprintf(&b, "  ]\n}\n"+
		"accounts {\n  SYS {\n    users = [\n"+
		"      {user: %s, password: %s, permissions: {publish: {allow: [\"$SYS.REQ.SERVER.*.RELOAD\"]}, subscribe: {allow: [\"_INBOX.>\"]}}}\n"+
		"    ]\n  }\n}\nsystem_account: SYS\n", natsQuote(natsReloadUser), natsQuote(reloadPassword))
	return b.String()
}

// natsQuote quotes s as a string of the NATS configuration language, which knows the
// escapes \xXX, \t, \n, \r, \" and \\ (and expands no variable in quotes).
func natsQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
