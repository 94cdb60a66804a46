package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// AppName names the app's Deployment, Service, HorizontalPodAutoscaler,
// PodDisruptionBudget and Ingress.
const AppName = "app"

// Defaults of the app.
const (
	defaultAppReplicas  int32 = 1
	defaultMinReplicas  int32 = 1
	defaultCPUTarget    int32 = 80
	appPortName               = "http"
	tmpVolume                 = "tmp"
	tmpPath                   = "/tmp"
	storageVolume             = "storage"
	deploymentKind            = "Deployment"
	appsAPIVersion            = "apps/v1"
	podDisruptionBudget       = 1
)

func componentApp() component {
	return component{
		name:    AppName,
		enabled: func(*silov1.Tenant) bool { return true },
		build:   buildApp,
		observe: observeDeployment(AppName),
		endpoint: func(t *silov1.Tenant) string {
			return "http://" + serviceHost(t, AppName, appPort(t))
		},
	}
}

// buildApp returns the app's Deployment and Service, and its HorizontalPodAutoscaler,
// PodDisruptionBudget and Ingress when the Tenant asks for them.
func buildApp(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	app := t.Spec.App
	c := withProbes(customerContainer(bc, AppName, app.Image, app.Command, app.Env, &app.Resources).
		WithPorts(tcpPort(appPortName, appPort(t))),
		&app.Probes, appPort(t), corev1ac.Probe().
			WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString(appPortName))))
	if port, name := metricsPort(t); name == metricsPortName {
		c.WithPorts(tcpPort(name, port))
	}

	spec := appsv1ac.DeploymentSpec().
		WithSelector(selector(t, AppName)).
		WithTemplate(withZoneSpread(t, withPodExtras(customerPodTemplate(bc, AppName,
			withContainerExtras(c, &app.PodExtras, &bc.Config.Platform)), &app.PodExtras, &bc.Config.Platform)))
	autoscaled := app.Autoscaling != nil && !t.Spec.Suspend
	if !autoscaled {
		// With autoscaling the HorizontalPodAutoscaler owns the replica count: Silo
		// does not send it, so it never fights the autoscaler.
		spec.WithReplicas(workloadReplicas(t, app.Replicas, defaultAppReplicas))
	}
	objs := []runtime.ApplyConfiguration{
		deployment(t, AppName, spec),
		service(t, AppName, namedPort{appPortName, appPort(t)}, false),
	}
	if autoscaled {
		objs = append(objs, buildAppAutoscaler(t))
	}
	if appSpread(t) > 1 {
		objs = append(objs, policyv1ac.PodDisruptionBudget(AppName, NamespaceFor(t)).
			WithLabels(componentLabels(t, AppName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(policyv1ac.PodDisruptionBudgetSpec().
				WithSelector(selector(t, AppName)).
				WithMaxUnavailable(intstr.FromInt32(podDisruptionBudget))))
	}
	if app.Metrics != nil && bc.Config.Platform.PodMonitors {
		objs = append(objs, buildAppPodMonitor(t))
	}
	if app.Ingress != nil && bc.Config.Platform.Routing == RoutingHTTPRoute {
		objs = append(objs, buildAppHTTPRoute(t, &bc.Config.Platform))
	} else if app.Ingress != nil {
		objs = append(objs, buildAppIngress(t, &bc.Config.Platform))
	}
	return objs
}

// appSpread is the least number of app servers the spec asks for; a voluntary
// disruption (a node drain) must leave all but one of them serving.
func appSpread(t *silov1.Tenant) int32 {
	if as := t.Spec.App.Autoscaling; as != nil {
		if as.MinReplicas != nil {
			return *as.MinReplicas
		}
		return defaultMinReplicas
	}
	if t.Spec.App.Replicas != nil {
		return *t.Spec.App.Replicas
	}
	return defaultAppReplicas
}

// buildAppAutoscaler returns the app's HorizontalPodAutoscaler on CPU use.
func buildAppAutoscaler(t *silov1.Tenant) *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration {
	as := t.Spec.App.Autoscaling
	minReplicas, target := defaultMinReplicas, defaultCPUTarget
	if as.MinReplicas != nil {
		minReplicas = *as.MinReplicas
	}
	if as.TargetCPUUtilizationPercentage != nil {
		target = *as.TargetCPUUtilizationPercentage
	}
	return autoscalingv2ac.HorizontalPodAutoscaler(AppName, NamespaceFor(t)).
		WithLabels(componentLabels(t, AppName)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(autoscalingv2ac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
				WithAPIVersion(appsAPIVersion).WithKind(deploymentKind).WithName(AppName)).
			WithMinReplicas(minReplicas).
			WithMaxReplicas(as.MaxReplicas).
			WithMetrics(autoscalingv2ac.MetricSpec().
				WithType("Resource").
				WithResource(autoscalingv2ac.ResourceMetricSource().
					WithName(corev1.ResourceCPU).
					WithTarget(autoscalingv2ac.MetricTarget().
						WithType("Utilization").
						WithAverageUtilization(target)))))
}

// buildAppIngress returns the Ingress that exposes the app at its host name, with
// TLS from a cert-manager ClusterIssuer when the Tenant names one the platform allows.
func buildAppIngress(t *silov1.Tenant, p *Platform) *networkingv1ac.IngressApplyConfiguration {
	in := t.Spec.App.Ingress
	spec := networkingv1ac.IngressSpec().
		WithRules(networkingv1ac.IngressRule().
			WithHost(in.Host).
			WithHTTP(networkingv1ac.HTTPIngressRuleValue().
				WithPaths(networkingv1ac.HTTPIngressPath().
					WithPath("/").
					WithPathType(networkingv1.PathTypePrefix).
					WithBackend(networkingv1ac.IngressBackend().
						WithService(networkingv1ac.IngressServiceBackend().
							WithName(AppName).
							WithPort(networkingv1ac.ServiceBackendPort().WithName(appPortName)))))))
	if in.ClassName != "" {
		spec.WithIngressClassName(in.ClassName)
	}
	issued := in.Issuer != "" && p.issuerAllowed(in.Issuer)
	if secret := tlsSecretName(in); in.TLSSecretName != "" || issued {
		spec.WithTLS(networkingv1ac.IngressTLS().WithHosts(in.Host).WithSecretName(secret))
	}
	ing := networkingv1ac.Ingress(AppName, NamespaceFor(t)).
		WithLabels(componentLabels(t, AppName)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
	if issued {
		ing.WithAnnotations(map[string]string{ClusterIssuerAnnotation: in.Issuer})
	}
	return ing
}

// ClusterIssuerAnnotation asks cert-manager for a certificate from a ClusterIssuer.
const ClusterIssuerAnnotation = "cert-manager.io/cluster-issuer"

// defaultTLSSecretName is where cert-manager stores the app's certificate when the
// Tenant names an issuer and no Secret.
const defaultTLSSecretName = "app-tls"

// tlsSecretName is the Secret of the app's certificate.
func tlsSecretName(in *silov1.IngressSpec) string {
	if in.TLSSecretName != "" {
		return in.TLSSecretName
	}
	return defaultTLSSecretName
}

// customerContainer returns a container running the customer's image (the app or
// the workers): the connection settings in its environment, then the Tenant's own
// variables, a writable /tmp, and the file storage at /data when there is one.
func customerContainer(bc *buildContext, name, image string, command []string, env []corev1.EnvVar,
	res *corev1.ResourceRequirements) *corev1ac.ContainerApplyConfiguration {
	c := restrictedContainer(name, image).
		WithEnvFrom(settingsEnvFrom()).
		WithVolumeMounts(mount(tmpVolume, tmpPath))
	if len(command) > 0 {
		c.WithCommand(command...)
	}
	for i := range env {
		c.WithEnv(envVar(&env[i]))
	}
	if r := resources(res); r != nil {
		c.WithResources(r)
	}
	if bc.Tenant.Spec.Storage != nil {
		c.WithVolumeMounts(mount(storageVolume, StoragePath))
	}
	return c
}

// customerPodTemplate returns the pod template of the app or the workers, annotated
// with the hash of the connection settings so a change of settings rolls the pods.
func customerPodTemplate(bc *buildContext, component string, c *corev1ac.ContainerApplyConfiguration) *corev1ac.PodTemplateSpecApplyConfiguration {
	volumes := []*corev1ac.VolumeApplyConfiguration{emptyDir(tmpVolume)}
	if bc.Tenant.Spec.Storage != nil {
		volumes = append(volumes, corev1ac.Volume().WithName(storageVolume).
			WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(StorageName)))
	}
	annotations := map[string]string{SettingsHashAnnotation: settingsHash(bc.Settings)}
	var labels map[string]string
	if pm := bc.Tenant.Spec.PodMetadata; pm != nil {
		labels = allowedEntries(pm.Labels, bc.Config.Platform.PodLabelKeys)
		for k, v := range allowedEntries(pm.Annotations, bc.Config.Platform.PodAnnotationKeys) {
			annotations[k] = v
		}
	}
	return podTemplate(bc.Tenant, bc.Config, podSpec{
		component:      component,
		uid:            appUID,
		serviceAccount: WorkloadSAName,
		labels:         labels,
		annotations:    annotations,
		containers:     []*corev1ac.ContainerApplyConfiguration{c},
		volumes:        volumes,
	})
}

// envVar converts an environment variable of the Tenant's spec.
func envVar(e *corev1.EnvVar) *corev1ac.EnvVarApplyConfiguration {
	out := corev1ac.EnvVar().WithName(e.Name)
	if e.Value != "" {
		out.WithValue(e.Value)
	}
	if vf := e.ValueFrom; vf != nil {
		src := corev1ac.EnvVarSource()
		switch {
		case vf.SecretKeyRef != nil:
			ref := corev1ac.SecretKeySelector().WithName(vf.SecretKeyRef.Name).WithKey(vf.SecretKeyRef.Key)
			if vf.SecretKeyRef.Optional != nil {
				ref.WithOptional(*vf.SecretKeyRef.Optional)
			}
			src.WithSecretKeyRef(ref)
		case vf.ConfigMapKeyRef != nil:
			ref := corev1ac.ConfigMapKeySelector().WithName(vf.ConfigMapKeyRef.Name).WithKey(vf.ConfigMapKeyRef.Key)
			if vf.ConfigMapKeyRef.Optional != nil {
				ref.WithOptional(*vf.ConfigMapKeyRef.Optional)
			}
			src.WithConfigMapKeyRef(ref)
		case vf.FieldRef != nil:
			ref := corev1ac.ObjectFieldSelector().WithFieldPath(vf.FieldRef.FieldPath)
			if vf.FieldRef.APIVersion != "" {
				ref.WithAPIVersion(vf.FieldRef.APIVersion)
			}
			src.WithFieldRef(ref)
		case vf.ResourceFieldRef != nil:
			ref := corev1ac.ResourceFieldSelector().WithResource(vf.ResourceFieldRef.Resource)
			if vf.ResourceFieldRef.ContainerName != "" {
				ref.WithContainerName(vf.ResourceFieldRef.ContainerName)
			}
			if !vf.ResourceFieldRef.Divisor.IsZero() {
				ref.WithDivisor(vf.ResourceFieldRef.Divisor)
			}
			src.WithResourceFieldRef(ref)
		case vf.FileKeyRef != nil:
			ref := corev1ac.FileKeySelector().WithVolumeName(vf.FileKeyRef.VolumeName).
				WithPath(vf.FileKeyRef.Path).WithKey(vf.FileKeyRef.Key)
			if vf.FileKeyRef.Optional != nil {
				ref.WithOptional(*vf.FileKeyRef.Optional)
			}
			src.WithFileKeyRef(ref)
		}
		out.WithValueFrom(src)
	}
	return out
}
