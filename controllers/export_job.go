package controllers

import (
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// ExportComponent labels the export claims and Jobs and their pods.
const ExportComponent = "export"

// Where the export Job mounts the export claim and the file storage (read-only).
const (
	exportPath      = "/export"
	exportVolume    = "export"
	exportFilesPath = "/data"
)

// Export Jobs: a dump may take long; a retry starts it over (files are written
// under a temporary name and renamed once complete).
const (
	exportBackoffLimit int32 = 2
	exportDeadline     int64 = 6 * 3600
)

// exportResources are the export container's requests and limits: pg_dump and tar
// stream, they need little memory.
var exportResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
}

// exportScript writes a custom-format pg_dump of the database (when the Tenant has a
// managed one) and a tar of the file storage (when it has some) into the export
// claim, each under a temporary name first, and last a manifest: an export with a
// manifest is complete.
const exportScript = `set -eu
umask 027
cd ` + exportPath + `
rm -f MANIFEST ./*.partial
if [ -n "${PGHOST:-}" ]; then
  pg_dump --format=custom --no-password --file=database.dump.partial
  mv database.dump.partial database.dump
fi
if [ -d ` + exportFilesPath + ` ]; then
  tar -C ` + exportFilesPath + ` -cf files.tar.partial .
  mv files.tar.partial files.tar
fi
{
  echo "tenant=$SILO_TENANT"
  echo "export=$SILO_EXPORT_ID"
  echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ls -l
} > MANIFEST.partial
mv MANIFEST.partial MANIFEST
`

// exportUploadScript uploads an export from the claim to object storage, with one
// presigned PUT per file (the URLs come from the upload Secret through the
// environment; curl reads each from its standard input, so no URL is in a process's
// arguments), MANIFEST last: an export whose MANIFEST is in the bucket is complete.
const exportUploadScript = `set -eu
cd ` + exportPath + `
if [ ! -f MANIFEST ]; then
  echo "the export wrote no MANIFEST: read the logs of its container export" >&2
  exit 1
fi
put() {
  echo "uploading $1 ($(wc -c < "$1") bytes) to $SILO_UPLOAD_LOCATION$1"
  printf 'url = "%s"\n' "$2" | curl -q --config - --fail-with-body --silent --show-error \
    --retry 3 --upload-file "$1"
}
if [ -n "${SILO_UPLOAD_DATABASE:-}" ]; then put database.dump "$SILO_UPLOAD_DATABASE"; fi
if [ -n "${SILO_UPLOAD_FILES:-}" ]; then put files.tar "$SILO_UPLOAD_FILES"; fi
put MANIFEST "$SILO_UPLOAD_MANIFEST"
echo "the export is in $SILO_UPLOAD_LOCATION"
`

// exportUploadContainer is the name of the container that uploads an export.
const exportUploadContainer = "upload"

// dnsLabel matches a DNS label (RFC 1123).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// exportClaimName names the claim that holds the export of an id.
func exportClaimName(id string) string { return "export-" + id }

// exportManagedDatabase reports whether the Tenant has a database Silo runs (an
// external one is the platform's to export).
func exportManagedDatabase(t *silov1.Tenant) bool {
	return t.Spec.Database != nil && t.Spec.Database.External == nil
}

// exportClaimSize is the export claim's size: the database's volume and the file
// storage together (a dump is smaller than the data directory it comes from).
func exportClaimSize(t *silov1.Tenant) resource.Quantity {
	size := resource.Quantity{}
	if exportManagedDatabase(t) {
		db := defaultDatabaseStorage.DeepCopy()
		if t.Spec.Database.Storage != nil {
			db = t.Spec.Database.Storage.DeepCopy()
		}
		size.Add(db)
	}
	if t.Spec.Storage != nil {
		size.Add(t.Spec.Storage.Size)
	}
	return resource.MustParse(size.String())
}

// buildExportClaim returns the claim that holds an export: in the Tenant's
// namespace, of the platform's export class (or the region's volume class). It is
// the customer's data: Silo never deletes it, and hands it over once the export
// has finished (releaseExportClaim).
func buildExportClaim(bc *buildContext, id string) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	t := bc.Tenant
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: exportClaimSize(t)}))
	if class := bc.Config.Platform.ExportStorageClass; class != "" {
		spec.WithStorageClassName(class)
	} else {
		placeClaim(t, bc.Config, spec)
	}
	labels := componentLabels(t, ExportComponent)
	labels[silov1.ExportIDLabel] = id
	return corev1ac.PersistentVolumeClaim(exportClaimName(id), NamespaceFor(t)).
		WithLabels(labels).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
}

// buildExportJob returns the Job that writes an export: the database's image (it
// has pg_dump and tar), the database's libpq settings from the connection settings
// (nothing else of them), the file storage read-only, the export claim, the Tenant's
// pod security and placement (so the data never leaves its region), and the app's
// user, so the file storage is readable. With a bucket (st), that container runs
// first and a second one uploads the claim's files with the URLs of the upload
// Secret, in the same pod: same region, same security.
func buildExportJob(bc *buildContext, id string, st *objectStore) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	image := bc.Config.Images.Postgres
	if exportManagedDatabase(t) {
		image = withTag(image, t.Spec.Database.Version)
	}
	c := restrictedContainer(ExportComponent, image).
		WithCommand("/bin/sh", "-c", exportScript).
		WithEnv(corev1ac.EnvVar().WithName("HOME").WithValue(tmpPath),
			corev1ac.EnvVar().WithName("SILO_TENANT").WithValue(t.Name),
			corev1ac.EnvVar().WithName("SILO_EXPORT_ID").WithValue(id)).
		WithVolumeMounts(mount(tmpVolume, tmpPath), mount(exportVolume, exportPath)).
		WithResources(resources(&exportResources))
	volumes := []*corev1ac.VolumeApplyConfiguration{emptyDir(tmpVolume),
		corev1ac.Volume().WithName(exportVolume).WithPersistentVolumeClaim(
			corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(exportClaimName(id)))}
	if exportManagedDatabase(t) {
		for _, k := range []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"} {
			c.WithEnv(secretEnv(k, SettingsSecretName, k))
		}
	}
	if t.Spec.Storage != nil {
		c.WithVolumeMounts(mount(storageVolume, exportFilesPath).WithReadOnly(true))
		volumes = append(volumes, corev1ac.Volume().WithName(storageVolume).WithPersistentVolumeClaim(
			corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(StorageName).WithReadOnly(true)))
	}
	job := dataJob(bc, exportClaimName(id), ExportComponent, appUID, c, volumes, exportDeadline, exportBackoffLimit)
	job.Labels[silov1.ExportIDLabel] = id
	if st != nil {
		up := restrictedContainer(exportUploadContainer, bc.Config.Images.ExportUploader).
			WithCommand("/bin/sh", "-c", exportUploadScript).
			WithEnv(corev1ac.EnvVar().WithName("HOME").WithValue(tmpPath),
				corev1ac.EnvVar().WithName("SILO_UPLOAD_LOCATION").WithValue("s3://"+st.bucket+"/"+exportObjectKey(st, t, id))).
			WithVolumeMounts(mount(tmpVolume, tmpPath), mount(exportVolume, exportPath).WithReadOnly(true)).
			WithResources(resources(&exportResources))
		for _, o := range exportObjects(t) {
			up.WithEnv(secretEnv(o.env, exportUploadSecretName(id), o.name))
		}
		spec := job.Spec.Template.Spec
		spec.InitContainers, spec.Containers = spec.Containers, nil
		spec.WithContainers(up)
	}
	if t.Spec.Storage != nil && t.Spec.Storage.AccessMode == string(corev1.ReadWriteOnce) {
		// A ReadWriteOnce volume is mounted by one node at a time: run beside the app.
		spec := job.Spec.Template.Spec
		if spec.Affinity == nil {
			spec.WithAffinity(corev1ac.Affinity())
		}
		spec.Affinity.WithPodAffinity(corev1ac.PodAffinity().WithPreferredDuringSchedulingIgnoredDuringExecution(
			corev1ac.WeightedPodAffinityTerm().WithWeight(100).WithPodAffinityTerm(corev1ac.PodAffinityTerm().
				WithTopologyKey(corev1.LabelHostname).
				WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(selectorLabels(t, AppName))))))
	}
	return job
}

// validExportID says what is wrong with an export id, or nil.
func validExportID(t *silov1.Tenant, id string) error {
	usage := fmt.Sprintf("use a DNS label of at most 56 characters (lowercase letters, digits, '-'), for example "+
		"`kubectl annotate --overwrite tenant %s %s=2027-01-15`", t.Name, silov1.ExportAnnotation)
	if len(id) > 56 || !dnsLabel.MatchString(id) {
		return fmt.Errorf("the %s annotation %q cannot name the claim export-<id>: %s", silov1.ExportAnnotation, id, usage)
	}
	if !exportManagedDatabase(t) && t.Spec.Storage == nil {
		return fmt.Errorf("the Tenant has neither a managed database nor file storage to export; remove the %s annotation",
			silov1.ExportAnnotation)
	}
	return nil
}
