package controllers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildExportJob(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate   func(*silov1.Tenant)
		image    string
		pgEnv    bool
		files    bool
		affinity bool
	}{
		"database and files": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.Database = &silov1.DatabaseSpec{Version: "16.4-alpine"}
				tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi")}
			},
			image: "docker.io/library/postgres:16.4-alpine", pgEnv: true, files: true,
		},
		"database only": {
			mutate: func(tn *silov1.Tenant) { tn.Spec.Database = &silov1.DatabaseSpec{} },
			image:  DefaultConfig().Images.Postgres, pgEnv: true,
		},
		"an external database is the platform's: files only": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.Database = &silov1.DatabaseSpec{External: &silov1.ExternalService{SecretName: "db"}}
				tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi")}
			},
			image: DefaultConfig().Images.Postgres, files: true,
		},
		"ReadWriteOnce files: beside the app": {
			mutate: func(tn *silov1.Tenant) {
				tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi"), AccessMode: "ReadWriteOnce"}
			},
			image: DefaultConfig().Images.Postgres, files: true, affinity: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Isolation.NodePool = "dedicated"
			tn.Spec.Isolation.RuntimeClassName = "gvisor"
			tn.Spec.Placement.Region = "eu-west-1"
			tc.mutate(tn)
			bc := testContext(tn)
			j := onlyJob(t, buildExportJob(bc, "2027-01-15", nil))
			if tc.affinity {
				// The pod affinity is the only difference from the app's placement.
				if a := j.Spec.Template.Spec.Affinity; a == nil || a.PodAffinity == nil {
					t.Fatalf("affinity = %+v, want a preference for the app's node", a)
				}
				j.Spec.Template.Spec.Affinity.PodAffinity = nil
			}
			checkDataJob(t, bc, j, ExportComponent, appUID)
			if j.Name != "export-2027-01-15" || j.Labels[silov1.ExportIDLabel] != "2027-01-15" {
				t.Errorf("name %s, labels %v", j.Name, j.Labels)
			}
			p := j.Spec.Template.Spec
			c := p.Containers[0]
			if c.Image != tc.image {
				t.Errorf("image = %s, want %s", c.Image, tc.image)
			}
			if !strings.Contains(c.Command[2], "pg_dump --format=custom") || !strings.Contains(c.Command[2], "tar -C /data") {
				t.Errorf("script = %s", c.Command[2])
			}
			pg := 0
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "PG") {
					pg++
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != SettingsSecretName || e.ValueFrom.SecretKeyRef.Key != e.Name {
						t.Errorf("%s = %+v, want the key of the connection settings", e.Name, e)
					}
				}
			}
			if (pg == 5) != tc.pgEnv || (pg != 0 && pg != 5) {
				t.Errorf("%d PG variables, want the database's five: %v", pg, tc.pgEnv)
			}
			if len(c.EnvFrom) != 0 {
				t.Errorf("envFrom = %+v: the export reads the database's settings only", c.EnvFrom)
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m
			}
			if mounts[exportPath].Name != exportVolume {
				t.Errorf("mounts = %+v, want the export claim at %s", c.VolumeMounts, exportPath)
			}
			if m, ok := mounts[exportFilesPath]; ok != tc.files || (ok && !m.ReadOnly) {
				t.Errorf("file storage mount = %+v (present %v), want read-only: %v", m, ok, tc.files)
			}
			claims := map[string]bool{}
			for _, v := range p.Volumes {
				if v.PersistentVolumeClaim != nil {
					claims[v.PersistentVolumeClaim.ClaimName] = true
				}
			}
			if want := map[string]bool{"export-2027-01-15": true, StorageName: tc.files}; !claims["export-2027-01-15"] || claims[StorageName] != tc.files {
				t.Errorf("claims = %v, want %v", claims, want)
			}
		})
	}
}

func TestBuildExportClaim(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*silov1.Tenant, *Config)
		size   string
		class  string
	}{
		"database default and files, in the region's class": {
			mutate: func(tn *silov1.Tenant, _ *Config) {
				tn.Spec.Database = &silov1.DatabaseSpec{}
				tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi")}
				tn.Spec.Placement.Region = "eu-west-1"
			},
			size: "12Gi", class: "fast-eu",
		},
		"the platform's export class wins": {
			mutate: func(tn *silov1.Tenant, cfg *Config) {
				tn.Spec.Database = &silov1.DatabaseSpec{Storage: ptrTo(qty("5Gi"))}
				tn.Spec.Placement.Region = "eu-west-1"
				cfg.Platform.ExportStorageClass = "exports"
			},
			size: "5Gi", class: "exports",
		},
		"no region, no class: the cluster default": {
			mutate: func(tn *silov1.Tenant, _ *Config) { tn.Spec.Storage = &silov1.StorageSpec{Size: qty("1Gi")} },
			size:   "1Gi",
		},
	} {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			bc := testContext(tn)
			tc.mutate(tn, bc.Config)
			objs := typed(t, []runtime.ApplyConfiguration{buildExportClaim(bc, "x1")})
			spec := claimSpecs(objs)["PersistentVolumeClaim/export-x1"]
			if spec == nil {
				t.Fatalf("objects = %v", keys(objs))
			}
			got := spec.Resources.Requests[corev1.ResourceStorage]
			if got.String() != tc.size {
				t.Errorf("size = %s, want %s", got.String(), tc.size)
			}
			if diff := cmp.Diff(tc.class, deref(spec.StorageClassName)); diff != "" {
				t.Errorf("storage class (-want +got):\n%s", diff)
			}
			if l := objs["PersistentVolumeClaim/export-x1"].GetLabels(); l[silov1.ExportIDLabel] != "x1" || l[silov1.ComponentLabel] != ExportComponent {
				t.Errorf("labels = %v", l)
			}
		})
	}
}

func TestValidExportID(t *testing.T) {
	withData := testTenant()
	withData.Spec.Database = &silov1.DatabaseSpec{}
	for name, tc := range map[string]struct {
		tenant  *silov1.Tenant
		id      string
		refused string
	}{
		"a date":                 {tenant: withData, id: "2027-01-15"},
		"upper case":             {tenant: withData, id: "Jan", refused: "DNS label"},
		"a slash":                {tenant: withData, id: "a/b", refused: "DNS label"},
		"too long for the claim": {tenant: withData, id: strings.Repeat("a", 57), refused: "at most 56"},
		"nothing to export":      {tenant: testTenant(), id: "x", refused: "neither a managed database nor file storage"},
	} {
		t.Run(name, func(t *testing.T) {
			err := validExportID(tc.tenant, tc.id)
			if tc.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refused) {
				t.Errorf("error = %v, want one with %q", err, tc.refused)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
