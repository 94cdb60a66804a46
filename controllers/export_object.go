package controllers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Keys of the platform's object storage Secret (in the operator's namespace).
const (
	ObjectStorageEndpointKey        = "endpoint"
	ObjectStorageBucketKey          = "bucket"
	ObjectStorageRegionKey          = "region"
	ObjectStorageAccessKeyIDKey     = "accessKeyID"
	ObjectStorageSecretAccessKeyKey = "secretAccessKey"
	ObjectStoragePrefixKey          = "prefix"
)

// objectStorageRequiredKeys are the keys an object storage Secret must have.
var objectStorageRequiredKeys = []string{ObjectStorageEndpointKey, ObjectStorageBucketKey,
	ObjectStorageAccessKeyIDKey, ObjectStorageSecretAccessKeyKey}

// exportURLLifetime is how long the upload URLs are valid: the Job's deadline, and
// an hour for it to be scheduled. Also the time a tenant admin who reads them could
// write over its own export's objects (and nothing else).
const exportURLLifetime = time.Duration(exportDeadline)*time.Second + time.Hour

// signingRegion is the region requests are signed for when the Secret names none
// (what MinIO and most S3-compatible services expect).
const signingRegion = "us-east-1"

// bucketName matches an S3 bucket name.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// objectStore is a bucket the platform exports to, read from its Secret. The keys
// stay in the operator: the Job gets only presigned URLs.
type objectStore struct {
	secretName             string
	endpoint, scheme, host string
	bucket, region, prefix string
	accessKeyID, secretKey string
}

// objectStoreFrom reads an object storage Secret, or says every key that is missing
// or wrong.
func objectStoreFrom(s *corev1.Secret) (*objectStore, error) {
	get := func(k string) string { return strings.TrimSpace(string(s.Data[k])) }
	var missing []string
	for _, k := range objectStorageRequiredKeys {
		if get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("it has no %s", strings.Join(missing, ", "))
	}
	st := &objectStore{secretName: s.Name, endpoint: strings.TrimSuffix(get(ObjectStorageEndpointKey), "/"),
		bucket: get(ObjectStorageBucketKey), region: get(ObjectStorageRegionKey),
		prefix:      strings.Trim(get(ObjectStoragePrefixKey), "/"),
		accessKeyID: get(ObjectStorageAccessKeyIDKey), secretKey: get(ObjectStorageSecretAccessKeyKey)}
	var errs []error
	var err error
	if st.scheme, st.host, err = parseEndpoint(st.endpoint); err != nil {
		errs = append(errs, err)
	}
	// Bounds of status.export.objectStorage: a store it cannot report is refused.
	if len(st.endpoint) > 512 || len(st.region) > 63 || len(st.prefix) > 900 {
		errs = append(errs, fmt.Errorf("endpoint, region or prefix too long (at most 512, 63 and 900 characters)"))
	}
	if !bucketName.MatchString(st.bucket) {
		errs = append(errs, fmt.Errorf("bucket %q is not a bucket name (3 to 63 lowercase letters, digits, '.' and '-')", st.bucket))
	}
	return st, errors.Join(errs...)
}

// exportResidency says why a Tenant's export may not go to a bucket, or nil: the
// bucket must be in the Tenant's region when both are known.
func exportResidency(t *silov1.Tenant, st *objectStore) error {
	region := t.Spec.Placement.Region
	if region == "" || st.region == "" || region == st.region {
		return nil
	}
	return fmt.Errorf("its bucket %s is in the region %s and the Tenant's data must stay in %s", st.bucket, st.region, region)
}

// exportObject is one file of an export and the variable its upload URL is in.
type exportObject struct{ name, env string }

// exportObjects are the files an export of t uploads, MANIFEST last: an export
// whose MANIFEST is in the bucket is complete.
func exportObjects(t *silov1.Tenant) []exportObject {
	var out []exportObject
	if exportManagedDatabase(t) {
		out = append(out, exportObject{"database.dump", "SILO_UPLOAD_DATABASE"})
	}
	if t.Spec.Storage != nil {
		out = append(out, exportObject{"files.tar", "SILO_UPLOAD_FILES"})
	}
	return append(out, exportObject{"MANIFEST", "SILO_UPLOAD_MANIFEST"})
}

// exportObjectKey is the key prefix of an export's objects: <prefix>/<tenant>/<id>/.
func exportObjectKey(st *objectStore, t *silov1.Tenant, id string) string {
	key := t.Name + "/" + id + "/"
	if st.prefix != "" {
		key = st.prefix + "/" + key
	}
	return key
}

// exportLocation is where an export goes, for status (nothing secret).
func exportLocation(st *objectStore, t *silov1.Tenant, id string) *silov1.ExportObjectStorage {
	return &silov1.ExportObjectStorage{SecretName: st.secretName, Endpoint: st.endpoint, Bucket: st.bucket,
		Region: st.region, Key: exportObjectKey(st, t, id)}
}

// exportUploadSecretName names the Secret of an export's upload URLs.
func exportUploadSecretName(id string) string { return exportClaimName(id) + "-upload" }

// buildExportUploadSecret returns the Secret the upload reads: one presigned PUT URL
// per object of the export, valid for exportURLLifetime from now, and nothing else
// of the bucket's Secret (no keys: a tenant admin who reads it can write this
// export's objects, and nothing else, for a few hours). Immutable, Silo's, and
// deleted once the Job has finished.
func buildExportUploadSecret(bc *buildContext, id string, st *objectStore, now time.Time) *corev1.Secret {
	t := bc.Tenant
	region := st.region
	if region == "" {
		region = signingRegion
	}
	key := exportObjectKey(st, t, id)
	data := map[string][]byte{}
	for _, o := range exportObjects(t) {
		data[o.name] = []byte(presign(presignRequest{method: "PUT", scheme: st.scheme, host: st.host,
			path: "/" + st.bucket + "/" + key + o.name, region: region, accessKeyID: st.accessKeyID,
			secretKey: st.secretKey, now: now, expires: exportURLLifetime}))
	}
	s := credentialsSecretFor(t, ExportComponent, exportUploadSecretName(id), data)
	s.Labels[silov1.ExportIDLabel] = id
	s.Annotations = map[string]string{exportExpiresAnnotation: metav1.NewTime(now.Add(exportURLLifetime)).UTC().Format(time.RFC3339)}
	return s
}

// exportExpiresAnnotation on the upload Secret says when its URLs expire.
const exportExpiresAnnotation = "silo.dev/expires"
