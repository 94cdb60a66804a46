package controllers

import (
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// WorkersName names the workers' Deployment.
const WorkersName = "workers"

const defaultWorkerReplicas int32 = 1

func componentWorkers() component {
	return component{
		name:    WorkersName,
		enabled: func(t *silov1.Tenant) bool { return t.Spec.Workers != nil },
		build:   buildWorkers,
		observe: observeDeployment(WorkersName),
	}
}

// buildWorkers returns the workers' Deployment: the app's image unless they have their
// own, their own command, and the same connection settings and file storage as the app.
func buildWorkers(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	w := t.Spec.Workers
	image := w.Image
	if image == "" {
		image = t.Spec.App.Image
	}
	// Workers serve no port: unless told otherwise, ready means the process runs,
	// which any image with a `true` command can show without a shell. A probe without
	// a port checks the app's port (the same image may serve health there).
	c := withProbes(customerContainer(bc, WorkersName, image, w.Command, w.Env, &w.Resources),
		&w.Probes, appPort(t), corev1ac.Probe().WithExec(corev1ac.ExecAction().WithCommand("true")))
	return []runtime.ApplyConfiguration{
		deployment(t, WorkersName, appsv1ac.DeploymentSpec().
			WithReplicas(workloadReplicas(t, w.Replicas, defaultWorkerReplicas)).
			WithSelector(selector(t, WorkersName)).
			WithTemplate(withPodExtras(customerPodTemplate(bc, WorkersName,
				withContainerExtras(c, &w.PodExtras, &bc.Config.Platform)), &w.PodExtras, &bc.Config.Platform))),
	}
}
