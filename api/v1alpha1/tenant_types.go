package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tenant is one customer's isolated environment: a namespace holding the customer's
// app servers, workers, queue, cache, database and file storage, fenced off from every
// other tenant.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tn,categories=silo
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Components",type=string,JSONPath=`.status.componentsReady`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.placement.region`,priority=1
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.class`,priority=1
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="metadata.name must be at most 40 characters: the tenant namespace is tenant-<name> and its objects derive their names from it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
type Tenant struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata. The name becomes the namespace tenant-<name>.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the platform team asks for.
	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.class) || (has(self.app) && has(self.app.image))",message="app.image is required unless the Tenant names a class that provides it (spec.class)"
	Spec TenantSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status TenantStatus `json:"status,omitempty"`
}

// TenantSpec describes one customer's environment.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.placement) || !has(oldSelf.placement.region) || (has(self.placement) && has(self.placement.region) && self.placement.region == oldSelf.placement.region)",message="placement.region is immutable once set: data residency cannot move; create a new Tenant in the other region and migrate the data"
// +kubebuilder:validation:XValidation:rule="!has(self.placement) || !has(self.placement.region) || (has(oldSelf.placement) && has(oldSelf.placement.region)) || (!has(oldSelf.storage) && (!has(oldSelf.queue) || has(oldSelf.queue.external)) && (!has(oldSelf.database) || has(oldSelf.database.external)))",message="placement.region cannot be added to a Tenant that already has volumes (storage, a managed queue or a managed database): a volume's storage class is fixed when it is created, so its data cannot follow the region; create a new Tenant in the region and migrate the data, or add the region before the volumes"
// +kubebuilder:validation:XValidation:rule="has(self.class) || !has(self.workers) || has(self.workers.command) || has(self.workers.image)",message="workers needs a command (or its own image): with neither it would run a second copy of the app server"
// +kubebuilder:validation:XValidation:rule="has(self.class) || !has(self.backup) || has(self.backup.schedule)",message="backup.schedule is required (a cron expression such as \"0 3 * * *\") unless the Tenant names a class that provides it"
type TenantSpec struct {
	// displayName is a human-readable name for the customer, free text.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// owners are the RBAC subjects that administer the tenant namespace. They may run
	// workloads there; they cannot change its quota, limits, network policies or the
	// operator's roles, and they have nothing outside it.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Owners []Owner `json:"owners,omitempty"`

	// class names the TenantClass whose template gives this Tenant's defaults: the
	// effective spec is the class's template with this spec's own fields on top
	// (objects merge field by field, a list replaces the class's list whole). Changing
	// or removing it is a normal update.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Class string `json:"class,omitempty"`

	// classUpdatePolicy says whether the Tenant follows its class's new revisions
	// (Automatic, the default) or stays on the revision it runs (Manual) until set back
	// to Automatic.
	// +optional
	ClassUpdatePolicy ClassUpdatePolicy `json:"classUpdatePolicy,omitempty"`

	// app is the customer-facing app servers, load-balanced behind a Service. Required
	// (with its image) unless the Tenant's class provides it.
	// +optional
	App AppSpec `json:"app,omitempty,omitzero"`

	// workers are optional background workers, running the app image by default with
	// their own command.
	// +optional
	Workers *WorkersSpec `json:"workers,omitempty"`

	// queue, when present, gives the tenant a message queue: a managed NATS JetStream
	// server, or an external one.
	// +optional
	Queue *QueueSpec `json:"queue,omitempty"`

	// cache, when present, gives the tenant a cache speaking the Redis protocol: a
	// managed Valkey server, or an external one.
	// +optional
	Cache *CacheSpec `json:"cache,omitempty"`

	// database, when present, gives the tenant a PostgreSQL database: a managed one
	// with its own volume, or an external one.
	// +optional
	Database *DatabaseSpec `json:"database,omitempty"`

	// storage, when present, gives the tenant a file storage volume mounted at /data in
	// the app and the workers.
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`

	// backup, when set, has Silo take CSI VolumeSnapshots of the Tenant's volumes
	// (database, managed queue, file storage) on a schedule and keep the last few.
	// +optional
	Backup *BackupSpec `json:"backup,omitempty"`

	// imagePullSecrets name registry credentials for the tenant's images: Secrets of
	// type kubernetes.io/dockerconfigjson in the operator's namespace, labelled
	// silo.dev/tenant=<this Tenant's name> (a Secret without that label is never
	// used). Silo copies each into the tenant namespace under the same name, keeps the
	// copy in sync, and every pod it manages pulls with them.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	ImagePullSecrets []PullSecretReference `json:"imagePullSecrets,omitempty"`

	// serviceAccount configures the workload ServiceAccount the app and the workers
	// run as: its annotations give them a cloud workload identity.
	// +optional
	ServiceAccount *ServiceAccountSpec `json:"serviceAccount,omitempty"`

	// podMetadata are labels and annotations for the app's and the workers' pods,
	// limited to the keys the platform allows.
	// +optional
	PodMetadata *PodMetadata `json:"podMetadata,omitempty"`

	// quota caps what the tenant namespace may consume. Unset fields take the
	// operator's defaults.
	// +optional
	Quota QuotaSpec `json:"quota,omitempty,omitzero"`

	// isolation sets how strongly the tenant is fenced off: Pod Security level,
	// dedicated nodes, sandboxed runtime, image registries.
	// +optional
	Isolation IsolationSpec `json:"isolation,omitempty,omitzero"`

	// network sets what traffic the tenant may send and receive beyond its namespace.
	// +optional
	Network NetworkSpec `json:"network,omitempty,omitzero"`

	// placement pins the tenant's pods and volumes to a region.
	// +optional
	Placement PlacementSpec `json:"placement,omitempty,omitzero"`

	// suspend scales every workload to zero and keeps all data (volumes, credentials).
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// deletionPolicy says what happens to the namespace when the Tenant is deleted.
	// Retain (when unset) keeps its volumes and credentials for a Tenant of the same
	// name to adopt; Delete removes the namespace and everything in it.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// deletionProtection, when true, makes the API server refuse to delete the Tenant.
	// Set it to false first to delete.
	// +optional
	DeletionProtection bool `json:"deletionProtection,omitempty"`
}

// ClassUpdatePolicy says whether a Tenant follows its class's new revisions.
// +kubebuilder:validation:Enum=Automatic;Manual
type ClassUpdatePolicy string

const (
	// ClassUpdateAutomatic moves the Tenant to each new revision of its class, in the
	// class's rollout (the default).
	ClassUpdateAutomatic ClassUpdatePolicy = "Automatic"
	// ClassUpdateManual keeps the Tenant on the revision it runs.
	ClassUpdateManual ClassUpdatePolicy = "Manual"
)

// OwnerKind is the kind of an RBAC subject.
// +kubebuilder:validation:Enum=User;Group;ServiceAccount
type OwnerKind string

const (
	// OwnerKindUser is a user known to the cluster's authenticator.
	OwnerKindUser OwnerKind = "User"
	// OwnerKindGroup is a group known to the cluster's authenticator.
	OwnerKindGroup OwnerKind = "Group"
	// OwnerKindServiceAccount is a Kubernetes ServiceAccount.
	OwnerKindServiceAccount OwnerKind = "ServiceAccount"
)

// Owner is an RBAC subject that administers the tenant namespace.
// +kubebuilder:validation:XValidation:rule="self.kind == 'ServiceAccount' ? has(self.__namespace__) : !has(self.__namespace__)",message="namespace is required for kind ServiceAccount and not allowed for User or Group"
type Owner struct {
	// kind is User, Group or ServiceAccount.
	// +required
	Kind OwnerKind `json:"kind"`
	// name is the user, group or ServiceAccount name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// namespace is the ServiceAccount's namespace (kind ServiceAccount only).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// AppSpec describes the customer-facing app servers.
// +kubebuilder:validation:XValidation:rule="!has(self.autoscaling) || !has(self.replicas)",message="set either app.replicas or app.autoscaling, not both: with autoscaling the HorizontalPodAutoscaler owns the replica count"
// +kubebuilder:validation:XValidation:rule="!has(self.livenessProbe) || !has(self.livenessProbe.successThreshold) || self.livenessProbe.successThreshold == 1",message="livenessProbe.successThreshold must be 1: Kubernetes allows no other value for liveness probes"
// +kubebuilder:validation:XValidation:rule="!has(self.startupProbe) || !has(self.startupProbe.successThreshold) || self.startupProbe.successThreshold == 1",message="startupProbe.successThreshold must be 1: Kubernetes allows no other value for startup probes"
type AppSpec struct {
	// image is the app's container image, with a tag or digest. Required unless the
	// Tenant's class provides it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// replicas is the number of app servers (default 1). Not allowed with autoscaling.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// port is the port the app listens on (default 8080).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// command overrides the image's entrypoint.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Command []string `json:"command,omitempty"`

	// env adds environment variables to the app, after the connection settings.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	Env []corev1.EnvVar `json:"env,omitempty"`

	// resources are the app container's requests and limits (the namespace's
	// LimitRange defaults apply when unset).
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty,omitzero"`

	// autoscaling, when set, gives the app a HorizontalPodAutoscaler that owns its
	// replica count.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// ingress, when set, exposes the app at a host name through an Ingress.
	// +optional
	Ingress *IngressSpec `json:"ingress,omitempty"`

	// The app's readiness, liveness and startup probes.
	Probes `json:",inline"`

	// The app's envFrom, extra volumes and termination grace period.
	PodExtras `json:",inline"`

	// metrics, when set, has the app's metrics scraped: a PodMonitor (where the
	// cluster serves that kind) and the platform's monitoring namespace let in.
	// +optional
	Metrics *MetricsSpec `json:"metrics,omitempty"`

	// spreadAcrossZones spreads the app's replicas evenly across the zones
	// (topology.kubernetes.io/zone): ScheduleAnyway prefers it, DoNotSchedule
	// requires it (a replica waits rather than crowd a zone). Unset: no spread.
	// +optional
	SpreadAcrossZones ZoneSpread `json:"spreadAcrossZones,omitempty"`
	// migration, when set, runs a command as a Job with the new image (and the
	// Tenant's connection settings) before the app and the workers move to a new
	// image; they move only when the Job succeeded.
	// +optional
	Migration *MigrationSpec `json:"migration,omitempty"`
}

// MigrationSpec is a command run before the app moves to a new image, for example a
// database schema migration.
type MigrationSpec struct {
	// command is the migration's command, for example ["/app", "migrate"]. It must
	// be safe to run more than once.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Command []string `json:"command"`
	// timeoutSeconds is how long the migration may run before it counts as failed
	// (default 600).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// AutoscalingSpec configures the app's HorizontalPodAutoscaler.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="autoscaling.minReplicas must not exceed autoscaling.maxReplicas"
type AutoscalingSpec struct {
	// minReplicas is the lower bound (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// maxReplicas is the upper bound.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxReplicas int32 `json:"maxReplicas"`
	// targetCPUUtilizationPercentage is the average CPU use to aim for (default 80).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// IngressSpec exposes the app through an Ingress.
type IngressSpec struct {
	// host is the DNS name the app answers on.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Host string `json:"host"`
	// className is the IngressClass to use (the cluster default when unset).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClassName string `json:"className,omitempty"`
	// tlsSecretName is a Secret in the tenant namespace holding the certificate for
	// host; with issuer, where cert-manager stores the certificate (default app-tls).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSSecretName string `json:"tlsSecretName,omitempty"`
	// issuer names a cert-manager ClusterIssuer that gets the certificate for host:
	// the Ingress carries cert-manager.io/cluster-issuer and TLS for host. Any
	// ClusterIssuer, unless the platform lists the allowed ones
	// (--allowed-cluster-issuers).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Issuer string `json:"issuer,omitempty"`
}

// WorkersSpec describes the background workers.
// +kubebuilder:validation:XValidation:rule="!has(self.livenessProbe) || !has(self.livenessProbe.successThreshold) || self.livenessProbe.successThreshold == 1",message="livenessProbe.successThreshold must be 1: Kubernetes allows no other value for liveness probes"
// +kubebuilder:validation:XValidation:rule="!has(self.startupProbe) || !has(self.startupProbe.successThreshold) || self.startupProbe.successThreshold == 1",message="startupProbe.successThreshold must be 1: Kubernetes allows no other value for startup probes"
type WorkersSpec struct {
	// image is the workers' image (default: the app image).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`
	// replicas is the number of workers (default 1).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`
	// command is the workers' command, for example ["/app", "worker"].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Command []string `json:"command,omitempty"`
	// env adds environment variables to the workers, after the connection settings.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	Env []corev1.EnvVar `json:"env,omitempty"`
	// resources are the worker container's requests and limits.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty,omitzero"`

	// The workers' readiness, liveness and startup probes.
	Probes `json:",inline"`

	// The workers' envFrom, extra volumes and termination grace period.
	PodExtras `json:",inline"`
}

// ExternalService points a component at a service the platform already runs.
type ExternalService struct {
	// secretName names a Secret in the operator's own namespace whose keys become the
	// tenant's connection settings (for example DATABASE_URL). Tenant admins cannot
	// read or change it there.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`
}

// QueueSpec is a managed NATS JetStream server or an external queue.
// +kubebuilder:validation:XValidation:rule="!has(self.external) || (!has(self.storage) && !has(self.version) && !has(self.resources))",message="queue.external cannot be combined with storage, version or resources: those configure the managed queue"
// +kubebuilder:validation:XValidation:rule="!has(self.external) || !has(self.restoreFrom)",message="queue.restoreFrom cannot be combined with external: only a managed queue has a volume to restore"
// +kubebuilder:validation:XValidation:rule="has(self.external) || has(oldSelf.external) || (has(self.storage) == has(oldSelf.storage) && (!has(self.storage) || quantity(string(self.storage)).compareTo(quantity(string(oldSelf.storage))) == 0))",message="queue.storage cannot change once the queue exists: its volume is created from a fixed template; resize the claim data-queue-0 instead"
type QueueSpec struct {
	// storage is the size of the JetStream volume (default 1Gi). It cannot change
	// once the queue exists.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="queue.storage must be a positive quantity such as \"1Gi\""
	Storage *resource.Quantity `json:"storage,omitempty"`
	// version is the NATS image tag (default: the operator's pinned image).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	Version string `json:"version,omitempty"`
	// resources are the NATS container's requests and limits.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// external uses a queue the platform runs instead of a managed one.
	// +optional
	External *ExternalService `json:"external,omitempty"`
	// restoreFrom, when set, creates the queue's volume from a snapshot Silo took. It is
	// used only when the volume does not exist yet; once it does, the field is
	// ignored (status.restoredFrom says where the volume came from).
	// +optional
	RestoreFrom *RestoreSource `json:"restoreFrom,omitempty"`
}

// CacheSpec is a managed Valkey server or an external Redis-protocol cache.
// +kubebuilder:validation:XValidation:rule="!has(self.external) || (!has(self.version) && !has(self.resources))",message="cache.external cannot be combined with version or resources: those configure the managed cache"
type CacheSpec struct {
	// version is the Valkey image tag (default: the operator's pinned image).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	Version string `json:"version,omitempty"`
	// resources are the Valkey container's requests and limits; the memory limit also
	// caps Valkey's maxmemory.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// external uses a cache the platform runs instead of a managed one.
	// +optional
	External *ExternalService `json:"external,omitempty"`
}

// DatabaseSpec is a managed PostgreSQL server or an external database.
// +kubebuilder:validation:XValidation:rule="!has(self.external) || (!has(self.storage) && !has(self.version) && !has(self.resources))",message="database.external cannot be combined with storage, version or resources: those configure the managed database"
// +kubebuilder:validation:XValidation:rule="!has(self.external) || !has(self.restoreFrom)",message="database.restoreFrom cannot be combined with external: only a managed database has a volume to restore"
// +kubebuilder:validation:XValidation:rule="has(self.external) || has(oldSelf.external) || (has(self.storage) == has(oldSelf.storage) && (!has(self.storage) || quantity(string(self.storage)).compareTo(quantity(string(oldSelf.storage))) == 0))",message="database.storage cannot change once the database exists: its volume is created from a fixed template; resize the claim data-database-0 instead"
// +kubebuilder:validation:XValidation:rule="!has(self.version) || !has(oldSelf.version) || (has(self.allowMajorVersionUpgrade) && self.allowMajorVersionUpgrade) || self.version.find('^[0-9]+') == oldSelf.version.find('^[0-9]+')",message="database.version cannot move to another PostgreSQL major version: the new server cannot read the old data directory without pg_upgrade (or a dump and restore). Upgrade the data first, then set database.allowMajorVersionUpgrade: true together with the new version"
type DatabaseSpec struct {
	// storage is the size of the database volume (default 10Gi). It cannot change
	// once the database exists.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="database.storage must be a positive quantity such as \"10Gi\""
	Storage *resource.Quantity `json:"storage,omitempty"`
	// version is the PostgreSQL image tag (default: the operator's pinned image).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	Version string `json:"version,omitempty"`
	// resources are the PostgreSQL container's requests and limits.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// external uses a database the platform runs instead of a managed one.
	// +optional
	External *ExternalService `json:"external,omitempty"`
	// restoreFrom, when set, creates the database volume from a snapshot Silo took. It is
	// used only when the volume does not exist yet; once it does, the field is
	// ignored (status.restoredFrom says where the volume came from).
	// +optional
	RestoreFrom *RestoreSource `json:"restoreFrom,omitempty"`
	// allowMajorVersionUpgrade lets version move to another PostgreSQL major version,
	// once the data has been upgraded outside Silo (pg_upgrade, or a dump and
	// restore). Without it such a change is refused.
	// +optional
	AllowMajorVersionUpgrade bool `json:"allowMajorVersionUpgrade,omitempty"`
}

// StorageSpec is the tenant's file storage volume.
// +kubebuilder:validation:XValidation:rule="(has(self.accessMode) ? self.accessMode : 'ReadWriteMany') == (has(oldSelf.accessMode) ? oldSelf.accessMode : 'ReadWriteMany')",message="storage.accessMode cannot change once the volume exists: a claim's access modes are fixed; create a new Tenant, or remove storage (the claim is kept) and copy the data"
// +kubebuilder:validation:XValidation:rule="quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",messageExpression="'storage.size cannot shrink from ' + string(oldSelf.size) + ' to ' + string(self.size) + ': a volume can grow but never shrink; set it to ' + string(oldSelf.size) + ' or more'"
type StorageSpec struct {
	// size is the size of the volume mounted at /data. It can grow (when the
	// StorageClass allows volume expansion) but never shrink.
	// +required
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="storage.size must be a positive quantity such as \"20Gi\""
	Size resource.Quantity `json:"size"`
	// accessMode is how the volume may be mounted: ReadWriteMany (the default: the
	// app's replicas and the workers share it from any node; needs a file storage
	// class such as EFS, Filestore or Azure Files) or ReadWriteOnce (one node at a
	// time: block storage works, and every pod that mounts it runs on that node).
	// It cannot change once the volume exists.
	// +optional
	// +kubebuilder:validation:Enum=ReadWriteMany;ReadWriteOnce
	AccessMode string `json:"accessMode,omitempty"`
	// restoreFrom, when set, creates the file storage volume from a snapshot Silo took. It is
	// used only when the volume does not exist yet; once it does, the field is
	// ignored (status.restoredFrom says where the volume came from).
	// +optional
	RestoreFrom *RestoreSource `json:"restoreFrom,omitempty"`
}

// QuotaSpec caps what the tenant namespace may consume. Unset fields take the
// operator's defaults.
type QuotaSpec struct {
	// cpu caps the sum of CPU requests and of CPU limits.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="quota.cpu must be a positive quantity such as \"8\" or \"500m\""
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// memory caps the sum of memory requests and of memory limits.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="quota.memory must be a positive quantity such as \"16Gi\""
	Memory *resource.Quantity `json:"memory,omitempty"`
	// ephemeralStorage caps the sum of ephemeral-storage requests and limits.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="quota.ephemeralStorage must be a positive quantity such as \"20Gi\""
	EphemeralStorage *resource.Quantity `json:"ephemeralStorage,omitempty"`
	// storage caps the sum of volume claims.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="quota.storage must be a positive quantity such as \"100Gi\""
	Storage *resource.Quantity `json:"storage,omitempty"`
	// pods caps the number of pods.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Pods *int32 `json:"pods,omitempty"`
	// services caps the number of Services.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Services *int32 `json:"services,omitempty"`
	// secrets caps the number of Secrets.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Secrets *int32 `json:"secrets,omitempty"`
	// configMaps caps the number of ConfigMaps.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	ConfigMaps *int32 `json:"configMaps,omitempty"`
	// persistentVolumeClaims caps the number of volume claims.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	PersistentVolumeClaims *int32 `json:"persistentVolumeClaims,omitempty"`
	// extended grants extended resources such as GPUs, by resource name (for example
	// nvidia.com/gpu: "2"): the sum of what the tenant's pods request. The extended
	// resources the platform names (operator configuration) are capped at 0 for
	// every Tenant that does not grant them here. A Tenant granted a resource may
	// also tolerate the node taint of the same name (GPU nodes are usually tainted so).
	// +optional
	// +kubebuilder:validation:MaxProperties=8
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 317 && k.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",message="quota.extended keys must be extended resource names of the form <domain>/<name>, for example nvidia.com/gpu"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.split('/')[0] == 'kubernetes.io' || k.split('/')[0].endsWith('.kubernetes.io')))",message="quota.extended keys must not be in the kubernetes.io domain: those are Kubernetes' own resources (cpu, memory, ...), capped by the other quota fields"
	// +kubebuilder:validation:XValidation:rule="self.all(k, string(self[k]).matches('^[0-9]+$'))",message="quota.extended values must be whole numbers of 0 or more, such as \"2\": extended resources are counted in units"
	Extended map[string]resource.Quantity `json:"extended,omitempty"`
}

// PodSecurityLevel is a Pod Security Standard level.
// +kubebuilder:validation:Enum=restricted;baseline
type PodSecurityLevel string

const (
	// PodSecurityRestricted is the hardened Pod Security Standard (the default).
	PodSecurityRestricted PodSecurityLevel = "restricted"
	// PodSecurityBaseline blocks known privilege escalations but allows more images.
	PodSecurityBaseline PodSecurityLevel = "baseline"
)

// IsolationSpec sets how strongly the tenant is fenced off.
type IsolationSpec struct {
	// podSecurity is the Pod Security Standard enforced in the namespace (restricted
	// when unset).
	// +optional
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`
	// nodePool, when set, runs every pod on dedicated nodes labelled
	// silo.dev/node-pool=<nodePool> (and tolerates their taint of the same key).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	NodePool string `json:"nodePool,omitempty"`
	// runtimeClassName, when set, runs every pod in this RuntimeClass (for example a
	// sandboxed runtime such as gVisor).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	RuntimeClassName string `json:"runtimeClassName,omitempty"`
	// allowedRegistries, when set, restricts pods in the namespace to images from these
	// registry prefixes (for example "registry.example.com/shop/").
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
}

// NetworkSpec sets what traffic the tenant may send beyond its namespace.
type NetworkSpec struct {
	// allowInternetEgress lets pods reach addresses outside the cluster (default false:
	// only the namespace itself and cluster DNS). A Tenant may set it to false to
	// override a class that sets it to true.
	// +optional
	AllowInternetEgress *bool `json:"allowInternetEgress,omitempty"`
	// egress allows the tenant's pods to reach these address ranges (private ones
	// included, unlike allowInternetEgress) on these ports: a managed database on a
	// private address, say. The cluster's own networks (operator setting
	// --cluster-cidrs) stay closed inside them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Egress []EgressRule `json:"egress,omitempty"`
}

// PlacementSpec pins the tenant to a region.
type PlacementSpec struct {
	// region pins every pod (node affinity on topology.kubernetes.io/region) and
	// volume (the region's StorageClass) to this region. Immutable once set, and it can
	// be added to an existing Tenant only while it has no volumes (storage, managed
	// queue or database): a volume cannot change its StorageClass.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Region string `json:"region,omitempty"`
}

// DeletionPolicy says what happens to the namespace when the Tenant is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionPolicyRetain keeps the namespace's data for a later Tenant of the same name.
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDelete removes the namespace and everything in it.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// TenantPhase is a one-word summary of the Tenant's state.
// +kubebuilder:validation:Enum=Provisioning;Ready;Degraded;Suspended;Deleting
type TenantPhase string

const (
	// PhaseProvisioning means the environment is being built or is not ready yet.
	PhaseProvisioning TenantPhase = "Provisioning"
	// PhaseReady means every component is ready.
	PhaseReady TenantPhase = "Ready"
	// PhaseDegraded means something needs attention; the Degraded condition says what.
	PhaseDegraded TenantPhase = "Degraded"
	// PhaseSuspended means every workload is scaled to zero on request.
	PhaseSuspended TenantPhase = "Suspended"
	// PhaseDeleting means the Tenant is being deleted.
	PhaseDeleting TenantPhase = "Deleting"
)

// ComponentStatus is the observed state of one component.
type ComponentStatus struct {
	// name is the component: app, workers, queue, cache, database or storage.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Name string `json:"name"`
	// ready is true when the component serves.
	// +required
	Ready bool `json:"ready"`
	// replicas is the number of pods asked for.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// readyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// message says why the component is not ready.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// TenantStatus is the observed state of a Tenant.
type TenantStatus struct {
	// phase is a one-word summary: Provisioning, Ready, Degraded, Suspended or Deleting.
	// +optional
	Phase TenantPhase `json:"phase,omitempty"`
	// namespace is the tenant's namespace, tenant-<name>.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// observedGeneration is the spec generation the operator last reconciled fully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready (the summary), Progressing and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// components is one entry per component, in a fixed order.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Components []ComponentStatus `json:"components,omitempty"`
	// componentsReady is ready/total components, for example "5/6".
	// +optional
	// +kubebuilder:validation:MaxLength=16
	ComponentsReady string `json:"componentsReady,omitempty"`
	// endpoints are the in-cluster URLs of the components (never credentials).
	// +optional
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// usage is what the namespace consumes, from its ResourceQuota status.
	// +optional
	Usage corev1.ResourceList `json:"usage,omitempty"`
	// class is the TenantClass the Tenant runs a revision of.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Class string `json:"class,omitempty"`
	// classRevision is the revision of its class the Tenant runs (the class's
	// status.revision when it is up to date).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ClassRevision string `json:"classRevision,omitempty"`
	// credentials reports the rotations of the managed services' credentials
	// (annotation silo.dev/rotate-credentials).
	// +optional
	Credentials *CredentialsStatus `json:"credentials,omitempty"`
	// export reports the latest export of the Tenant's data (annotation silo.dev/export).
	// +optional
	Export *ExportStatus `json:"export,omitempty"`
	// backups is the state of the scheduled snapshots (spec.backup).
	// +optional
	Backups *BackupStatus `json:"backups,omitempty"`
	// restoredFrom says, per volume created from a snapshot, which one.
	// +optional
	// +listType=map
	// +listMapKey=volume
	// +kubebuilder:validation:MaxItems=8
	RestoredFrom []RestoredVolume `json:"restoredFrom,omitempty"`
}

// TenantList is a list of Tenants.
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Tenant{}, &TenantList{})
}
