package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
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

	applierOnce sync.Once
	shared      *applier
	// written remembers the version of each Tenant this process last wrote.
	written tenantWrites
	// sender sends the applier's writes; SetupWithManager sets one that reads back
	// only metadata. Without one, the client sends them.
	sender applySender
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
	if r.written.behind(t) {
		// The cache has not caught up with this process's last write to the Tenant:
		// a pass from this version would write its status (or finalizer) again. The
		// watch event of the newer version is on its way and starts the next pass.
		ctrl.LoggerFrom(ctx).V(1).Info("waiting for the cache to catch up with the last write", "cached", t.ResourceVersion)
		return ctrl.Result{}, nil
	}

	if !t.DeletionTimestamp.IsZero() {
		orig := t.DeepCopy()
		res, err := r.reconcileDelete(ctx, t)
		if err != nil {
			// The finalizer cannot finish yet: the Tenant says it is being deleted,
			// and what holds it (one status write; a deletion that finishes at once
			// leaves the API without one).
			err = errors.Join(err, r.writeStatus(ctx, orig, orig.DeepCopy(), &observation{deleting: true}, err))
		}
		return res, err
	}
	if !controllerutil.ContainsFinalizer(t, silov1.TenantFinalizer) {
		before := t.DeepCopy()
		controllerutil.AddFinalizer(t, silov1.TenantFinalizer)
		if err := r.Patch(ctx, t, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer to %s: %w", klog.KObj(t), err)
		}
		r.written.wrote(t)
	}

	orig := t.DeepCopy()
	obs := &observation{}
	defer func() {
		statusErr := r.writeStatus(ctx, orig, t, obs, reterr)
		reterr = errors.Join(reterr, statusErr)
		r.reportPass(orig, t, obs, reterr, statusErr == nil)
		if apierrors.IsConflict(reterr) {
			// Someone else wrote first; the watch brings the new version.
			reterr = nil
			res.RequeueAfter = time.Second
		}
	}()

	reterr = r.reconcileNormal(ctx, t, obs)
	if b := obs.blocked; b != nil && b.recheck {
		obs.requeueAfter = recheckAfter(t, b.reason, time.Now())
	}
	return ctrl.Result{RequeueAfter: obs.requeueAfter}, reterr
}

// reconcileNormal runs the phases of a live Tenant in order: namespace, fences,
// wiring, components, clean-up, observation. Once the namespace is there, a phase
// that fails does not stop the next ones: the fences converge and stale children are
// pruned even when one child cannot be written; the errors are joined.
func (r *TenantReconciler) reconcileNormal(ctx context.Context, t *silov1.Tenant, obs *observation) error {
	// From here on t is the effective spec: its class's revision with its own fields on top.
	t, err := r.resolveClass(ctx, t, obs)
	if err != nil || t == nil {
		return err
	}
	if msg := invalidSpec(&t.Spec); msg != "" {
		obs.blocked = &blockage{reason: silov1.InvalidSpecReason, message: msg + "; nothing is changed until then"}
		return nil
	}
	if done, err := r.reconcileNamespace(ctx, t, obs); err != nil || done {
		return err
	}
	bc := &buildContext{Tenant: t, Config: &r.Config, Written: r.applier().versions.generation}
	// Every child the Tenant wants, applied or not: pruning must spare them all.
	wanted := map[childKey]bool{}
	fences, grant := splitOwnerBinding(buildIsolation(bc), obs.namespaceCreated)
	fenceErr := r.applyAll(ctx, fences, wanted, nil, obs)
	restore, restoreErr := r.reconcileRestore(ctx, bc, obs)
	wiringErr := errors.Join(restoreErr, r.readWiring(ctx, bc, obs))
	for c := range restore.held {
		bc.Held[c] = true
	}
	mig, migErr := r.reconcileMigration(ctx, bc, obs)
	if mig != nil && mig.hold != "" {
		bc.Tenant = holdImage(bc.Tenant, mig.hold)
		obs.classRevision = runningRevision(t, obs.class)
	}
	keep, guardErr := r.guardDatabaseMajor(ctx, bc.Tenant, obs)
	if keep != "" {
		bc.Tenant = bc.Tenant.DeepCopy()
		bc.Tenant.Spec.Database.Version = keep
	}
	needsErr := r.readAppNeeds(ctx, bc, obs)
	// A restored database starts once its data knows the Tenant's password.
	credsErr := r.reconcileRestoredCredentials(ctx, bc, restore.credentials, obs)
	// Without every component's settings, the migration's verdict, the database
	// guard's and what the app needs, the workloads cannot be built right: they stay
	// as they are until those read again.
	holdAll := wiringErr != nil || migErr != nil || guardErr != nil || needsErr != nil
	workloadErr := r.applyAll(ctx, buildWorkloads(bc), wanted, heldBy(bc.Held, holdAll), obs)
	errs := []error{fenceErr, wiringErr, migErr, guardErr, needsErr, credsErr, workloadErr, r.applyAll(ctx, grant, wanted, nil, obs),
		r.reconcileRotations(ctx, bc, obs), r.reconcileExport(ctx, bc, obs), r.reconcileBackup(ctx, bc, obs)}
	if !holdAll && workloadErr == nil {
		errs = append(errs, r.resumeAutoscaling(ctx, t))
	}
	errs = append(errs, r.pruneStale(ctx, t, wanted), r.observe(ctx, bc, obs))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reconciling %s: %w", klog.KObj(t), err)
	}
	obs.rolloutAware(mig)
	return nil
}

// splitOwnerBinding takes the owners' RoleBinding out of the fences when the pass
// has just created the namespace: granted last, the owners can put nothing in the new
// namespace before Silo has created every child, so none of them needs to be looked
// up past the cache first (the pass that builds a Tenant sends no read).
func splitOwnerBinding(fences []runtime.ApplyConfiguration, newNamespace bool) (rest, grant []runtime.ApplyConfiguration) {
	if !newNamespace {
		return fences, nil
	}
	for _, f := range fences {
		if rb, ok := f.(*rbacv1ac.RoleBindingApplyConfiguration); ok && rb.Name != nil && *rb.Name == OwnerRoleBindingName {
			grant = append(grant, f)
			continue
		}
		rest = append(rest, f)
	}
	return rest, grant
}

// heldBy returns which desired children to keep as they are instead of applying:
// every one when all is set, else those of the held components.
func heldBy(components map[string]bool, all bool) func(d *desiredChild) bool {
	return func(d *desiredChild) bool {
		return all || components[d.labels[silov1.ComponentLabel]]
	}
}

// applyAll applies every desired child, except those hold says to keep as they are,
// and adds each one's identity to wanted. An object Silo did not create at a child's
// name is left alone and named in the Tenant's status; it stops nothing else.
func (r *TenantReconciler) applyAll(ctx context.Context, desired []runtime.ApplyConfiguration, wanted map[childKey]bool,
	hold func(d *desiredChild) bool, obs *observation) error {
	a := r.applier()
	var errs []error
	for _, ac := range desired {
		d, err := newDesiredChild(ac)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := d.childKey()
		wanted[key] = true
		if hold != nil && hold(d) {
			continue
		}
		_, res, err := a.apply(ctx, d, applyOptions{inNewNamespace: obs.namespaceCreated})
		var conflict *childConflict
		switch {
		case errors.As(err, &conflict):
			obs.conflict(conflict)
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case res != unchanged:
			obs.changed = true
			obs.wrote(key)
			obs.noteApplied(key, res)
			ctrl.LoggerFrom(ctx).V(1).Info("applied child", "kind", key.gvk.Kind, "name", key.name, "created", res == created)
		}
	}
	return errors.Join(errs...)
}

// applier returns the reconciler's applier, which keeps what it learns across passes.
func (r *TenantReconciler) applier() *applier {
	r.applierOnce.Do(func() {
		var sender applySender = clientSender{client: r.Client}
		if r.sender != nil {
			sender = r.sender
		}
		r.shared = &applier{client: r.Client, apiReader: r.apiReader(), scheme: r.Scheme, sender: sender, versions: &appliedVersions{}}
	})
	return r.shared
}

// SetupWithManager registers the controller: it watches Tenants and every kind of
// child Silo owns, so a deleted or edited child is repaired at once.
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.sender == nil {
		r.sender = newMetadataSender(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetRESTMapper())
	}
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
	// Migration Jobs are not pruned with the other children (a failed one is kept),
	// and a class matters to the Tenants that wait for it.
	b = b.Owns(&batchv1.Job{}).
		Watches(&silov1.TenantClass{}, handler.EnqueueRequestsFromMapFunc(r.tenantsWaitingForClass))
	return r.watchSnapshots(b).Complete(r)
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

// tenantWrites remembers the resourceVersion each of this process's writes to a
// Tenant returned (its finalizer, its status). The informer cache may still hold an
// older version when the next pass starts, because a child's event can arrive before
// the Tenant's own: a pass from that version would find its last status missing and
// write it again.
type tenantWrites struct {
	mu sync.Mutex
	m  map[string]string
}

// wrote remembers the version a write to t returned.
func (w *tenantWrites) wrote(t *silov1.Tenant) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]string{}
	}
	w.m[t.Name] = t.ResourceVersion
}

// behind reports whether t, as the cache holds it, is older than this process's
// last write to it.
func (w *tenantWrites) behind(t *silov1.Tenant) bool {
	w.mu.Lock()
	last, ok := w.m[t.Name]
	w.mu.Unlock()
	return ok && !notNewer(last, t.ResourceVersion)
}

// forget drops what was remembered about a Tenant that left.
func (w *tenantWrites) forget(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, name)
}
