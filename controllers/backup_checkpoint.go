package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// checkpointDeadline is how long the checkpoint before a database snapshot may take;
// after it the snapshot is taken anyway (it is crash-consistent either way).
const checkpointDeadline int64 = 120

// checkpointJobName names the checkpoint Job of a round.
func checkpointJobName(round *backupRound) string { return "backup-checkpoint-" + round.id }

// buildCheckpointJob returns the Job that asks the database for a CHECKPOINT before
// its volume is snapshotted, so the snapshot restores without replaying much WAL.
// It runs the database's own image and client with the Tenant's own database
// credentials, in the tenant namespace, with its pod security and placement: the
// operator needs no exec into tenant pods and no database password of its own. No
// retry; a deadline bounds it. The operator deletes it once the round is taken (the
// TTL controller may not: only the operator deletes what Silo manages).
func buildCheckpointJob(bc *buildContext, round *backupRound) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	secret := credentialsSecretName(DatabaseName)
	c := restrictedContainer("checkpoint", withTag(bc.Config.Images.Postgres, t.Spec.Database.Version)).
		WithCommand("psql", "-v", "ON_ERROR_STOP=1", "-c", "CHECKPOINT").
		WithEnv(
			corev1ac.EnvVar().WithName("PGHOST").WithValue(DatabaseName),
			corev1ac.EnvVar().WithName("PGDATABASE").WithValue(postgresDB),
			corev1ac.EnvVar().WithName("PGCONNECT_TIMEOUT").WithValue("10"),
			secretEnv("PGUSER", secret, "username"),
			secretEnv("PGPASSWORD", secret, "password")).
		WithResources(corev1ac.ResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceCPU: checkpointCPU, corev1.ResourceMemory: checkpointMemory}).
			WithLimits(corev1.ResourceList{corev1.ResourceCPU: checkpointCPU, corev1.ResourceMemory: checkpointMemory}))
	tmpl := podTemplate(t, bc.Config, podSpec{component: BackupComponent, uid: postgresUID,
		containers: []*corev1ac.ContainerApplyConfiguration{c}})
	tmpl.Spec.WithRestartPolicy(corev1.RestartPolicyNever)
	return batchv1ac.Job(checkpointJobName(round), NamespaceFor(t)).
		WithLabels(componentLabels(t, BackupComponent)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(batchv1ac.JobSpec().
			WithBackoffLimit(0).
			WithActiveDeadlineSeconds(checkpointDeadline).
			WithTemplate(tmpl))
}

// wantsCheckpoint reports whether a round checkpoints the database first: only a
// managed database that runs (a stopped one was shut down cleanly).
func wantsCheckpoint(t *silov1.Tenant, readyReplicas int32) bool {
	db := t.Spec.Database
	return db != nil && db.External == nil && !t.Spec.Suspend && readyReplicas > 0
}

// The checkpoint's container is small and fixed: psql sends one statement.
var (
	checkpointCPU    = resource.MustParse("100m")
	checkpointMemory = resource.MustParse("64Mi")
)
