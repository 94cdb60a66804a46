package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBuildMigrationJob(t *testing.T) {
	tn := testTenant()
	tn.Spec.App.Migration = &silov1.MigrationSpec{Command: []string{"/app", "migrate"}, TimeoutSeconds: ptr.To(int32(120))}
	tn.Spec.App.Env = []corev1.EnvVar{{Name: "LOG", Value: "debug"}}
	tn.Spec.Isolation.NodePool = "dedicated"
	tn.Spec.Storage = &silov1.StorageSpec{Size: qty("1Gi")}
	bc := testContext(tn)
	job := typed(t, []runtime.ApplyConfiguration{buildMigrationJob(bc, "registry.example.com/shop/app:1.5.0")})
	if len(job) != 1 {
		t.Fatalf("objects = %v", keys(job))
	}
	var j *batchv1.Job
	for _, o := range job {
		j = o.(*batchv1.Job)
	}
	if j.Labels[silov1.ManagedByLabel] != silov1.ManagedByValue || j.Labels[silov1.ComponentLabel] != MigrationComponent {
		t.Errorf("labels = %v", j.Labels)
	}
	if ptr.Deref(j.Spec.BackoffLimit, -1) != 0 || ptr.Deref(j.Spec.ActiveDeadlineSeconds, 0) != 120 {
		t.Errorf("backoffLimit, activeDeadlineSeconds = %v, %v", j.Spec.BackoffLimit, j.Spec.ActiveDeadlineSeconds)
	}
	p := j.Spec.Template.Spec
	if p.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %s", p.RestartPolicy)
	}
	c := p.Containers[0]
	if c.Image != "registry.example.com/shop/app:1.5.0" {
		t.Errorf("image = %s, want the new image", c.Image)
	}
	if diff := cmp.Diff([]string{"/app", "migrate"}, c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != SettingsSecretName {
		t.Errorf("envFrom = %+v, want the connection settings", c.EnvFrom)
	}
	if diff := cmp.Diff(tn.Spec.App.Env, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if !ptr.Deref(p.SecurityContext.RunAsNonRoot, false) || !ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false) ||
		ptr.Deref(c.SecurityContext.AllowPrivilegeEscalation, true) || ptr.Deref(p.AutomountServiceAccountToken, true) {
		t.Errorf("not restricted: pod %+v, container %+v", p.SecurityContext, c.SecurityContext)
	}
	d := typed(t, buildApp(bc))
	appPod := podSpecs(d)["Deployment/app"]
	if diff := cmp.Diff(appPod.NodeSelector, p.NodeSelector); diff != "" {
		t.Errorf("placement differs from the app's (-app +job):\n%s", diff)
	}
	if diff := cmp.Diff(appPod.Tolerations, p.Tolerations); diff != "" {
		t.Errorf("tolerations differ from the app's (-app +job):\n%s", diff)
	}

	other := buildMigrationJob(bc, "registry.example.com/shop/app:1.6.0")
	if *other.Name == j.Name {
		t.Errorf("two images share the Job name %s", j.Name)
	}
	again := buildMigrationJob(bc, "registry.example.com/shop/app:1.5.0")
	if *again.Name != j.Name {
		t.Errorf("the same migration is named %s, then %s", j.Name, *again.Name)
	}
}
