package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=silo.dev,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=silo.dev,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=silo.dev,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=escalate;bind,resourceNames=silo-tenant-owner
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets;persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete

// TenantReconciler turns a Tenant into its isolated namespace and everything in it.
type TenantReconciler struct {
	client.Client
	// APIReader reads around the cache, for objects the cache does not hold.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Config    Config
	Recorder  events.EventRecorder
}

// namespaceRequeue is how soon to look again at a namespace that is still terminating.
const namespaceRequeue = 5 * time.Second

// Reconcile brings one Tenant's environment to its spec and reports it in status.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	t := &silov1.Tenant{}
	if err := r.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("Tenant", klog.KObj(t)))

	if !t.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, t)
	}
	if !controllerutil.ContainsFinalizer(t, silov1.TenantFinalizer) {
		before := t.DeepCopy()
		controllerutil.AddFinalizer(t, silov1.TenantFinalizer)
		if err := r.Patch(ctx, t, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer to %s: %w", klog.KObj(t), err)
		}
	}

	orig := t.DeepCopy()
	obs := &observation{}
	defer func() {
		if err := r.writeStatus(ctx, orig, t, obs, reterr); err != nil {
			reterr = errors.Join(reterr, err)
		}
		if apierrors.IsConflict(reterr) {
			// Someone else wrote first; the watch brings the new version.
			reterr = nil
			res.RequeueAfter = time.Second
		}
	}()

	reterr = r.reconcileNormal(ctx, t, obs)
	return ctrl.Result{RequeueAfter: obs.requeueAfter}, reterr
}

// reconcileNormal runs the phases of a live Tenant in order: namespace, fences,
// components, clean-up, observation.
func (r *TenantReconciler) reconcileNormal(ctx context.Context, t *silov1.Tenant, obs *observation) error {
	if done, err := r.reconcileNamespace(ctx, t, obs); err != nil || done {
		return err
	}
	bc := &buildContext{Tenant: t, Config: &r.Config}
	if err := r.readWiring(ctx, bc, obs); err != nil {
		return err
	}
	if err := r.readAppNeeds(ctx, bc, obs); err != nil {
		return err
	}
	desired := append(buildIsolation(bc), buildWorkloads(bc)...)
	applied, err := r.applyAll(ctx, t, desired, obs)
	if err != nil {
		return err
	}
	if err := r.resumeAutoscaling(ctx, t); err != nil {
		return err
	}
	if err := r.pruneStale(ctx, t, applied); err != nil {
		return err
	}
	return r.observe(ctx, bc, obs)
}

// applyAll applies every desired child and returns their identities.
func (r *TenantReconciler) applyAll(ctx context.Context, t *silov1.Tenant, desired []runtime.ApplyConfiguration, obs *observation) (map[childKey]bool, error) {
	a := &applier{client: r.Client, scheme: r.Scheme}
	applied := make(map[childKey]bool, len(desired))
	var errs []error
	for _, d := range desired {
		key, res, err := a.apply(ctx, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		applied[key] = true
		if res != unchanged {
			obs.changed = true
		}
		if res != unchanged {
			ctrl.LoggerFrom(ctx).V(1).Info("applied child", "kind", key.gvk.Kind, "name", key.name, "created", res == created)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("applying children of %s: %w", klog.KObj(t), err)
	}
	return applied, nil
}

// SetupWithManager registers the controller: it watches Tenants and every kind of
// child Silo owns, so a deleted or edited child is repaired at once.
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &silov1.Tenant{},
		externalSecretIndex, externalSecretNames); err != nil {
		return fmt.Errorf("indexing Tenants by external Secret: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &silov1.Tenant{},
		pullSecretIndex, pullSecretNames); err != nil {
		return fmt.Errorf("indexing Tenants by pull Secret: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&silov1.Tenant{}, builder.WithPredicates()).
		Named("tenant").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Owns(&corev1.Namespace{})
	for _, obj := range r.Config.ownedTypes() {
		b = b.Owns(obj)
	}
	// External service Secrets live in the operator's namespace, owned by nobody.
	b = b.Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForExternalSecret))
	b = b.Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForPullSecret))
	return b.Complete(r)
}

// ownedTypes are the namespaced kinds of child Silo creates in tenant namespaces.
func ownedTypes() []client.Object {
	return []client.Object{
		&corev1.ServiceAccount{},
		&corev1.ResourceQuota{},
		&corev1.LimitRange{},
		&networkingv1.NetworkPolicy{},
		&rbacv1.Role{},
		&rbacv1.RoleBinding{},
		&appsv1.Deployment{},
		&appsv1.StatefulSet{},
		&corev1.Service{},
		&autoscalingv2.HorizontalPodAutoscaler{},
		&policyv1.PodDisruptionBudget{},
		&networkingv1.Ingress{},
		&corev1.PersistentVolumeClaim{},
		&corev1.Secret{},
	}
}

// childKey identifies a child by kind and name (all children of a Tenant share its
// namespace, except the namespace itself).
type childKey struct {
	gvk  schema.GroupVersionKind
	name string
}

// terminal marks an error a retry cannot fix; the condition message says what to do.
func terminal(err error) error { return reconcile.TerminalError(err) }
