package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=silo.dev,resources=tenantclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=silo.dev,resources=tenantclasses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch;create;delete

// classIndex indexes Tenants by the class they name in spec.class.
const classIndex = "spec.class"

// TenantClassReconciler keeps a revision of each class's template and rolls the
// class's Tenants to it: it tells each Tenant which revision to run with the
// TargetRevisionAnnotation, a batch at a time, and reports the rollout in the class's
// status. The Tenant controller renders the revision a Tenant is told to run.
type TenantClassReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Config   Config
	Recorder events.EventRecorder
	// Clock tells the time for deadlines and soaks (a fake one in tests).
	Clock clock.PassiveClock

	// asked remembers the targets this process wrote until the cache shows them, so a
	// pass that runs before the watch delivers its own writes does not start a
	// second batch. A restarted operator starts with a fresh cache, which holds them.
	mu    sync.Mutex
	asked map[string]string
}

// Reconcile records the class's current revision and moves its Tenants towards it.
func (r *TenantClassReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &silov1.TenantClass{}
	if err := r.Get(ctx, req.NamespacedName, class); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !class.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("TenantClass", klog.KObj(class)))
	revision, err := revisionHash(&class.Spec.Template)
	if err != nil {
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	revs, err := r.ensureRevision(ctx, class, revision)
	if err != nil {
		return ctrl.Result{}, err
	}
	list := &silov1.TenantList{}
	if err := r.List(ctx, list, client.MatchingFields{classIndex: class.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Tenants of %s: %w", klog.KObj(class), err)
	}
	tenants := r.withOwnWrites(list.Items)
	now := r.Clock.Now()
	plan := planRollout(class, revision, tenants, now)

	var errs []error
	for _, name := range plan.assign {
		if err := r.ask(ctx, name, targetValue(revision, now)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(plan.assign) > 0 {
		ctrl.LoggerFrom(ctx).Info("moving Tenants to the current revision", "revision", revision, "tenants", plan.assign)
	}
	errs = append(errs, r.pruneRevisions(ctx, class, revs, revision, tenants))
	errs = append(errs, r.writeClassStatus(ctx, class, plan.status))
	if err := errors.Join(errs...); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: plan.requeueAfter}, nil
}

// ensureRevision creates the ControllerRevision of the class's current template when
// it is missing, and returns the class's revisions.
func (r *TenantClassReconciler) ensureRevision(ctx context.Context, class *silov1.TenantClass, revision string) ([]appsv1.ControllerRevision, error) {
	revs := &appsv1.ControllerRevisionList{}
	if err := r.List(ctx, revs, client.InNamespace(r.Config.OperatorNamespace),
		client.MatchingLabels{silov1.ClassLabel: class.Name}); err != nil {
		return nil, fmt.Errorf("listing revisions of %s: %w", klog.KObj(class), err)
	}
	var number int64
	for i := range revs.Items {
		cr := &revs.Items[i]
		if cr.Name == revisionName(class.Name, revision) && metav1.IsControlledBy(cr, class) {
			return revs.Items, nil
		}
		number = max(number, cr.Revision)
	}
	cr, err := buildRevision(class, revision, number+1, r.Config.OperatorNamespace)
	if err != nil {
		return nil, reconcile.TerminalError(err)
	}
	switch err := r.Create(ctx, cr); {
	case apierrors.IsAlreadyExists(err):
		// Our cache lags, or a revision of an earlier class of the same name is left
		// for the garbage collector: the next pass sees which.
		return nil, fmt.Errorf("revision %s of %s exists but is not in the cache yet", cr.Name, klog.KObj(class))
	case err != nil:
		return nil, fmt.Errorf("creating revision %s of %s: %w", cr.Name, klog.KObj(class), err)
	}
	ctrl.LoggerFrom(ctx).Info("new revision", "revision", revision, "number", cr.Revision)
	if r.Recorder != nil {
		r.Recorder.Eventf(class, nil, "Normal", "NewRevision", "Revise", "revision %s (number %d) of the template", revision, cr.Revision)
	}
	return append(revs.Items, *cr), nil
}

// ask tells a Tenant to run a revision, with a merge patch of one annotation.
func (r *TenantClassReconciler) ask(ctx context.Context, name, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		silov1.TargetRevisionAnnotation: value,
	}}})
	if err != nil {
		return err
	}
	t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := r.Patch(ctx, t, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("asking Tenant %s to move: %w", name, err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked == nil {
		r.asked = map[string]string{}
	}
	r.asked[name] = value
	return nil
}

// withOwnWrites returns the Tenants as the cache holds them, with the targets this
// process wrote and the cache does not show yet.
func (r *TenantClassReconciler) withOwnWrites(tenants []silov1.Tenant) []silov1.Tenant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]silov1.Tenant, len(tenants))
	for i := range tenants {
		out[i] = tenants[i]
		want, ok := r.asked[tenants[i].Name]
		if !ok {
			continue
		}
		if tenants[i].Annotations[silov1.TargetRevisionAnnotation] == want {
			delete(r.asked, tenants[i].Name)
			continue
		}
		t := tenants[i].DeepCopy()
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[silov1.TargetRevisionAnnotation] = want
		out[i] = *t
	}
	return out
}

// pruneRevisions deletes revisions beyond the history limit that no Tenant runs or is
// asked to run.
func (r *TenantClassReconciler) pruneRevisions(ctx context.Context, class *silov1.TenantClass, revs []appsv1.ControllerRevision,
	current string, tenants []silov1.Tenant) error {
	inUse := map[string]bool{revisionName(class.Name, current): true}
	for i := range tenants {
		if rev := runningRevision(&tenants[i], class.Name); rev != "" {
			inUse[revisionName(class.Name, rev)] = true
		}
		if rev, _, ok := target(&tenants[i]); ok {
			inUse[revisionName(class.Name, rev)] = true
		}
	}
	for _, cr := range staleRevisions(revs, inUse) {
		if err := r.Delete(ctx, cr, client.Preconditions{UID: &cr.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old revision %s: %w", cr.Name, err)
		}
	}
	return nil
}

// writeClassStatus patches the class's status when it changed, keeping the
// conditions' transition times.
func (r *TenantClassReconciler) writeClassStatus(ctx context.Context, class *silov1.TenantClass, next silov1.TenantClassStatus) error {
	conds := append([]metav1.Condition(nil), class.Status.Conditions...)
	for _, c := range next.Conditions {
		meta.SetStatusCondition(&conds, c)
	}
	next.Conditions = conds
	if equality.Semantic.DeepEqual(class.Status, next) {
		return nil
	}
	orig := class.DeepCopy()
	class.Status = next
	if err := r.Status().Patch(ctx, class, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("writing status of %s: %w", klog.KObj(class), err))
	}
	wasPaused := meta.IsStatusConditionTrue(orig.Status.Conditions, silov1.PausedCondition)
	if p := meta.FindStatusCondition(conds, silov1.PausedCondition); p != nil && wasPaused != (p.Status == metav1.ConditionTrue) {
		ctrl.LoggerFrom(ctx).Info("rollout paused changed", "paused", p.Status, "reason", p.Reason)
		if r.Recorder != nil {
			typ := "Normal"
			if p.Status == metav1.ConditionTrue && p.Reason == silov1.TooManyFailuresReason {
				typ = "Warning"
			}
			r.Recorder.Eventf(class, nil, typ, p.Reason, "Rollout", "%s", p.Message)
		}
	}
	return nil
}

// SetupWithManager registers the controller: it watches classes, their revisions,
// and the Tenants of each class (a Tenant's status moves its class's rollout on).
func (r *TenantClassReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&silov1.TenantClass{}).
		Named("tenantclass").
		Owns(&appsv1.ControllerRevision{}).
		Watches(&silov1.Tenant{}, handler.EnqueueRequestsFromMapFunc(classesOfTenant)).
		Complete(r)
}

// classesOfTenant maps a Tenant to the class it names and the class it runs.
func classesOfTenant(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(*silov1.Tenant)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	for _, name := range []string{t.Spec.Class, t.Status.Class} {
		if name != "" && (len(out) == 0 || out[0].Name != name) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
		}
	}
	return out
}

// indexTenantsByClass lets both controllers list a class's Tenants from the cache.
func indexTenantsByClass(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &silov1.Tenant{}, classIndex,
		func(obj client.Object) []string {
			if t, ok := obj.(*silov1.Tenant); ok && t.Spec.Class != "" {
				return []string{t.Spec.Class}
			}
			return nil
		})
}
