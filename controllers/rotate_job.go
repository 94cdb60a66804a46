package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// RotationComponent labels the credential rotation Jobs and their pods.
const RotationComponent = "rotation"

// Keys of a rotation's staging Secret: the new credentials, and the ones in use when
// the rotation started.
const (
	previousUserKey     = "previous-username"
	previousPasswordKey = "previous-password"
)

// Rotation Jobs: a few retries (every script is idempotent), a deadline, and a day
// for a person to read a failed one's logs.
const (
	rotationBackoffLimit int32 = 3
	rotationDeadline     int64 = 300
	jobTTLSeconds        int32 = 86400
)

// jobResources are the requests and limits of the data Jobs' containers: a client
// that sends a few commands fits in far less than any LimitRange default.
var jobResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
}

// rotationStep names the two Jobs of a rotation.
type rotationStep string

const (
	// applyStep gives the running service the new credentials beside the old ones.
	applyStep rotationStep = "apply"
	// retireStep takes the old credentials away once nothing uses them.
	retireStep rotationStep = "retire"
)

// rotator describes, as data, how one managed service's credentials are rotated with
// the service's own client: each script runs in the service's image, with the staging
// Secret's keys as PREVIOUS_USER, PREVIOUS_PASSWORD, NEW_USER and NEW_PASSWORD.
type rotator struct {
	service *managedService
	// newUser returns the login of the new credentials from the one in use.
	newUser func(current string) string
	// env are the variables that point the client at the service.
	env func(t *silov1.Tenant) []corev1.EnvVar
	// scripts are the shell scripts of each step.
	scripts map[rotationStep]string
}

// rotators are the services whose credentials can be rotated, by component name.
var rotators = map[string]*rotator{
	DatabaseName: {
		service: &databaseService,
		newUser: alternateUser,
		env: func(t *silov1.Tenant) []corev1.EnvVar {
			return []corev1.EnvVar{
				{Name: "PGHOST", Value: fmt.Sprintf("%s.%s.svc", DatabaseName, NamespaceFor(t))},
				{Name: "PGPORT", Value: strconv.Itoa(int(postgresPort))},
				{Name: "PGDATABASE", Value: postgresDB},
				{Name: "PGCONNECT_TIMEOUT", Value: "10"},
			}
		},
		scripts: map[rotationStep]string{applyStep: postgresApplyScript, retireStep: postgresRetireScript},
	},
	CacheName: {
		service: &cacheService,
		newUser: func(current string) string { return current },
		env: func(t *silov1.Tenant) []corev1.EnvVar {
			return []corev1.EnvVar{
				{Name: "VALKEY_HOST", Value: fmt.Sprintf("%s.%s.svc", CacheName, NamespaceFor(t))},
				{Name: "VALKEY_PORT", Value: strconv.Itoa(int(valkeyPort))},
			}
		},
		scripts: map[rotationStep]string{applyStep: valkeyApplyScript, retireStep: valkeyRetireScript},
	},
	QueueName: {
		service: &queueService,
		// Like the database's roles: NATS users are unique by name, so the new
		// password goes to the other user and both work while the app rolls.
		newUser: alternateUser,
		env: func(t *silov1.Tenant) []corev1.EnvVar {
			return []corev1.EnvVar{
				{Name: "NATS_HOST", Value: fmt.Sprintf("%s.%s.svc", QueueName, NamespaceFor(t))},
				{Name: "NATS_PORT", Value: strconv.Itoa(int(natsClientPort))},
				{Name: "RELOAD_USER", Value: natsReloadUser},
				{Name: "RELOAD_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: configSecretName(QueueName)}, Key: reloadPasswordKey}}},
				{Name: "WAIT_SECONDS", Value: strconv.Itoa(natsWaitSeconds)},
			}
		},
		scripts: map[rotationStep]string{applyStep: natsApplyScript, retireStep: natsRetireScript},
	},
}

// natsWaitSeconds is how long a queue rotation Job waits for the server to take the
// new configuration: the kubelet refreshes a mounted Secret within about a minute.
const natsWaitSeconds = 240

// alternateUser is the other of two logins (the database's roles, the queue's
// users): a PostgreSQL role has one password and a NATS user name appears once, so
// the new password goes to the login the app does not use, and the old one keeps its
// password until the app has moved.
func alternateUser(current string) string {
	if base, ok := strings.CutSuffix(current, "_b"); ok {
		return base
	}
	return current + "_b"
}

// postgresApplyScript connects with the credentials in use and gives the other login
// role the new password. A role that is not the database's owner logs in as a member
// of the owner and takes on its identity (ALTER ROLE ... SET role), so what the app
// creates is owned by the same role whichever login it uses. The password reaches
// the DDL through a session setting, so no DDL statement's text (which
// log_statement=ddl logs) holds it. psql interpolates its variables only in what it
// reads, never in -c: the scripts send SQL on standard input.
const postgresApplyScript = `set -eu
export PGUSER="$PREVIOUS_USER" PGPASSWORD="$PREVIOUS_PASSWORD"
psql -X -q -v ON_ERROR_STOP=1 -v new_user="$NEW_USER" -v new_password="$NEW_PASSWORD" <<'SQL'
SELECT set_config('silo.new_user', :'new_user', false) AS u, set_config('silo.new_password', :'new_password', false) AS p \gset
` + postgresSetLoginSQL + `SQL
`

// postgresSetLoginSQL gives the login role named by the session setting
// silo.new_user the password in silo.new_password, creating the role when it is
// missing and making it act as the database's owner: the apply step of a rotation
// and the restore of credentials (backup_restore_credentials.go) run it. It has no
// blank line: single-user mode ends a statement at a semicolon and a blank line.
const postgresSetLoginSQL = `DO $$
DECLARE
  u text := current_setting('silo.new_user');
  db_owner text := (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = current_database());
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = u) THEN
    EXECUTE format('CREATE ROLE %I', u);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', u, current_setting('silo.new_password'));
  IF u <> db_owner THEN
    EXECUTE format('GRANT %I TO %I', db_owner, u);
    EXECUTE format('ALTER ROLE %I SET role = %I', u, db_owner);
  END IF;
END $$;
`

// postgresRetireScript connects with the new credentials and takes the old login
// role's password away.
const postgresRetireScript = `set -eu
export PGUSER="$NEW_USER" PGPASSWORD="$NEW_PASSWORD"
if [ "$PREVIOUS_USER" != "$NEW_USER" ]; then
  echo 'ALTER ROLE :"old_user" WITH PASSWORD NULL;' | psql -X -q -v ON_ERROR_STOP=1 -v old_user="$PREVIOUS_USER"
fi
`

// valkeyApplyScript connects with the password in use and gives the default user
// both passwords (a Valkey user may hold several). resetpass first, so a password of
// an earlier, failed rotation does not stay valid.
const valkeyApplyScript = `set -eu
out=$(valkey-cli -h "$VALKEY_HOST" -p "$VALKEY_PORT" --no-auth-warning -a "$PREVIOUS_PASSWORD" \
  ACL SETUSER "$NEW_USER" resetpass ">$PREVIOUS_PASSWORD" ">$NEW_PASSWORD")
[ "$out" = OK ] || { echo "$out" >&2; exit 1; }
`

// valkeyRetireScript connects with the new password and keeps only it.
const valkeyRetireScript = `set -eu
out=$(valkey-cli -h "$VALKEY_HOST" -p "$VALKEY_PORT" --no-auth-warning -a "$NEW_PASSWORD" \
  ACL SETUSER "$NEW_USER" resetpass ">$NEW_PASSWORD")
[ "$out" = OK ] || { echo "$out" >&2; exit 1; }
`

// natsScript is the start of the queue's rotation scripts. The nats image has no
// NATS client but busybox: the scripts speak the NATS protocol (text lines) with nc.
// The reconciler has already written the new users into the configuration Secret;
// the server reads its file again when the reload user asks it to (by the server's
// id, from the INFO line every connection starts with), and the kubelet refreshes
// the mounted file within about a minute, so the script reloads and checks every
// five seconds until the check holds, for at most WAIT_SECONDS. A reload of an
// unchanged file changes nothing: the script is safe to repeat.
const natsScript = `# nats USER PASSWORD [LINES]: connects as USER, sends the protocol lines and a PING,
# and prints what the server answered.
nats() {
  { printf 'CONNECT {"user":"%s","pass":"%s","verbose":false,"pedantic":false}\r\n%bPING\r\n' "$1" "$2" "${3:-}"; sleep 1; } |
    timeout 10 nc -w 3 "$NATS_HOST" "$NATS_PORT" | tr -d '\r'
}
accepts() { nats "$1" "$2" | grep -qx PONG; }
reload() {
  id=$(nats "$RELOAD_USER" "$RELOAD_PASSWORD" | sed -n 's/^INFO .*"server_id":"\([A-Za-z0-9]*\)".*/\1/p')
  if [ -z "$id" ]; then echo "no NATS server answered at $NATS_HOST:$NATS_PORT" >&2; return 1; fi
  out=$(nats "$RELOAD_USER" "$RELOAD_PASSWORD" "SUB _INBOX.silo 1\r\nPUB \$SYS.REQ.SERVER.$id.RELOAD _INBOX.silo 0\r\n\r\n")
  case $out in
  *'"error"'*|*-ERR*) echo "the queue did not reload its configuration: $out" >&2; return 1 ;;
  *'MSG _INBOX.silo '*) ;;
  *) echo "the queue did not answer the reload request" >&2; return 1 ;;
  esac
}
end=$(( $(date +%s) + WAIT_SECONDS ))
until reload && ready; do
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "after $WAIT_SECONDS seconds the queue still does not hold the new configuration ($want): is the Secret queue-config mounted in its pod?" >&2
    exit 1
  fi
  sleep 5
done
`

// natsApplyScript waits until the queue accepts the new password beside the old one.
const natsApplyScript = `set -eu
want='the new password and the old one'
ready() { accepts "$NEW_USER" "$NEW_PASSWORD" && accepts "$PREVIOUS_USER" "$PREVIOUS_PASSWORD"; }
` + natsScript

// natsRetireScript waits until the queue accepts the new password only.
const natsRetireScript = `set -eu
want='the new password only'
ready() { accepts "$NEW_USER" "$NEW_PASSWORD" && ! accepts "$PREVIOUS_USER" "$PREVIOUS_PASSWORD"; }
` + natsScript

// stagingSecretName names the Secret that holds a rotation's new credentials (and the
// ones in use when it started) until the rotation is done.
func stagingSecretName(component string) string { return credentialsSecretName(component) + "-next" }

// shortHash is a short, stable hash of s, for names derived from free text.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// rotationJobName names the Job of one step of the rotation that request asked for.
func rotationJobName(component string, step rotationStep, request string) string {
	return fmt.Sprintf("rotate-%s-%s-%s", component, step, shortHash(request))
}

// buildRotationJob returns the Job of one step of a rotation: the service's own image
// and client, the staging Secret's credentials, the Tenant's pod security and
// placement, small requests, a deadline and a time to live.
func buildRotationJob(bc *buildContext, component string, step rotationStep, request string) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	rot := rotators[component]
	s := rot.service
	staging := stagingSecretName(component)
	c := restrictedContainer(RotationComponent, withTag(s.image(&bc.Config.Images), s.spec(t).version)).
		WithCommand("/bin/sh", "-c", rot.scripts[step]).
		WithEnv(corev1ac.EnvVar().WithName("HOME").WithValue(tmpPath)).
		WithEnv(secretEnv("PREVIOUS_USER", staging, previousUserKey), secretEnv("PREVIOUS_PASSWORD", staging, previousPasswordKey),
			secretEnv("NEW_USER", staging, "username"), secretEnv("NEW_PASSWORD", staging, "password")).
		WithVolumeMounts(mount(tmpVolume, tmpPath)).
		WithResources(resources(&jobResources))
	for _, e := range rot.env(t) {
		c.WithEnv(envVar(&e))
	}
	return dataJob(bc, rotationJobName(component, step, request), RotationComponent, s.uid, c,
		[]*corev1ac.VolumeApplyConfiguration{emptyDir(tmpVolume)}, rotationDeadline, rotationBackoffLimit).
		WithAnnotations(map[string]string{silov1.RotationRequestAnnotation: request})
}

// dataJob returns a Job of the rotation or the export: one container in a pod of the
// Tenant's pod security and placement that is never restarted in place, with a
// deadline, retries and a time to live.
func dataJob(bc *buildContext, name, component string, uid int64, c *corev1ac.ContainerApplyConfiguration,
	volumes []*corev1ac.VolumeApplyConfiguration, deadline int64, backoff int32) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	tmpl := podTemplate(t, bc.Config, podSpec{component: component, uid: uid,
		containers: []*corev1ac.ContainerApplyConfiguration{c}, volumes: volumes})
	tmpl.Spec.WithRestartPolicy(corev1.RestartPolicyNever)
	return batchv1ac.Job(name, NamespaceFor(t)).
		WithLabels(componentLabels(t, component)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(batchv1ac.JobSpec().
			WithBackoffLimit(backoff).
			WithActiveDeadlineSeconds(deadline).
			WithTTLSecondsAfterFinished(jobTTLSeconds).
			WithTemplate(tmpl))
}
