package testenv

import (
	"context"
	"fmt"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/silo-dev/silo/controllers"
)

// The operator's identity when it runs as the chart's ServiceAccount silo in
// silo-system. The admission policies in config/policies name this user.
const OperatorUsername = "system:serviceaccount:silo-system:silo"

// OperatorGroups are the groups the API server gives that ServiceAccount.
var OperatorGroups = []string{"system:serviceaccounts", "system:serviceaccounts:silo-system", "system:authenticated"}

// operatorBindingName names the bindings GrantOperatorRBAC creates.
const operatorBindingName = "silo-manager-test"

// GrantOperatorRBAC creates the operator's generated RBAC (config/rbac/role.yaml) and
// binds it to OperatorUsername, nothing more: an operator that runs with it proves
// that what `make manifests` generates is enough.
func GrantOperatorRBAC(ctx context.Context, c client.Client) error {
	objs, err := ReadObjects(filepath.Join(RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return err
	}
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: OperatorUsername}
	for _, obj := range objs {
		if err := createOrReplace(ctx, c, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: obj.GetKind(), Name: obj.GetName()}
		var binding client.Object
		switch obj.GetKind() {
		case "ClusterRole":
			binding = &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: operatorBindingName + "-" + obj.GetName()},
				RoleRef:    ref, Subjects: []rbacv1.Subject{subject},
			}
		case "Role":
			binding = &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: operatorBindingName + "-" + obj.GetName(), Namespace: obj.GetNamespace()},
				RoleRef:    ref, Subjects: []rbacv1.Subject{subject},
			}
		default:
			return fmt.Errorf("unexpected %s %s in role.yaml", obj.GetKind(), obj.GetName())
		}
		if err := c.Create(ctx, binding); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("binding %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

// OperatorConfig returns a rest config authenticated as the operator's ServiceAccount
// (a real, non-admin identity: RBAC and admission treat it as they would in a
// cluster).
func (e *Env) OperatorConfig() (*rest.Config, error) {
	_, cfg, err := e.User(OperatorUsername, OperatorGroups...)
	return cfg, err
}

// StartOperator grants the operator its generated RBAC and starts the manager as the
// operator's ServiceAccount.
func (e *Env) StartOperator(ctx context.Context, cfg controllers.Config, concurrency int) (*Manager, error) {
	if err := GrantOperatorRBAC(ctx, e.Client); err != nil {
		return nil, err
	}
	restCfg, err := e.OperatorConfig()
	if err != nil {
		return nil, err
	}
	return StartManager(restCfg, cfg, concurrency)
}
