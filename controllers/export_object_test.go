package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// The example of AWS's documentation of query-string authentication
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html):
// the same request, keys and time must give its signature.
func TestPresignAWSExample(t *testing.T) {
	got := presign(presignRequest{method: "GET", scheme: "https", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
		region: "us-east-1", accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		now: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), expires: 24 * time.Hour})
	want := "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z" +
		"&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	if got != want {
		t.Errorf("presign =\n%s\nwant\n%s", got, want)
	}
}

// The same PUTs presigned by botocore 1.43.11 (the AWS SDK for Python:
// generate_presigned_url("put_object"), path-style, its clock set to 2027-01-15
// 03:00 UTC): an AWS endpoint, and a MinIO-like one with a port and a key that
// needs escaping.
func TestPresignMatchesBotocore(t *testing.T) {
	now := time.Date(2027, 1, 15, 3, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		req  presignRequest
		want string
	}{
		"aws": {
			req: presignRequest{scheme: "https", host: "s3.eu-west-1.amazonaws.com", path: "/acme-exports/silo/acme/2027-01-15/database.dump",
				region: "eu-west-1", accessKeyID: "AKIDEXAMPLE", secretKey: "s3cr3t-do-not-leak", expires: 25200 * time.Second},
			want: "https://s3.eu-west-1.amazonaws.com/acme-exports/silo/acme/2027-01-15/database.dump?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=AKIDEXAMPLE%2F20270115%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20270115T030000Z&X-Amz-Expires=25200" +
				"&X-Amz-SignedHeaders=host&X-Amz-Signature=dbf937c6df802efaaa5f5f1b6bc67e1f7ff7a5c0583931512e584eefffc61fd4",
		},
		"escaped key, port": {
			req: presignRequest{scheme: "http", host: "127.0.0.1:9000", path: "/b/p q/a+b~c/MANIFEST",
				region: "us-east-1", accessKeyID: "minio", secretKey: "minio-secret/+=", expires: time.Minute},
			want: "http://127.0.0.1:9000/b/p%20q/a%2Bb~c/MANIFEST?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=minio%2F20270115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20270115T030000Z&X-Amz-Expires=60" +
				"&X-Amz-SignedHeaders=host&X-Amz-Signature=5e3e0aa9d3293a8f2af3a64ae14c59eb1f2ab7a812d596a664f725acee3990ac",
		},
	} {
		t.Run(name, func(t *testing.T) {
			tc.req.method, tc.req.now = "PUT", now
			if got := presign(tc.req); got != tc.want {
				t.Errorf("presign =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// storeSecret is a complete object storage Secret.
func storeSecret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "exports-eu"}, Data: map[string][]byte{
		"endpoint": []byte("https://s3.eu-west-1.amazonaws.com/"), "bucket": []byte("acme-exports"), "region": []byte("eu-west-1"),
		"accessKeyID": []byte("AKIDEXAMPLE"), "secretAccessKey": []byte("s3cr3t-do-not-leak"), "prefix": []byte("/silo/"),
	}}
}

func TestObjectStoreFrom(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate  func(map[string][]byte)
		refused string
	}{
		"complete":                {mutate: func(map[string][]byte) {}},
		"no region and no prefix": {mutate: func(d map[string][]byte) { delete(d, "region"); delete(d, "prefix") }},
		"keys missing": {
			mutate:  func(d map[string][]byte) { delete(d, "bucket"); d["secretAccessKey"] = []byte(" ") },
			refused: "it has no bucket, secretAccessKey",
		},
		"an endpoint with a path": {
			mutate:  func(d map[string][]byte) { d["endpoint"] = []byte("https://s3.example/acme-exports") },
			refused: "want scheme://host[:port]",
		},
		"an endpoint without scheme": {
			mutate:  func(d map[string][]byte) { d["endpoint"] = []byte("s3.example") },
			refused: "not the URL of an S3-compatible service",
		},
		"a prefix status cannot hold": {
			mutate:  func(d map[string][]byte) { d["prefix"] = []byte(strings.Repeat("p", 901)) },
			refused: "too long",
		},
		"a bucket that is not one": {
			mutate:  func(d map[string][]byte) { d["bucket"] = []byte("Acme_Exports") },
			refused: "is not a bucket name",
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := storeSecret()
			tc.mutate(s.Data)
			st, err := objectStoreFrom(s)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error = %v, want one with %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.host != "s3.eu-west-1.amazonaws.com" || st.scheme != "https" || st.bucket != "acme-exports" {
				t.Errorf("store = %+v", st)
			}
		})
	}
}

func TestParseEndpointDefaultPort(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://s3.example:443": "s3.example", "http://minio.local:80": "minio.local", "http://minio.local:9000": "minio.local:9000",
	} {
		if _, host, err := parseEndpoint(endpoint); err != nil || host != want {
			t.Errorf("%s: host %q, %v; want %q (the Host header curl sends, which is signed)", endpoint, host, err, want)
		}
	}
}

func TestExportResidency(t *testing.T) {
	for name, tc := range map[string]struct {
		tenant, bucket string
		refused        bool
	}{
		"same region":             {tenant: "eu-west-1", bucket: "eu-west-1"},
		"another region":          {tenant: "eu-west-1", bucket: "us-east-1", refused: true},
		"a Tenant without region": {bucket: "us-east-1"},
		"a bucket without region": {tenant: "eu-west-1"},
		"neither says its region": {},
	} {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.Placement.Region = tc.tenant
			err := exportResidency(tn, &objectStore{bucket: "b", region: tc.bucket})
			if (err != nil) != tc.refused {
				t.Errorf("error = %v, refused want %v", err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "must stay in "+tc.tenant) {
				t.Errorf("error = %v: want it to name the Tenant's region", err)
			}
		})
	}
}

func TestExportObjectStorageFor(t *testing.T) {
	p := Platform{ExportObjectStorage: map[string]string{"eu-west-1": "exports-eu", "*": "exports-any"}}
	for region, want := range map[string]string{"eu-west-1": "exports-eu", "us-east-1": "exports-any", "": "exports-any"} {
		if got := p.ExportObjectStorageFor(region); got != want {
			t.Errorf("region %q: %q, want %q", region, got, want)
		}
	}
	if got := (&Platform{ExportObjectStorage: map[string]string{"eu-west-1": "exports-eu"}}).ExportObjectStorageFor("us-east-1"); got != "" {
		t.Errorf("a region without an entry and no *: %q, want a claim", got)
	}
	if _, err := ParseExportObjectStorage([]string{"eu-west-1"}); err == nil || !strings.Contains(err.Error(), "want region=secret") {
		t.Errorf("error = %v", err)
	}
	if _, err := ParseExportObjectStorage([]string{"eu-west-1=a", "eu-west-1=b"}); err == nil {
		t.Error("two Secrets for one region: want an error")
	}
	bad := defaultPlatform()
	bad.ExportObjectStorage = map[string]string{"eu-west-1": "Not_A_Secret"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "is not a Secret name") {
		t.Errorf("Validate = %v", err)
	}
}

// exportStore returns the store of storeSecret.
func exportStore(t *testing.T) *objectStore {
	t.Helper()
	st, err := objectStoreFrom(storeSecret())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBuildExportUploadSecret(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{}
	tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi")}
	bc := testContext(tn)
	now := time.Date(2027, 1, 15, 3, 0, 0, 0, time.UTC)
	s := buildExportUploadSecret(bc, "2027-01-15", exportStore(t), now)
	if s.Name != "export-2027-01-15-upload" || s.Namespace != NamespaceFor(tn) || !ptr.Deref(s.Immutable, false) ||
		s.Labels[silov1.ManagedByLabel] != silov1.ManagedByValue || s.Labels[silov1.ExportIDLabel] != "2027-01-15" || len(s.OwnerReferences) != 1 {
		t.Errorf("secret = %+v", s.ObjectMeta)
	}
	if diff := cmp.Diff([]string{"MANIFEST", "database.dump", "files.tar"}, sortedKeys(s.Data)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	for name, v := range s.Data {
		u := string(v)
		if !strings.HasPrefix(u, "https://s3.eu-west-1.amazonaws.com/acme-exports/silo/"+tn.Name+"/2027-01-15/"+name+"?") {
			t.Errorf("%s: %s, want a path-style URL under <prefix>/<tenant>/<id>/", name, u)
		}
		for _, want := range []string{"X-Amz-Expires=25200", "X-Amz-Date=20270115T030000Z", "%2Feu-west-1%2Fs3%2F", "X-Amz-Signature="} {
			if !strings.Contains(u, want) {
				t.Errorf("%s: %s, want %s", name, u, want)
			}
		}
		if strings.Contains(u, "s3cr3t") {
			t.Errorf("%s holds the secret key", name)
		}
	}
	// Deterministic: the same time, the same URLs; another time, others.
	if diff := cmp.Diff(s.Data, buildExportUploadSecret(bc, "2027-01-15", exportStore(t), now).Data); diff != "" {
		t.Errorf("not deterministic:\n%s", diff)
	}
	st := exportStore(t)
	st.region = ""
	if u := string(buildExportUploadSecret(bc, "x", st, now).Data["MANIFEST"]); !strings.Contains(u, "%2Fus-east-1%2Fs3%2F") {
		t.Errorf("a bucket without region: %s, want it signed for us-east-1", u)
	}
}

func TestBuildExportJobObjectStorage(t *testing.T) {
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{}
	tn.Spec.Storage = &silov1.StorageSpec{Size: qty("2Gi")}
	tn.Spec.Isolation.NodePool = "dedicated"
	tn.Spec.Isolation.RuntimeClassName = "gvisor"
	tn.Spec.Placement.Region = "eu-west-1"
	bc := testContext(tn)
	bc.Config.Images.ExportUploader = "registry.example/curl:1"
	j := onlyJob(t, buildExportJob(bc, "2027-01-15", exportStore(t)))
	p := j.Spec.Template.Spec
	if len(p.InitContainers) != 1 || len(p.Containers) != 1 {
		t.Fatalf("init containers %d, containers %d: want the export, then the upload", len(p.InitContainers), len(p.Containers))
	}
	dump, up := p.InitContainers[0], p.Containers[0]
	if !strings.Contains(dump.Command[2], "pg_dump --format=custom") || dump.Image != DefaultConfig().Images.Postgres {
		t.Errorf("export container = %s %v", dump.Image, dump.Command)
	}
	// Both containers restricted, in the app's placement.
	checkDataJob(t, bc, j, ExportComponent, appUID)
	dumpOnly := j.DeepCopy()
	dumpOnly.Spec.Template.Spec.Containers = []corev1.Container{dump}
	checkDataJob(t, bc, dumpOnly, ExportComponent, appUID)
	if up.Name != exportUploadContainer || up.Image != "registry.example/curl:1" {
		t.Errorf("upload container = %s %s", up.Name, up.Image)
	}
	if diff := cmp.Diff([]string{"/bin/sh", "-c", exportUploadScript}, up.Command); diff != "" || len(up.Args) != 0 {
		t.Errorf("command (-want +got):\n%s, args %v", diff, up.Args)
	}
	for _, want := range []string{`put database.dump "$SILO_UPLOAD_DATABASE"`, `put MANIFEST "$SILO_UPLOAD_MANIFEST"`, "curl -q --config -"} {
		if !strings.Contains(exportUploadScript, want) {
			t.Errorf("upload script lacks %q", want)
		}
	}
	if strings.Index(exportUploadScript, "put MANIFEST") < strings.Index(exportUploadScript, "put files.tar") {
		t.Error("MANIFEST must be uploaded last")
	}
	refs := map[string]string{}
	for _, e := range up.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if e.ValueFrom.SecretKeyRef.Name != "export-2027-01-15-upload" {
				t.Errorf("%s reads the Secret %s, want the upload Secret", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			refs[e.Name] = e.ValueFrom.SecretKeyRef.Key
		case strings.Contains(e.Value, "X-Amz") || strings.Contains(e.Value, "s3cr3t") || strings.Contains(e.Value, "AKIDEXAMPLE"):
			t.Errorf("%s = %s: a credential in the spec", e.Name, e.Value)
		}
	}
	want := map[string]string{"SILO_UPLOAD_DATABASE": "database.dump", "SILO_UPLOAD_FILES": "files.tar", "SILO_UPLOAD_MANIFEST": "MANIFEST"}
	if diff := cmp.Diff(want, refs); diff != "" {
		t.Errorf("upload URLs from the Secret (-want +got):\n%s", diff)
	}
	if len(up.EnvFrom) != 0 {
		t.Errorf("envFrom = %+v", up.EnvFrom)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range up.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts[exportPath]; m.Name != exportVolume || !m.ReadOnly {
		t.Errorf("upload mounts = %+v, want the export claim read-only", up.VolumeMounts)
	}
	if _, ok := mounts[exportFilesPath]; ok {
		t.Error("the upload mounts the file storage: it reads the claim only")
	}
	// Only the files the Tenant has: no database, no database URL.
	tn.Spec.Database = nil
	j = onlyJob(t, buildExportJob(bc, "x", exportStore(t)))
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "SILO_UPLOAD_DATABASE" {
			t.Error("a Tenant without a managed database uploads no dump")
		}
	}
}
