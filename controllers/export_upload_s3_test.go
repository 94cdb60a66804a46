package controllers

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// TestExportUploadAgainstS3 runs the export Job's upload script, with curl, against a
// real S3-compatible service, and reads every object back. It needs one: set
// SILO_TEST_S3_ENDPOINT, SILO_TEST_S3_BUCKET (existing), SILO_TEST_S3_ACCESS_KEY_ID,
// SILO_TEST_S3_SECRET_ACCESS_KEY and optionally SILO_TEST_S3_REGION; skipped
// otherwise (docs/data.md says how to run it against a local one).
func TestExportUploadAgainstS3(t *testing.T) {
	endpoint := os.Getenv("SILO_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Skip("SILO_TEST_S3_ENDPOINT is not set: no S3-compatible service to upload to")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on PATH")
	}
	st, err := objectStoreFrom(&corev1.Secret{Data: map[string][]byte{
		"endpoint": []byte(endpoint), "bucket": []byte(os.Getenv("SILO_TEST_S3_BUCKET")),
		"region": []byte(os.Getenv("SILO_TEST_S3_REGION")), "prefix": []byte("silo-test"),
		"accessKeyID":     []byte(os.Getenv("SILO_TEST_S3_ACCESS_KEY_ID")),
		"secretAccessKey": []byte(os.Getenv("SILO_TEST_S3_SECRET_ACCESS_KEY")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tn := testTenant()
	tn.Spec.Database = &silov1.DatabaseSpec{}
	tn.Spec.Storage = &silov1.StorageSpec{Size: qty("1Gi")}
	id := "t" + time.Now().UTC().Format("20060102t150405")
	secret := buildExportUploadSecret(testContext(tn), id, st, time.Now())

	dir := t.TempDir()
	files := map[string][]byte{}
	for _, o := range exportObjects(tn) {
		b := make([]byte, 256<<10)
		_, _ = rand.Read(b)
		files[o.name] = b
		if err := os.WriteFile(filepath.Join(dir, o.name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", strings.Replace(exportUploadScript, "cd "+exportPath, "cd "+dir, 1))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SILO_UPLOAD_LOCATION=s3://" + st.bucket + "/" + exportObjectKey(st, tn, id)}
	for _, o := range exportObjects(tn) {
		cmd.Env = append(cmd.Env, o.env+"="+string(secret.Data[o.name]))
	}
	out, err := cmd.CombinedOutput()
	t.Logf("upload:\n%s", out)
	if err != nil {
		t.Fatalf("upload failed: %v", err)
	}
	if bytes.Contains(out, []byte("X-Amz-Signature")) {
		t.Error("the upload printed a URL")
	}
	region := st.region
	if region == "" {
		region = signingRegion
	}
	for name, want := range files {
		url := presign(presignRequest{method: "GET", scheme: st.scheme, host: st.host,
			path: "/" + st.bucket + "/" + exportObjectKey(st, tn, id) + name, region: region,
			accessKeyID: st.accessKeyID, secretKey: st.secretKey, now: time.Now(), expires: time.Minute})
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: status %d, %d bytes, want the %d bytes uploaded", name, resp.StatusCode, len(got), len(want))
		}
	}
}
