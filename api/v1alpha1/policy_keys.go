package v1alpha1

// Keys on the tenant namespace that Silo's ValidatingAdmissionPolicies read. An
// admission policy on a pod cannot read the Tenant, only the pod's namespace, so the
// operator copies the Tenant's isolation settings onto the namespace; the policy on
// namespaces lets nobody but the operator change them.
const (
	// NamespaceNodePoolLabel on a tenant namespace names the node pool every pod in it
	// must select. It is the same key as NodePoolLabel, the node label.
	NamespaceNodePoolLabel = NodePoolLabel
	// NamespaceRegionLabel on a tenant namespace names the region every pod in it must
	// be pinned to (node label topology.kubernetes.io/region).
	NamespaceRegionLabel = "silo.dev/region"
	// RuntimeClassAnnotation on a tenant namespace names the RuntimeClass every pod in
	// it must use (an annotation: RuntimeClass names can be longer than a label value).
	RuntimeClassAnnotation = "silo.dev/runtime-class"
	// AllowedRegistriesAnnotation on a tenant namespace lists, comma-separated, the
	// image prefixes pods in it may use: the Tenant's allowedRegistries followed by the
	// operator's own pinned component images.
	AllowedRegistriesAnnotation = "silo.dev/allowed-registries"
	// IngressHostAnnotation on a tenant namespace is the Tenant's app.ingress.host:
	// Ingresses in the namespace may claim that host and its subdomains only.
	IngressHostAnnotation = "silo.dev/ingress-host"
	// ServiceAccountKeysAnnotation on a tenant namespace lists, comma-separated, the
	// ServiceAccount annotation keys (an entry ending in "/" is a prefix) that only
	// the operator may set there: the platform's workload identity keys.
	ServiceAccountKeysAnnotation = "silo.dev/service-account-annotation-keys"
	// ClusterIssuersAnnotation on a tenant namespace lists, comma-separated, the
	// cert-manager ClusterIssuers Ingresses there may name; absent, any.
	ClusterIssuersAnnotation = "silo.dev/cluster-issuers"
	// VolumeTypesAnnotation on a tenant namespace lists, comma-separated, the volume
	// kinds pods there may use (configMap, secret, ...); absent, any the Pod Security
	// level admits.
	VolumeTypesAnnotation = "silo.dev/volume-types"
	// AllowedPriorityClassesAnnotation on a tenant namespace lists, comma-separated,
	// the PriorityClasses pods in it may name besides the cluster's globalDefault
	// class: the platform's list and the operator's default class of managed workloads.
	AllowedPriorityClassesAnnotation = "silo.dev/allowed-priority-classes"
	// AllowedTolerationsAnnotation on a tenant namespace lists, comma-separated, the
	// taint keys pods in it may tolerate besides node.kubernetes.io/* and the tenant's
	// own node pool (an entry ending in "/" is a prefix): the platform's list and the
	// extended resources the Tenant is granted.
	AllowedTolerationsAnnotation = "silo.dev/allowed-tolerations"
	// AllowedIngressAnnotationsAnnotation on a tenant namespace lists, comma-separated,
	// the annotation keys Ingresses in it may carry (an entry ending in "/" is a
	// prefix): the platform's list.
	AllowedIngressAnnotationsAnnotation = "silo.dev/allowed-ingress-annotations"
	// IngressClassAnnotation on a tenant namespace is the Tenant's
	// app.ingress.className: the only IngressClass Ingresses in the namespace may use.
	IngressClassAnnotation = "silo.dev/ingress-class"
	// DeletionProtectionAnnotation on a tenant namespace is "true" while the Tenant
	// has deletionProtection: only the operator may delete the namespace then.
	DeletionProtectionAnnotation = "silo.dev/deletion-protection"
	// RoleBindingServiceAccountNamespacesAnnotation on a tenant namespace lists,
	// comma-separated, the other namespaces whose ServiceAccounts the owners'
	// RoleBindings may name (the operator's --rolebinding-serviceaccount-namespaces).
	// Absent, owners may bind ServiceAccounts of their own namespace only.
	RoleBindingServiceAccountNamespacesAnnotation = "silo.dev/rolebinding-serviceaccount-namespaces"
)
