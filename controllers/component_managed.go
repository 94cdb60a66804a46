package controllers

import (
	"maps"
	"net/url"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// dataVolume names the volume claim template of the queue and the database; their
// claims are data-<name>-0.
const dataVolume = "data"

// configVolume names the volume of a managed service's configuration Secret.
const configVolume = "config"

// managedService describes, as data, a service Silo runs for the tenant unless the
// platform provides it (the queue, the cache, the database): one container of the
// service's image that authenticates with generated credentials, a Service in front
// of it, and either a one-replica StatefulSet with its own volume or a Deployment with
// scratch space. Each component file holds one value; managedService.component turns
// it into a component, built by the shared builders below.
type managedService struct {
	// name is the component's name, and the name of its workload and Service.
	name string
	// spec returns what the Tenant asks of the service, or nil when it asks for none.
	spec func(t *silov1.Tenant) *serviceSpec
	// image returns the service's pinned image from the operator's configuration.
	image func(images *Images) string
	// container names the container; uid is the user its pods run as.
	container string
	uid       int64
	// port is the port the Service exposes; extraPorts are only on the container.
	port       namedPort
	extraPorts []namedPort
	// headless makes the Service headless (it governs the StatefulSet).
	headless bool
	// user is the generated credentials' user name; userEnv and passwordEnv name the
	// container variables they reach the server in (no variable when empty).
	user, userEnv, passwordEnv string
	// env are more plain variables of the container.
	env []corev1.EnvVar
	// command and args run the server (args from the Tenant's spec); the image's own
	// entrypoint when command is empty.
	command []string
	args    func(spec *serviceSpec) []string
	// dataPath is where the data volume is mounted: a volume claim of
	// defaultStorage (or the Tenant's size) when set, scratch space otherwise.
	dataPath       string
	defaultStorage *resource.Quantity
	// scratch are more writable paths, each an emptyDir volume.
	scratch []namedPath
	// configPath, when set, is where the service's configuration Secret
	// (<name>-config, which the component builds) is mounted, read-only and whole:
	// the kubelet refreshes a Secret volume in place, never one mounted by subPath,
	// so the service can reload a changed file without a restart.
	configPath string
	// probe returns the container's readiness probe.
	probe func() *corev1ac.ProbeApplyConfiguration
	// The connection settings: urlKey holds scheme://user:password@host/urlPath?urlQuery,
	// and moreSettings adds keys from the user and password. The endpoint in status is
	// scheme://host/endpointPath, never with credentials.
	urlKey, scheme, urlPath, urlQuery, endpointPath string
	moreSettings                                    func(t *silov1.Tenant, user, password string) map[string]string
}

// serviceSpec is the part of a managed service's spec that the shared builders read.
type serviceSpec struct {
	version   string
	storage   *resource.Quantity
	resources *corev1.ResourceRequirements
	external  *silov1.ExternalService
}

// namedPort is a named TCP port.
type namedPort struct {
	name string
	port int32
}

// namedPath is a volume name and where it is mounted.
type namedPath struct {
	name, path string
}

// component returns the managed service as a component of the tenant environment.
func (s *managedService) component() component {
	c := component{
		name:           s.name,
		enabled:        func(t *silov1.Tenant) bool { return s.spec(t) != nil },
		external:       func(t *silov1.Tenant) *silov1.ExternalService { return s.spec(t).external },
		credentialUser: s.user,
		build:          s.build,
		settings:       s.settings,
		endpoint:       func(t *silov1.Tenant) string { return s.scheme + "://" + s.host(t) + s.endpointPath },
		observe:        observeDeployment(s.name),
	}
	if s.defaultStorage != nil {
		c.observe = observeStatefulSet(s.name)
	}
	return c
}

// host is the service's in-cluster host:port.
func (s *managedService) host(t *silov1.Tenant) string {
	return serviceHost(t, s.name, s.port.port)
}

// settings returns the connection settings the service gives the app and the workers.
func (s *managedService) settings(bc *buildContext) map[string]string {
	user, password := credential(bc, s.name, "username"), credential(bc, s.name, "password")
	u := url.URL{Scheme: s.scheme, Host: s.host(bc.Tenant), Path: s.urlPath, RawQuery: s.urlQuery,
		User: url.UserPassword(user, password)}
	out := map[string]string{s.urlKey: u.String()}
	if s.moreSettings != nil {
		maps.Copy(out, s.moreSettings(bc.Tenant, user, password))
	}
	return out
}

// build returns the service's workload and its Service.
func (s *managedService) build(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	spec := s.spec(t)
	secret := credentialsSecretName(s.name)
	c := restrictedContainer(s.container, withTag(s.image(&bc.Config.Images), spec.version))
	if len(s.command) > 0 {
		c.WithCommand(s.command...)
	}
	if s.args != nil {
		// The kubelet expands $(VAR) from the container's environment.
		c.WithArgs(s.args(spec)...)
	}
	if s.userEnv != "" {
		c.WithEnv(secretEnv(s.userEnv, secret, "username"))
	}
	if s.passwordEnv != "" {
		c.WithEnv(secretEnv(s.passwordEnv, secret, "password"))
	}
	for i := range s.env {
		c.WithEnv(envVar(&s.env[i]))
	}
	c.WithPorts(tcpPort(s.port.name, s.port.port))
	for _, p := range s.extraPorts {
		c.WithPorts(tcpPort(p.name, p.port))
	}
	c.WithVolumeMounts(mount(dataVolume, s.dataPath))
	var volumes []*corev1ac.VolumeApplyConfiguration
	if s.defaultStorage == nil {
		volumes = append(volumes, emptyDir(dataVolume))
	}
	for _, v := range s.scratch {
		c.WithVolumeMounts(mount(v.name, v.path))
		volumes = append(volumes, emptyDir(v.name))
	}
	if s.configPath != "" {
		c.WithVolumeMounts(mount(configVolume, s.configPath).WithReadOnly(true))
		volumes = append(volumes, corev1ac.Volume().WithName(configVolume).
			WithSecret(corev1ac.SecretVolumeSource().WithSecretName(configSecretName(s.name))))
	}
	c.WithReadinessProbe(s.probe())
	if r := resources(spec.resources); r != nil {
		c.WithResources(r)
	}
	tmpl := podTemplate(t, bc.Config, podSpec{component: s.name, uid: s.uid,
		containers: []*corev1ac.ContainerApplyConfiguration{c}, volumes: volumes})
	var workload runtime.ApplyConfiguration
	if s.defaultStorage != nil {
		workload = singleStatefulSet(t, bc.Config, s.name, s.dataSize(t), tmpl)
	} else {
		workload = deployment(t, s.name, appsv1ac.DeploymentSpec().
			WithReplicas(workloadReplicas(t, nil, 1)).
			WithSelector(selector(t, s.name)).
			WithTemplate(tmpl))
	}
	return []runtime.ApplyConfiguration{workload, service(t, s.name, s.port, s.headless)}
}

// singleStatefulSet returns a one-replica StatefulSet (zero while suspended) with a
// volume claim template of size in the Tenant's region. Its claims are kept when the
// StatefulSet is deleted or scaled down: they hold the tenant's data.
func singleStatefulSet(t *silov1.Tenant, cfg *Config, name string, size resource.Quantity,
	tmpl *corev1ac.PodTemplateSpecApplyConfiguration) *appsv1ac.StatefulSetApplyConfiguration {
	claim := dataClaimSpec(t, cfg, size)
	return appsv1ac.StatefulSet(name, NamespaceFor(t)).
		WithLabels(componentLabels(t, name)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(appsv1ac.StatefulSetSpec().
			WithReplicas(workloadReplicas(t, nil, 1)).
			WithServiceName(name).
			WithSelector(selector(t, name)).
			WithTemplate(tmpl).
			WithPersistentVolumeClaimRetentionPolicy(appsv1ac.StatefulSetPersistentVolumeClaimRetentionPolicy().
				WithWhenDeleted(appsv1.RetainPersistentVolumeClaimRetentionPolicyType).
				WithWhenScaled(appsv1.RetainPersistentVolumeClaimRetentionPolicyType)).
			// No kind or namespace in the template: the API server stores neither. The
			// claims keep the managed-by label (they hold the tenant's data; only the
			// operator and the volume controllers may change them), and it could not be
			// taken off anyway: claim templates are immutable.
			WithVolumeClaimTemplates((&corev1ac.PersistentVolumeClaimApplyConfiguration{}).
				WithName(dataVolume).
				WithLabels(componentLabels(t, name)).
				WithSpec(claim)))
}

// dataClaimSpec is the spec of a one-replica StatefulSet's data claim: one node at a
// time, size, the Tenant's region.
func dataClaimSpec(t *silov1.Tenant, cfg *Config, size resource.Quantity) *corev1ac.PersistentVolumeClaimSpecApplyConfiguration {
	claim := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size.String())}))
	placeClaim(t, cfg, claim)
	return claim
}

// dataSize is the size of a managed service's data volume: the Tenant's, else the default.
func (s *managedService) dataSize(t *silov1.Tenant) resource.Quantity {
	if spec := s.spec(t); spec != nil && spec.storage != nil {
		return *spec.storage
	}
	return *s.defaultStorage
}

// secretEnv returns an environment variable read from a key of a Secret.
func secretEnv(name, secret, key string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().
		WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(secret).WithKey(key)))
}

// configSecretName names a managed service's configuration Secret.
func configSecretName(component string) string { return component + "-config" }

// credentialsSecretName names a component's generated credentials.
func credentialsSecretName(component string) string { return component + "-credentials" }

// credential returns one generated credential of a component, as the reconciler read
// it before building.
func credential(bc *buildContext, component, key string) string {
	return string(bc.Credentials[component][key])
}
