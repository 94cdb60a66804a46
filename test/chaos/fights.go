package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// fighterUser is the second writer: another controller, a cluster admin with kubectl,
// anyone the guardrail policies do not stop (the chaos control plane runs without
// them, as a cluster that exempts that writer would).
const fighterUser = "chaos-fighter"

// fightKind is one edit the second writer makes to a field Silo owns.
type fightKind struct {
	// what the second writer does, for the report.
	what string
	// resource is the object's resource in the audit log.
	resource string
	// object returns the object to fight over, empty but for its key.
	object func(ns string) client.Object
	// patch is the edit, a JSON patch.
	patch string
	// field returns the value fought over, as JSON.
	field func(client.Object) string
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fightKinds are the edits: each changes something a tenant admin or a careless
// controller would want changed, and Silo must put back.
var fightKinds = []fightKind{
	{
		what: "scales the workers Deployment to 0", resource: "deployments",
		object: func(ns string) client.Object {
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.WorkersName}}
		},
		patch: `[{"op":"replace","path":"/spec/replicas","value":0}]`,
		field: func(o client.Object) string { return jsonOf(o.(*appsv1.Deployment).Spec.Replicas) },
	},
	{
		what: "swaps the app's image", resource: "deployments",
		object: func(ns string) client.Object {
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.AppName}}
		},
		patch: `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"chaos.invalid/hijack:1"}]`,
		field: func(o client.Object) string { return o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image },
	},
	{
		what: "raises the pods quota", resource: "resourcequotas",
		object: func(ns string) client.Object {
			return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.QuotaName}}
		},
		patch: `[{"op":"add","path":"/spec/hard/pods","value":"10000"}]`,
		field: func(o client.Object) string { return jsonOf(o.(*corev1.ResourceQuota).Spec.Hard) },
	},
	{
		what: "adds a rule to the owners' Role", resource: "roles",
		object: func(ns string) client.Object {
			return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.OwnerRoleName}}
		},
		patch: `[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["resourcequotas"],"verbs":["update"]}}]`,
		field: func(o client.Object) string { return jsonOf(o.(*rbacv1.Role).Rules) },
	},
	{
		what: "opens allow-same-namespace to every namespace", resource: "networkpolicies",
		object: func(ns string) client.Object {
			return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.NetpolAllowNamespace}}
		},
		patch: `[{"op":"replace","path":"/spec/ingress/0/from/0","value":{"namespaceSelector":{}}}]`,
		field: func(o client.Object) string { return jsonOf(o.(*networkingv1.NetworkPolicy).Spec.Ingress) },
	},
}

// fightPlan is one round: which Tenant's child, which edit, and how long after the
// chaos began.
type fightPlan struct {
	tenant string
	kind   int
	after  time.Duration
}

// fightResult is what one round saw.
type fightResult struct {
	fightPlan
	namespace, name string
	won             bool
	editAt, endAt   time.Time
	// writes are the operator's writes to the object between the edit and the repair.
	writes int
	err    error
}

// fighter is the second writer.
type fighter struct {
	c     client.Client // as fighterUser
	admin client.Client
	// settled reports whether every Tenant has converged since the chaos ended and
	// the operator has nothing to do: an edit still in place then is one Silo will
	// never repair.
	settled func() bool
}

// retry runs f until it succeeds, ctx ends or it fails with an error that is not
// about the API server being away (restarting) or busy.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transient reports whether err says the API server is restarting, overloaded, or
// that someone wrote first.
func transient(err error) bool {
	if apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) {
		return true
	}
	_, isStatus := err.(apierrors.APIStatus)
	return !isStatus // a connection error: no answer at all
}

// round waits for the child to exist (Silo created it), makes the edit, and waits
// until Silo has put the field back (won), or until everything settled with the field
// still edited (lost).
func (f *fighter) round(ctx context.Context, p fightPlan) fightResult {
	kind := fightKinds[p.kind]
	obj := kind.object(controllers.NamespacePrefix + p.tenant)
	res := fightResult{fightPlan: p, namespace: obj.GetNamespace(), name: obj.GetName()}
	get := func() error { return f.admin.Get(ctx, client.ObjectKeyFromObject(obj), obj) }
	for {
		err := retry(ctx, get)
		if err == nil {
			break
		}
		if !apierrors.IsNotFound(err) {
			res.err = err
			return res
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := kind.field(obj)
	res.editAt = time.Now()
	edit := func() error {
		return f.c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, []byte(kind.patch)), client.FieldOwner(fighterUser))
	}
	if err := retry(ctx, edit); err != nil {
		res.err = fmt.Errorf("editing %s/%s: %w", res.namespace, res.name, err)
		return res
	}
	if kind.field(obj) == before {
		res.err = fmt.Errorf("the edit of %s/%s changed nothing", res.namespace, res.name)
		return res
	}
	for {
		if err := retry(ctx, get); err != nil {
			res.err = err
			return res
		}
		if kind.field(obj) == before {
			res.won, res.endAt = true, time.Now()
			return res
		}
		if f.settled() {
			// One more look: the repair may have landed while the operator went idle.
			if err := retry(ctx, get); err == nil && kind.field(obj) == before {
				res.won = true
			}
			res.endAt = time.Now()
			return res
		}
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// countWrites fills in each round's writes from the operator's requests.
func countWrites(results []fightResult, events []testenv.AuditEvent) {
	for i := range results {
		r := &results[i]
		for _, e := range events {
			if !testenv.IsWrite(e.Verb) || e.ObjectRef == nil || e.ObjectRef.Resource != fightKinds[r.kind].resource ||
				e.ObjectRef.Namespace != r.namespace || e.ObjectRef.Name != r.name {
				continue
			}
			if !e.Received.Before(r.editAt) && !e.Received.After(r.endAt) {
				r.writes++
			}
		}
	}
}
