package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestPodExtras(t *testing.T) {
	extras := silov1.PodExtras{
		EnvFrom: []silov1.EnvFromSource{
			{SecretRef: &silov1.ObjectRef{Name: "stripe"}},
			{Prefix: "FEATURE_", ConfigMapRef: &silov1.ObjectRef{Name: "flags", Optional: ptr.To(true)}},
		},
		Volumes: []silov1.ExtraVolume{
			{Name: "certs", MountPath: "/etc/certs", ReadOnly: true, Secret: &corev1.SecretVolumeSource{SecretName: "db-ca"}},
			{Name: "cache", MountPath: "/var/cache/app", EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(qty("0.5Gi"))}},
		},
		TerminationGracePeriodSeconds: ptr.To(int64(120)),
	}
	wantEnvFrom := []corev1.EnvFromSource{
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: SettingsSecretName}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "stripe"}}},
		{Prefix: "FEATURE_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "flags"}, Optional: ptr.To(true)}},
	}
	wantMounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "certs", MountPath: "/etc/certs", ReadOnly: true},
		{Name: "cache", MountPath: "/var/cache/app"}}
	wantVolumes := []corev1.Volume{
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "certs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-ca"}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(qty("512Mi"))}}},
	}
	tests := map[string]struct {
		mutate      func(*silov1.Tenant, *Platform)
		wantMounts  []corev1.VolumeMount
		wantVolumes []corev1.Volume
		wantSpread  []corev1.TopologySpreadConstraint
		wantRefused []string
	}{
		"envFrom after the settings, volumes mounted, grace period, on app and workers": {
			wantMounts: wantMounts, wantVolumes: wantVolumes,
		},
		"a volume kind the platform does not allow is left out, and named": {
			mutate:      func(_ *silov1.Tenant, p *Platform) { p.VolumeTypes = []string{"emptyDir", "persistentVolumeClaim"} },
			wantMounts:  []corev1.VolumeMount{wantMounts[0], wantMounts[2]},
			wantVolumes: []corev1.Volume{wantVolumes[0], wantVolumes[2]},
			wantRefused: []string{
				"app.volumes certs is a secret volume, not a kind the platform allows (emptyDir, persistentVolumeClaim)",
				"workers.volumes certs is a secret volume, not a kind the platform allows (emptyDir, persistentVolumeClaim)",
			},
		},
		"the app's replicas spread across zones": {
			mutate:      func(tn *silov1.Tenant, _ *Platform) { tn.Spec.App.SpreadAcrossZones = "DoNotSchedule" },
			wantMounts:  wantMounts,
			wantVolumes: wantVolumes,
			wantSpread: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"pod-template-hash"},
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{silov1.TenantLabel: "acme", silov1.ComponentLabel: "app"}}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.App.PodExtras = extras
			tn.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}, PodExtras: extras}
			bc := testContext(tn)
			if tc.mutate != nil {
				tc.mutate(tn, &bc.Config.Platform)
			}
			objs := typed(t, buildWorkloads(bc))
			for _, k := range []string{"Deployment/app", "Deployment/workers"} {
				spec := objs[k].(*appsv1.Deployment).Spec.Template.Spec
				c := spec.Containers[0]
				if diff := cmp.Diff(wantEnvFrom, c.EnvFrom); diff != "" {
					t.Errorf("%s envFrom (-want +got):\n%s", k, diff)
				}
				if diff := cmp.Diff(tc.wantMounts, c.VolumeMounts); diff != "" {
					t.Errorf("%s mounts (-want +got):\n%s", k, diff)
				}
				if diff := cmp.Diff(tc.wantVolumes, spec.Volumes); diff != "" {
					t.Errorf("%s volumes (-want +got):\n%s", k, diff)
				}
				if diff := cmp.Diff(ptr.To(int64(120)), spec.TerminationGracePeriodSeconds); diff != "" {
					t.Errorf("%s grace period (-want +got):\n%s", k, diff)
				}
				wantSpread := tc.wantSpread
				if k != "Deployment/app" {
					wantSpread = nil
				}
				if diff := cmp.Diff(wantSpread, spec.TopologySpreadConstraints); diff != "" {
					t.Errorf("%s spread (-want +got):\n%s", k, diff)
				}
			}
			if diff := cmp.Diff(tc.wantRefused, platformRefusals(tn, &bc.Config.Platform)); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvVarKeepsFileKeyRef(t *testing.T) {
	in := corev1.EnvVar{Name: "API_TOKEN", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{
		VolumeName: "config", Path: "app.env", Key: "API_TOKEN", Optional: ptr.To(false)}}}
	got := roundTrip[corev1.EnvVar](t, envVar(&in))
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("env var (-want +got):\n%s", diff)
	}
}
