package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// resolveClass returns the Tenant as the rest of the pass builds it: for a Tenant of a
// class, a copy whose spec is the effective spec of the revision it runs (obs says
// which); a Tenant without a class as it is. It returns nil when the pass must change
// nothing (an unknown class, a revision that is gone, an incomplete spec), with the
// reason in obs.blocked.
func (r *TenantReconciler) resolveClass(ctx context.Context, t *silov1.Tenant, obs *observation) (*silov1.Tenant, error) {
	if t.Spec.Class == "" {
		return t, nil
	}
	class := &silov1.TenantClass{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.Class}, class); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading TenantClass %s of %s: %w", t.Spec.Class, klog.KObj(t), err)
		}
		obs.blocked = &blockage{reason: silov1.ClassNotFoundReason, message: fmt.Sprintf(
			"TenantClass %q does not exist: create it or change spec.class; nothing is changed until then", t.Spec.Class)}
		return nil, nil
	}
	revision, template, err := r.classRevision(ctx, t, class)
	if err != nil {
		return nil, err
	}
	if template == nil {
		obs.blocked = &blockage{reason: silov1.ClassNotFoundReason, message: fmt.Sprintf(
			"revision %s of TenantClass %q, which the Tenant runs, is gone (its ControllerRevision %s/%s was deleted): "+
				"the Tenant keeps what it has until the class's rollout moves it to the current revision",
			revision, class.Name, r.Config.OperatorNamespace, revisionName(class.Name, revision))}
		return nil, nil
	}
	spec, err := effectiveSpec(template, &t.Spec)
	if err != nil {
		return nil, reconcile.TerminalError(fmt.Errorf("merging TenantClass %s into %s: %w", class.Name, klog.KObj(t), err))
	}
	eff := t.DeepCopy()
	eff.Spec = spec
	if msg := incompleteSpec(t, &spec); msg != "" {
		obs.blocked = &blockage{reason: silov1.IncompleteSpecReason, message: msg + "; nothing is changed until then"}
		return nil, nil
	}
	obs.class, obs.classRevision = class.Name, revision
	return eff, nil
}

// classRevision chooses the revision of its class the Tenant runs in this pass and
// returns its template: the one the class's rollout asks for; else the one it runs
// (a Tenant that has not moved renders its revision exactly, from the revision's
// ControllerRevision); else, for a Tenant joining the class, the current template.
// The template is nil when the revision the Tenant runs is gone.
func (r *TenantReconciler) classRevision(ctx context.Context, t *silov1.Tenant, class *silov1.TenantClass) (string, *silov1.TenantSpec, error) {
	current, err := revisionHash(&class.Spec.Template)
	if err != nil {
		return "", nil, reconcile.TerminalError(err)
	}
	running := runningRevision(t, class.Name)
	var candidates []string
	if tgt, _, ok := target(t); ok && t.Spec.ClassUpdatePolicy != silov1.ClassUpdateManual {
		candidates = append(candidates, tgt)
	}
	if running != "" {
		candidates = append(candidates, running)
	} else {
		candidates = append(candidates, current)
	}
	for i, rev := range candidates {
		if rev == current {
			return rev, &class.Spec.Template, nil
		}
		cr := &appsv1.ControllerRevision{}
		err := r.Get(ctx, client.ObjectKey{Namespace: r.Config.OperatorNamespace, Name: revisionName(class.Name, rev)}, cr)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && !ownedByClass(cr, class)):
			if i == len(candidates)-1 {
				return rev, nil, nil
			}
		case err != nil:
			return "", nil, fmt.Errorf("reading revision %s of TenantClass %s: %w", rev, class.Name, err)
		default:
			spec, err := revisionTemplate(cr)
			if err != nil {
				return "", nil, reconcile.TerminalError(err)
			}
			return rev, spec, nil
		}
	}
	return "", nil, nil
}

// ownedByClass reports whether a revision belongs to this class (not to an earlier
// class of the same name that the garbage collector has not cleaned up yet).
func ownedByClass(cr *appsv1.ControllerRevision, class *silov1.TenantClass) bool {
	for _, ref := range cr.OwnerReferences {
		if ref.UID == class.UID {
			return true
		}
	}
	return false
}

// tenantsWaitingForClass maps a class to its Tenants that wait for it: those blocked
// because it did not exist, and those joining it. Tenants that run a revision of it
// move only when the class's rollout asks them, through their annotation.
func (r *TenantReconciler) tenantsWaitingForClass(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &silov1.TenantList{}
	if err := r.List(ctx, list, client.MatchingFields{classIndex: obj.GetName()}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		t := &list.Items[i]
		degraded := meta.FindStatusCondition(t.Status.Conditions, silov1.DegradedCondition)
		waiting := t.Status.Class != t.Spec.Class ||
			(degraded != nil && degraded.Reason == silov1.ClassNotFoundReason)
		if waiting {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: t.Name}})
		}
	}
	return out
}
