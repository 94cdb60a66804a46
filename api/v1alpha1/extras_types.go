package v1alpha1

import corev1 "k8s.io/api/core/v1"

// PodExtras are what a real app's pods need besides the image and the connection
// settings, for the app and the workers alike. (They are inlined; their rules are on
// AppSpec and WorkersSpec.)
type PodExtras struct {
	// envFrom loads every key of Secrets or ConfigMaps the tenant's owners create in
	// the namespace into the container's environment, after the connection settings.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	EnvFrom []EnvFromSource `json:"envFrom,omitempty"`
	// volumes are extra volumes mounted into the container, of the kinds the platform
	// allows (--allowed-volume-types; by default configMap, secret, emptyDir and
	// persistentVolumeClaim here).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Volumes []ExtraVolume `json:"volumes,omitempty"`
	// terminationGracePeriodSeconds is how long a stopping pod may take to finish its
	// work after SIGTERM before it is killed (default 30).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
}

// EnvFromSource names a Secret or a ConfigMap in the tenant namespace whose keys
// become environment variables.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="envFrom needs exactly one of secretRef or configMapRef"
type EnvFromSource struct {
	// prefix is put before every variable name.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Prefix string `json:"prefix,omitempty"`
	// secretRef names a Secret.
	// +optional
	SecretRef *ObjectRef `json:"secretRef,omitempty"`
	// configMapRef names a ConfigMap.
	// +optional
	ConfigMapRef *ObjectRef `json:"configMapRef,omitempty"`
}

// ObjectRef names an object in the tenant namespace.
type ObjectRef struct {
	// name is the object's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// optional lets the pod start when the object is missing.
	// +optional
	Optional *bool `json:"optional,omitempty"`
}

// ExtraVolume is a volume mounted into the app's or the workers' container.
// +kubebuilder:validation:XValidation:rule="[has(self.configMap), has(self.secret), has(self.emptyDir), has(self.persistentVolumeClaim)].filter(x, x).size() == 1",message="a volume needs exactly one of configMap, secret, emptyDir or persistentVolumeClaim"
// +kubebuilder:validation:XValidation:rule="!(self.name in ['tmp', 'storage'])",message="volume names tmp and storage are Silo's (/tmp and the file storage): choose another name"
// +kubebuilder:validation:XValidation:rule="!(self.mountPath in ['/tmp', '/data'])",message="volumes cannot be mounted at /tmp or /data, where Silo mounts scratch space and the file storage"
type ExtraVolume struct {
	// name names the volume in the pod.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// mountPath is where the volume is mounted, an absolute path.
	// +required
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^/`
	MountPath string `json:"mountPath"`
	// readOnly mounts the volume read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
	// configMap mounts the keys of a ConfigMap in the namespace as files.
	// +optional
	ConfigMap *corev1.ConfigMapVolumeSource `json:"configMap,omitempty"`
	// secret mounts the keys of a Secret in the namespace as files.
	// +optional
	Secret *corev1.SecretVolumeSource `json:"secret,omitempty"`
	// emptyDir is scratch space that lives as long as the pod.
	// +optional
	EmptyDir *corev1.EmptyDirVolumeSource `json:"emptyDir,omitempty"`
	// persistentVolumeClaim mounts a claim the tenant's owners created in the
	// namespace.
	// +optional
	PersistentVolumeClaim *corev1.PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
}

// ZoneSpread is how strictly the app's replicas are spread across zones.
// +kubebuilder:validation:Enum=ScheduleAnyway;DoNotSchedule
type ZoneSpread string
