package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildDatabase(t *testing.T) {
	tests := map[string]struct {
		db          silov1.DatabaseSpec
		wantImage   string
		wantStorage string
	}{
		"defaults: the pinned image and 10Gi": {
			wantImage:   "docker.io/library/postgres:17.5-alpine",
			wantStorage: "10Gi",
		},
		"version and storage": {
			db:          silov1.DatabaseSpec{Version: "16.9-alpine", Storage: ptr.To(qty("50Gi"))},
			wantImage:   "docker.io/library/postgres:16.9-alpine",
			wantStorage: "50Gi",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Database = &tc.db
			objs := typed(t, buildDatabase(testContext(tn)))
			if diff := cmp.Diff([]string{"Service/database", "StatefulSet/database"}, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			s := objs["StatefulSet/database"].(*appsv1.StatefulSet)
			c := s.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage {
				t.Errorf("image = %s, want %s", c.Image, tc.wantImage)
			}
			secretRef := func(key string) *corev1.EnvVarSource {
				return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "database-credentials"}, Key: key}}
			}
			wantEnv := []corev1.EnvVar{
				{Name: "POSTGRES_USER", ValueFrom: secretRef("username")},
				{Name: "POSTGRES_PASSWORD", ValueFrom: secretRef("password")},
				{Name: "POSTGRES_DB", Value: "app"},
				{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
			}
			if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if got := s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String(); got != tc.wantStorage {
				t.Errorf("storage = %s, want %s", got, tc.wantStorage)
			}
			if s.Spec.VolumeClaimTemplates[0].Labels[silov1.TenantLabel] != "acme" {
				t.Error("the claim template is not labelled: retained claims could not be found")
			}
			checkRestricted(t, "database", &s.Spec.Template.Spec, postgresUID)
		})
	}
}

func TestDatabaseSettings(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{}
	bc := testContext(tn)
	bc.Credentials[DatabaseName]["password"] = []byte("p@ss/word")
	got := settingsData(bc)
	want := map[string]string{
		"DATABASE_URL": "postgres://app:p%40ss%2Fword@database.tenant-acme.svc:5432/app?sslmode=disable",
		"PGHOST":       "database.tenant-acme.svc",
		"PGPORT":       "5432",
		"PGDATABASE":   "app",
		"PGUSER":       "app",
		"PGPASSWORD":   "p@ss/word",
	}
	gotS := map[string]string{}
	for k, v := range got {
		gotS[k] = string(v)
	}
	if diff := cmp.Diff(want, gotS); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}
