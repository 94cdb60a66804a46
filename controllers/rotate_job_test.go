package controllers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// onlyJob returns the one Job among typed objects.
func onlyJob(t *testing.T, ac runtime.ApplyConfiguration) *batchv1.Job {
	t.Helper()
	objs := typed(t, []runtime.ApplyConfiguration{ac})
	for _, o := range objs {
		if j, ok := o.(*batchv1.Job); ok {
			return j
		}
	}
	t.Fatalf("no Job in %v", keys(objs))
	return nil
}

// checkDataJob checks what every data Job shares: the Tenant's labels, pod security
// and placement (the app's), no token, no restart in place, a deadline, a time to
// live, and small resources.
func checkDataJob(t *testing.T, bc *buildContext, j *batchv1.Job, component string, uid int64) {
	t.Helper()
	if j.Labels[silov1.ManagedByLabel] != silov1.ManagedByValue || j.Labels[silov1.ComponentLabel] != component ||
		j.Labels[silov1.TenantLabel] != bc.Tenant.Name {
		t.Errorf("labels = %v", j.Labels)
	}
	if j.Namespace != NamespaceFor(bc.Tenant) || len(j.OwnerReferences) != 1 {
		t.Errorf("namespace %s, owners %v", j.Namespace, j.OwnerReferences)
	}
	// The restore credentials Job has no time to live: the operator deletes it once it
	// succeeded, and a failed one waits for a person (a TTL would retry it).
	if j.Spec.ActiveDeadlineSeconds == nil || (j.Spec.TTLSecondsAfterFinished == nil) != (component == RestoreComponent) {
		t.Errorf("deadline %v, ttl %v: want a deadline, and a time to live but for the restore", j.Spec.ActiveDeadlineSeconds,
			j.Spec.TTLSecondsAfterFinished)
	}
	p := &j.Spec.Template.Spec
	if p.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %s", p.RestartPolicy)
	}
	sc, c := p.SecurityContext, p.Containers[0]
	if !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != uid || sc.SeccompProfile == nil ||
		ptr.Deref(p.AutomountServiceAccountToken, true) || ptr.Deref(c.SecurityContext.AllowPrivilegeEscalation, true) ||
		!ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false) || len(c.SecurityContext.Capabilities.Drop) != 1 {
		t.Errorf("not restricted: pod %+v, container %+v", sc, c.SecurityContext)
	}
	appPod := podSpecs(typed(t, buildApp(bc)))["Deployment/app"]
	if diff := cmp.Diff(appPod.NodeSelector, p.NodeSelector); diff != "" {
		t.Errorf("node selector differs from the app's (-app +job):\n%s", diff)
	}
	if diff := cmp.Diff(appPod.Affinity, p.Affinity); diff != "" {
		t.Errorf("affinity differs from the app's (-app +job):\n%s", diff)
	}
	if diff := cmp.Diff(appPod.Tolerations, p.Tolerations); diff != "" {
		t.Errorf("tolerations differ from the app's (-app +job):\n%s", diff)
	}
	if diff := cmp.Diff(appPod.RuntimeClassName, p.RuntimeClassName); diff != "" {
		t.Errorf("runtime class differs from the app's (-app +job):\n%s", diff)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v, want requests and limits", c.Resources)
	}
}

func TestBuildRotationJob(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{Version: "16.4-alpine"}
	tn.Spec.Cache = &silov1.CacheSpec{}
	tn.Spec.Queue = &silov1.QueueSpec{Version: "2.12.0-alpine"}
	tn.Spec.Isolation.NodePool = "dedicated"
	tn.Spec.Isolation.RuntimeClassName = "gvisor"
	tn.Spec.Placement.Region = "eu-west-1"
	bc := testContext(tn)
	stagingEnv := map[string]string{"PREVIOUS_USER": previousUserKey, "PREVIOUS_PASSWORD": previousPasswordKey,
		"NEW_USER": "username", "NEW_PASSWORD": "password"}
	for name, tc := range map[string]struct {
		component string
		step      rotationStep
		image     string
		uid       int64
		client    string
		env       map[string]string
		// secretEnv are more variables read from a Secret's key: {Secret, key}.
		secretEnv map[string][2]string
	}{
		"database apply": {component: DatabaseName, step: applyStep, image: "docker.io/library/postgres:16.4-alpine",
			uid: postgresUID, client: "ALTER ROLE %I WITH LOGIN PASSWORD",
			env: map[string]string{"PGHOST": "database.tenant-acme.svc", "PGDATABASE": postgresDB}},
		"database retire": {component: DatabaseName, step: retireStep, image: "docker.io/library/postgres:16.4-alpine",
			uid: postgresUID, client: "PASSWORD NULL", env: map[string]string{"PGPORT": "5432"}},
		"cache apply": {component: CacheName, step: applyStep, image: DefaultConfig().Images.Valkey, uid: valkeyUID,
			client: `resetpass ">$PREVIOUS_PASSWORD" ">$NEW_PASSWORD"`, env: map[string]string{"VALKEY_HOST": "cache.tenant-acme.svc"}},
		"cache retire": {component: CacheName, step: retireStep, image: DefaultConfig().Images.Valkey, uid: valkeyUID,
			client: `resetpass ">$NEW_PASSWORD"`, env: map[string]string{"VALKEY_PORT": "6379"}},
		"queue apply": {component: QueueName, step: applyStep, image: "docker.io/library/nats:2.12.0-alpine", uid: natsUID,
			client:    `accepts "$NEW_USER" "$NEW_PASSWORD" && accepts "$PREVIOUS_USER" "$PREVIOUS_PASSWORD"`,
			env:       map[string]string{"NATS_HOST": "queue.tenant-acme.svc", "NATS_PORT": "4222", "RELOAD_USER": natsReloadUser},
			secretEnv: map[string][2]string{"RELOAD_PASSWORD": {"queue-config", reloadPasswordKey}}},
		"queue retire": {component: QueueName, step: retireStep, image: "docker.io/library/nats:2.12.0-alpine", uid: natsUID,
			client: `accepts "$NEW_USER" "$NEW_PASSWORD" && ! accepts "$PREVIOUS_USER" "$PREVIOUS_PASSWORD"`,
			env:    map[string]string{"WAIT_SECONDS": "240"}, secretEnv: map[string][2]string{"RELOAD_PASSWORD": {"queue-config", reloadPasswordKey}}},
	} {
		t.Run(name, func(t *testing.T) {
			j := onlyJob(t, buildRotationJob(bc, tc.component, tc.step, "database@2"))
			checkDataJob(t, bc, j, RotationComponent, tc.uid)
			c := j.Spec.Template.Spec.Containers[0]
			if c.Image != tc.image {
				t.Errorf("image = %s, want the service's own %s", c.Image, tc.image)
			}
			if len(c.Command) != 3 || !strings.Contains(c.Command[2], tc.client) {
				t.Errorf("command = %q, want a script with %q", c.Command, tc.client)
			}
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				env[e.Name] = e
			}
			for name, key := range stagingEnv {
				ref := env[name].ValueFrom
				if ref == nil || ref.SecretKeyRef.Name != stagingSecretName(tc.component) || ref.SecretKeyRef.Key != key {
					t.Errorf("%s = %+v, want key %s of the staging Secret", name, env[name], key)
				}
			}
			for name, value := range tc.env {
				if env[name].Value != value {
					t.Errorf("%s = %q, want %q", name, env[name].Value, value)
				}
			}
			for name, ref := range tc.secretEnv {
				if vf := env[name].ValueFrom; vf == nil || vf.SecretKeyRef.Name != ref[0] || vf.SecretKeyRef.Key != ref[1] {
					t.Errorf("%s = %+v, want key %s of Secret %s", name, env[name], ref[1], ref[0])
				}
			}
			if j.Annotations[silov1.RotationRequestAnnotation] != "database@2" {
				t.Errorf("annotations = %v", j.Annotations)
			}
		})
	}
	a := buildRotationJob(bc, DatabaseName, applyStep, "database")
	if *a.Name != *buildRotationJob(bc, DatabaseName, applyStep, "database").Name ||
		*a.Name == *buildRotationJob(bc, DatabaseName, applyStep, "database@2").Name ||
		*a.Name == *buildRotationJob(bc, DatabaseName, retireStep, "database").Name {
		t.Errorf("Job names are not one per request and step: %s", *a.Name)
	}
}

func TestParseRotationRequest(t *testing.T) {
	full := testTenant()
	full.Spec.Database = &silov1.DatabaseSpec{}
	full.Spec.Cache = &silov1.CacheSpec{}
	full.Spec.Queue = &silov1.QueueSpec{}
	external := full.DeepCopy()
	external.Spec.Cache.External = &silov1.ExternalService{SecretName: "cache"}
	for name, tc := range map[string]struct {
		tenant  *silov1.Tenant
		value   string
		want    []string
		refused string
	}{
		"one service":                   {tenant: full, value: "database", want: []string{DatabaseName}},
		"a list, sorted, deduplicated":  {tenant: full, value: "cache, database,cache", want: []string{CacheName, DatabaseName}},
		"an id after @ makes it new":    {tenant: full, value: "database@2027-01", want: []string{DatabaseName}},
		"the queue, with the others":    {tenant: full, value: "queue,database,cache", want: []string{CacheName, DatabaseName, QueueName}},
		"a queue the Tenant lacks":      {tenant: testTenant(), value: "queue", refused: "has no queue"},
		"an unknown service is refused": {tenant: full, value: "databse", refused: `names "databse"`},
		"a service the Tenant lacks":    {tenant: testTenant(), value: "database", refused: "has no database"},
		"an external service":           {tenant: external, value: "cache", refused: "is external"},
		"too long":                      {tenant: full, value: strings.Repeat("a", 254), refused: "longer than 253"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseRotationRequest(tc.tenant, tc.value)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error = %v, want one with %q", err, tc.refused)
				}
				if !strings.Contains(err.Error(), "kubectl") && !strings.Contains(err.Error(), "rotate them") {
					t.Errorf("error %q does not say what to do", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlternateUser(t *testing.T) {
	for in, want := range map[string]string{"app": "app_b", "app_b": "app"} {
		if got := alternateUser(in); got != want {
			t.Errorf("alternateUser(%q) = %q, want %q", in, got, want)
		}
		if got := alternateUser(alternateUser(in)); got != in {
			t.Errorf("two rotations of %q end on %q, want it back", in, got)
		}
	}
}

func TestCompareCredentials(t *testing.T) {
	secret := func(kv ...string) *corev1.Secret {
		s := &corev1.Secret{Data: map[string][]byte{}}
		for i := 0; i < len(kv); i += 2 {
			s.Data[kv[i]] = []byte(kv[i+1])
		}
		return s
	}
	staging := secret("username", "app_b", "password", "new", previousUserKey, "app", previousPasswordKey, "old")
	for name, tc := range map[string]struct {
		current, staging *corev1.Secret
		want             credentialsState
	}{
		"missing":            {staging: staging, want: credentialsMissing},
		"no rotation":        {current: secret("username", "app", "password", "old"), want: credentialsPrevious},
		"the old ones":       {current: secret("username", "app", "password", "old"), staging: staging, want: credentialsPrevious},
		"the new ones":       {current: secret("username", "app_b", "password", "new"), staging: staging, want: credentialsNew},
		"new user, old pass": {current: secret("username", "app_b", "password", "old"), staging: staging, want: credentialsOther},
		"something else":     {current: secret("username", "app", "password", "x"), staging: staging, want: credentialsOther},
	} {
		t.Run(name, func(t *testing.T) {
			if got := compareCredentials(tc.current, tc.staging); got != tc.want {
				t.Errorf("compareCredentials = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestScriptsSendVariablesOnStandardInput keeps the rotation's psql from sending its
// variables unexpanded: psql interpolates :'var' and :"var" only in the SQL it reads,
// never in -c (the retire script once failed so on a real server).
func TestScriptsSendVariablesOnStandardInput(t *testing.T) {
	for name, script := range map[string]string{"apply": postgresApplyScript, "retire": postgresRetireScript, "export": exportScript} {
		for _, line := range strings.Split(script, "\n") {
			if strings.Contains(line, "psql") && strings.Contains(line, " -c ") &&
				(strings.Contains(line, ":'") || strings.Contains(line, `:"`)) {
				t.Errorf("%s: %q uses a psql variable in -c, where psql does not expand it", name, line)
			}
		}
	}
}
