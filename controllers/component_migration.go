package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete

// MigrationComponent labels the migration Jobs and their pods.
const MigrationComponent = "migration"

// MigrationImageAnnotation on a migration Job is the app image it migrates to.
const MigrationImageAnnotation = "silo.dev/migration-image"

// defaultMigrationTimeout is how long a migration may run (app.migration.timeoutSeconds).
const defaultMigrationTimeout int32 = 600

// buildMigrationJob returns the Job that runs the app's migration command with image:
// the app's connection settings, environment and file storage, the same pod security
// and placement as the app, no retry (a failed migration is for a person to look at),
// and a deadline. Its name is a hash of its content, so a Job, whose pod template
// cannot change, is never updated: another image or command is another Job.
func buildMigrationJob(bc *buildContext, image string) *batchv1ac.JobApplyConfiguration {
	t := bc.Tenant
	app := &t.Spec.App
	m := app.Migration
	c := customerContainer(bc, MigrationComponent, image, m.Command, app.Env, &app.Resources)
	tmpl := customerPodTemplate(bc, MigrationComponent, c)
	tmpl.Spec.WithRestartPolicy(corev1.RestartPolicyNever)
	spec := batchv1ac.JobSpec().
		WithBackoffLimit(0).
		WithActiveDeadlineSeconds(int64(ptr.Deref(m.TimeoutSeconds, defaultMigrationTimeout))).
		WithTemplate(tmpl)
	raw, _ := json.Marshal(spec) // an apply configuration always encodes
	sum := sha256.Sum256(raw)
	return batchv1ac.Job("migrate-"+hex.EncodeToString(sum[:5]), NamespaceFor(t)).
		WithLabels(componentLabels(t, MigrationComponent)).
		WithAnnotations(map[string]string{MigrationImageAnnotation: image}).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
}

// migration is what the migration step decided for this pass.
type migration struct {
	// hold is the image the app keeps while a migration runs or after it failed; ""
	// lets the app move.
	hold string
	// running says, while the Job runs, which Job and image.
	running string
}

// reconcileMigration runs the app's migration before the app moves to a new image:
// when the app's Deployment runs another image than the spec asks for, it creates the
// migration Job for the new image and keeps the app (and workers that run the app's
// image) on the old image until the Job has succeeded. A failed Job keeps the old
// image and makes the Tenant Degraded (MigrationFailed). A new Tenant's first image
// starts without a migration. Succeeded Jobs are deleted once the app runs the new
// image; the newest failed one is kept for `kubectl logs`.
func (r *TenantReconciler) reconcileMigration(ctx context.Context, bc *buildContext, obs *observation) (*migration, error) {
	t := bc.Tenant
	jobs := &batchv1.JobList{}
	if err := r.List(ctx, jobs, client.InNamespace(NamespaceFor(t)),
		client.MatchingLabels(componentLabels(t, MigrationComponent))); err != nil {
		return nil, fmt.Errorf("listing migration Jobs of %s: %w", klog.KObj(t), err)
	}
	running, err := r.appImage(ctx, t)
	if err != nil {
		return nil, err
	}
	want := t.Spec.App.Image
	if t.Spec.App.Migration == nil || running == "" || running == want {
		return &migration{}, r.cleanUpMigrations(ctx, jobs.Items, "")
	}
	desired := buildMigrationJob(bc, want)
	name := *desired.Name
	var job *batchv1.Job
	for i := range jobs.Items {
		j := &jobs.Items[i]
		switch {
		case j.Name == name:
			job = j
		case !jobFinished(j):
			// A migration to an image the spec no longer asks for is still running:
			// two migrations never run at once.
			return &migration{hold: running, running: fmt.Sprintf("migration Job %s (to %s) is still running",
				j.Name, j.Annotations[MigrationImageAnnotation])}, nil
		}
	}
	if job == nil {
		if err := r.applyDataChild(ctx, desired); err != nil {
			return nil, fmt.Errorf("migration of %s: %w", klog.KObj(t), err)
		}
		obs.changed = true
		ctrl.LoggerFrom(ctx).Info("migrating before the app moves", "job", name, "from", running, "to", want)
		r.event(t, corev1.EventTypeNormal, "MigrationStarted", "Migrate", "migration Job %s runs before the app moves from %s to %s", name, running, want)
		return &migration{hold: running, running: fmt.Sprintf("migration Job %s to %s is running", name, want)}, nil
	}
	switch {
	case jobSucceeded(job):
		return &migration{}, nil
	case jobFinished(job):
		obs.block(silov1.MigrationFailedReason, fmt.Sprintf(
			"the migration to %s failed (%s): the app stays on %s. See `kubectl logs -n %s job/%s`; fix the image or the "+
				"command, or delete the Job to run it again", want, jobFailure(job), running, NamespaceFor(t), name))
		return &migration{hold: running}, r.cleanUpMigrations(ctx, jobs.Items, name)
	default:
		return &migration{hold: running, running: fmt.Sprintf("migration Job %s to %s is running", name, want)}, nil
	}
}

// appImage is the image the app's Deployment runs, "" when there is none yet.
func (r *TenantReconciler) appImage(ctx context.Context, t *silov1.Tenant) (string, error) {
	d := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: AppName}, d); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", nil
		}
		return "", fmt.Errorf("reading the app of %s: %w", klog.KObj(t), err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == AppName {
			return c.Image, nil
		}
	}
	return "", nil
}

// cleanUpMigrations deletes finished migration Jobs: every succeeded one, and every
// failed one but the newest (kept for its logs). keep is never deleted.
func (r *TenantReconciler) cleanUpMigrations(ctx context.Context, jobs []batchv1.Job, keep string) error {
	var failed []*batchv1.Job
	var stale []*batchv1.Job
	for i := range jobs {
		j := &jobs[i]
		switch {
		case j.Name == keep || !j.DeletionTimestamp.IsZero() || !jobFinished(j):
		case jobSucceeded(j):
			stale = append(stale, j)
		default:
			failed = append(failed, j)
		}
	}
	sort.Slice(failed, func(a, b int) bool {
		return failed[b].CreationTimestamp.Before(&failed[a].CreationTimestamp)
	})
	if len(failed) > 0 && keep == "" {
		failed = failed[1:]
	}
	for _, j := range append(stale, failed...) {
		if err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &j.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting finished migration Job %s: %w", klog.KObj(j), err)
		}
	}
	return nil
}

// holdImage returns a copy of the Tenant whose app keeps image (and so do workers
// that run the app's image, which follow it).
func holdImage(t *silov1.Tenant, image string) *silov1.Tenant {
	out := t.DeepCopy()
	out.Spec.App.Image = image
	return out
}

func jobSucceeded(j *batchv1.Job) bool { return jobCondition(j, batchv1.JobComplete) != nil }

func jobFinished(j *batchv1.Job) bool {
	return jobSucceeded(j) || jobCondition(j, batchv1.JobFailed) != nil
}

// jobFailure says why a Job failed, from its Failed condition.
func jobFailure(j *batchv1.Job) string {
	c := jobCondition(j, batchv1.JobFailed)
	if c == nil {
		return "unknown reason"
	}
	if c.Reason == "DeadlineExceeded" {
		return "it ran longer than app.migration.timeoutSeconds"
	}
	if c.Message != "" {
		return c.Reason + ": " + c.Message
	}
	return c.Reason
}

func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}
