package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildRestoreCredentialsJob(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{Version: "16.4-alpine", Resources: &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}
	tn.Spec.Isolation.NodePool = "dedicated"
	tn.Spec.Isolation.RuntimeClassName = "gvisor"
	tn.Spec.Placement.Region = "eu-west-1"
	bc := testContext(tn)
	name := restoreCredentialsJobName(&corev1.PersistentVolumeClaim{})
	j := onlyJob(t, buildRestoreCredentialsJob(bc, name))
	checkDataJob(t, bc, j, RestoreComponent, postgresUID)

	// What the database StatefulSet would run: the same image, data directory and claim.
	objs := typed(t, buildDatabase(bc))
	db := podSpecs(objs)["StatefulSet/database"].Containers[0]
	c := j.Spec.Template.Spec.Containers[0]
	if c.Image != db.Image || c.Image != "docker.io/library/postgres:16.4-alpine" {
		t.Errorf("image = %s, want the database's %s", c.Image, db.Image)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, e := range db.Env {
		if e.Name == "PGDATA" && env["PGDATA"] != e {
			t.Errorf("PGDATA = %+v, want the database's %+v", env["PGDATA"], e)
		}
	}
	for name, key := range map[string]string{"NEW_USER": "username", "NEW_PASSWORD": "password"} {
		ref := env[name].ValueFrom
		if env[name].Value != "" || ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "database-credentials" ||
			ref.SecretKeyRef.Key != key {
			t.Errorf("%s = %+v, want key %s of the database's credentials Secret", name, env[name], key)
		}
	}
	if env["POSTGRES_DB"].Value != postgresDB {
		t.Errorf("POSTGRES_DB = %+v", env["POSTGRES_DB"])
	}
	mountOf := func(c corev1.Container, volume string) corev1.VolumeMount {
		for _, m := range c.VolumeMounts {
			if m.Name == volume {
				return m
			}
		}
		t.Fatalf("no mount of %s in %s", volume, c.Name)
		return corev1.VolumeMount{}
	}
	if diff := cmp.Diff(mountOf(db, dataVolume), mountOf(c, dataVolume)); diff != "" {
		t.Errorf("the data mount (path, subPath) differs from the database's (-database +job):\n%s", diff)
	}
	claim := ""
	for _, v := range j.Spec.Template.Spec.Volumes {
		if v.Name == dataVolume && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	// The StatefulSet controller names the claim of template T of replica 0 T-database-0.
	if _, ok := claimSpecs(objs)["StatefulSet/database/"+mountOf(db, dataVolume).Name]; !ok || claim != dataVolume+"-database-0" {
		t.Errorf("claim = %q, want the one of the StatefulSet's template %s", claim, mountOf(db, dataVolume).Name)
	}
	if diff := cmp.Diff(db.Resources, c.Resources); diff != "" {
		t.Errorf("resources differ from the database's (-database +job):\n%s", diff)
	}
	if len(c.Args) != 0 || len(c.Command) != 3 || !strings.Contains(c.Command[2], "postgres --single") ||
		!strings.Contains(c.Command[2], "ALTER ROLE %I WITH LOGIN PASSWORD") {
		t.Errorf("command = %q, args %q: want the single-user script", c.Command, c.Args)
	}
	// The password and the user are read from the Secret when the pod starts: neither
	// is anywhere in the Job.
	raw, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if pw := string(bc.Credentials[DatabaseName]["password"]); strings.Contains(string(raw), pw) {
		t.Errorf("the Job holds the password %q", pw)
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit == 0 {
		t.Errorf("backoffLimit = %v, want retries (an attempt is idempotent)", j.Spec.BackoffLimit)
	}
}

func TestRestoreCredentialsJobName(t *testing.T) {
	claim := func(uid string) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{}
		c.UID = types.UID(uid)
		return c
	}
	a := restoreCredentialsJobName(claim("u-1"))
	if a != restoreCredentialsJobName(claim("u-1")) || a == restoreCredentialsJobName(claim("u-2")) ||
		!strings.HasPrefix(a, "restore-credentials-") {
		t.Errorf("name %s is not one per claim", a)
	}
}
