package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// RestoreCredentialsAnnotation on a restored database claim says the restored data
// does not know this Tenant's password yet (the source Tenant's credentials are gone,
// or differ from this Tenant's): the database stays stopped until the restore
// credentials Job has set it, then Silo removes the mark.
const RestoreCredentialsAnnotation = "silo.dev/restore-credentials"

// Restore credentials Jobs: PostgreSQL may replay WAL before it takes the statements
// (the snapshot is crash-consistent), so they may take a while; every attempt is
// idempotent (the database does not run), so the pod may be retried.
const (
	restoreCredentialsDeadline int64 = 3600
	restoreCredentialsBackoff  int32 = 2
)

// restoreCredentialsScript starts PostgreSQL in single-user mode on the restored
// data directory (the database's own PGDATA; no server runs, nothing listens) and
// gives the login role named in this Tenant's credentials Secret its password, with
// the rotation's statement (postgresSetLoginSQL); the other login role of the
// rotation pair loses its password, so the source Tenant's passwords no longer work.
// The credentials reach the server on standard input only, written by shell
// builtins: they are in no command line and in no Job spec. The password is set
// through a session setting, and the statements are not logged (log_statement,
// log_min_error_statement); exit_on_error makes any error fail the Job.
const restoreCredentialsScript = `set -eu
umask 077
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "the restored volume holds no PostgreSQL data directory at $PGDATA" >&2
  exit 1
fi
echo "restored data of PostgreSQL $(cat "$PGDATA/PG_VERSION"); this server is $(postgres --version)"
# As the image's entrypoint does: the server refuses a data directory others may read.
chmod 0700 "$PGDATA" 2>/dev/null || :
quote() { printf '%s' "$1" | sed "s/'/''/g"; }
user=$(quote "$NEW_USER")
password=$(quote "$NEW_PASSWORD")
{
  printf "SET silo.new_user = '%s';\n\n" "$user"
  printf "SET silo.new_password = '%s';\n\n" "$password"
  cat <<'SQL'
` + postgresSetLoginSQL + `
DO $$
DECLARE
  u text := current_setting('silo.new_user');
  other text := CASE WHEN right(u, 2) = '_b' THEN left(u, -2) ELSE u || '_b' END;
BEGIN
  IF other <> u AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = other) THEN
    EXECUTE format('ALTER ROLE %I WITH PASSWORD NULL', other);
  END IF;
END $$;

SQL
} | postgres --single -j -D "$PGDATA" -c exit_on_error=on -c log_statement=none -c log_min_error_statement=panic \
  -c listen_addresses= "$POSTGRES_DB" >/dev/null
echo "the password of role $NEW_USER is set"
`

// restoreCredentialsJobName names the Job that sets the password in a restored
// claim: stable for the claim (a restart finds it again), new for a new claim.
func restoreCredentialsJobName(claim *corev1.PersistentVolumeClaim) string {
	return "restore-credentials-" + shortHash(string(claim.UID))
}

// buildRestoreCredentialsJob returns the Job that sets this Tenant's database
// password in a restored data directory before the database first starts on it:
// the database's image, volume claim, mount, PGDATA, user and resources, the
// credentials Secret's username and password as variables, the Tenant's pod security
// and placement. It has no time to live: the operator deletes it once it succeeded,
// and a failed one stays for its logs until a person deletes it to try again.
func buildRestoreCredentialsJob(bc *buildContext, name string) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	s := &databaseService
	spec := s.spec(t)
	secret := credentialsSecretName(DatabaseName)
	c := restrictedContainer("restore-credentials", withTag(s.image(&bc.Config.Images), spec.version)).
		WithCommand("/bin/sh", "-c", restoreCredentialsScript).
		WithEnv(corev1ac.EnvVar().WithName("HOME").WithValue(tmpPath),
			corev1ac.EnvVar().WithName("POSTGRES_DB").WithValue(postgresDB),
			secretEnv("NEW_USER", secret, "username"), secretEnv("NEW_PASSWORD", secret, "password")).
		WithVolumeMounts(mount(dataVolume, s.dataPath), mount(tmpVolume, tmpPath))
	for i := range s.env {
		if s.env[i].Name == "PGDATA" {
			c.WithEnv(envVar(&s.env[i]))
		}
	}
	if r := resources(spec.resources); r != nil {
		c.WithResources(r)
	}
	volumes := []*corev1ac.VolumeApplyConfiguration{emptyDir(tmpVolume),
		corev1ac.Volume().WithName(dataVolume).WithPersistentVolumeClaim(
			corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(dataClaimName(DatabaseName)))}
	job := dataJob(bc, name, RestoreComponent, s.uid, c, volumes, restoreCredentialsDeadline, restoreCredentialsBackoff)
	job.Spec.TTLSecondsAfterFinished = nil
	return job
}

// reconcileRestoredCredentials holds the database while its restored claim is marked
// (RestoreCredentialsAnnotation) and runs the Job that sets this Tenant's password
// in the restored data; once it succeeded, the mark goes, the database starts, and
// the Job is deleted. A failed Job makes the Tenant Degraded and stays (for its
// logs); the claim and the credentials are kept. claim is the marked claim, or nil.
func (r *TenantReconciler) reconcileRestoredCredentials(ctx context.Context, bc *buildContext, claim *corev1.PersistentVolumeClaim,
	obs *observation) error {
	t := bc.Tenant
	if claim == nil {
		if restoredVolumeSeen(obs, DatabaseName) {
			// A restart after the mark went may have left the succeeded Job.
			return r.cleanUpFinishedJobs(ctx, t, RestoreComponent)
		}
		return nil
	}
	wasHeld := bc.Held[DatabaseName]
	bc.Held[DatabaseName] = true
	if _, ok := bc.Credentials[DatabaseName]; !ok {
		// readWiring could not read them, and says why.
		return nil
	}
	ns, name := NamespaceFor(t), restoreCredentialsJobName(claim)
	from, _ := restoredVolume(DatabaseName, claim)
	if running, err := r.databaseExists(ctx, t); err != nil || running {
		if running {
			obs.block(silov1.CredentialsNotRestoredReason, fmt.Sprintf("the database was restored from a snapshot of Tenant %s "+
				"into claim %s, whose data does not know this Tenant's password yet, but the database StatefulSet exists: the "+
				"password is set only while no database runs on the claim. Delete the StatefulSet (its claim is kept): "+
				"kubectl delete statefulset -n %s %s", from.Tenant, claim.Name, ns, DatabaseName))
		}
		return err
	}
	state, err := r.jobState(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("reading the restore credentials Job of %s: %w", klog.KObj(t), err)
	}
	switch state {
	case jobStateAbsent:
		if t.Spec.Suspend {
			bc.holdBecause(DatabaseName, "suspended: the restored database's password is set once the Tenant resumes")
			return nil
		}
		if err := r.applyDataChild(ctx, buildRestoreCredentialsJob(bc, name)); err != nil {
			return err
		}
		obs.changed = true
		ctrl.LoggerFrom(ctx).Info("setting the password in the restored database", "job", name, "from", from.Tenant)
		r.event(t, corev1.EventTypeNormal, "RestoringCredentials", "Restore",
			"the credentials of Tenant %s are gone: Job %s sets this Tenant's password in the restored database", from.Tenant, name)
		fallthrough
	case jobStateRunning:
		bc.holdBecause(DatabaseName, fmt.Sprintf("waiting for Job %s to set the password in the restored data", name))
	case jobStateFailed:
		obs.block(silov1.CredentialsNotRestoredReason, fmt.Sprintf("the database was restored from a snapshot of Tenant %s, "+
			"whose credentials are gone, and Job %s could not set this Tenant's password in the restored data "+
			"(see `kubectl logs -n %s job/%s`). The database stays stopped; the claim %s and the credentials are kept. "+
			"Fix the cause (if the data is of another PostgreSQL major version, set spec.database.version to it), "+
			"then delete the Job to try again: kubectl delete job -n %s %s", from.Tenant, name, ns, name, claim.Name, ns, name))
	case jobStateSucceeded:
		before := claim.DeepCopy()
		delete(claim.Annotations, RestoreCredentialsAnnotation)
		if err := r.Patch(ctx, claim, client.MergeFrom(before), client.FieldOwner(FieldOwner)); err != nil {
			return fmt.Errorf("unmarking the restored claim %s: %w", klog.KObj(claim), err)
		}
		bc.Held[DatabaseName] = wasHeld
		obs.changed = true
		r.event(t, corev1.EventTypeNormal, "CredentialsRestored", "Restore",
			"Job %s set this Tenant's password in the database restored from Tenant %s: the database starts", name, from.Tenant)
		return r.cleanUpFinishedJobs(ctx, t, RestoreComponent)
	}
	return nil
}

// restoredVolumeSeen reports whether the restore phase found the volume restored.
func restoredVolumeSeen(obs *observation, volume string) bool {
	for _, rv := range obs.restored {
		if rv.Volume == volume {
			return true
		}
	}
	return false
}

// databaseExists reports whether the database's StatefulSet exists.
func (r *TenantReconciler) databaseExists(ctx context.Context, t *silov1.Tenant) (bool, error) {
	err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: DatabaseName}, &appsv1.StatefulSet{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("reading the database of %s: %w", klog.KObj(t), err)
}
