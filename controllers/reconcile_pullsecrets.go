package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=delete

// pullSecretIndex indexes Tenants by the names of their image pull Secrets, so a
// change of a Secret in the operator's namespace wakes the Tenants that pull with it.
const pullSecretIndex = "spec.imagePullSecrets.name"

// readPullSecrets reads the Tenant's image pull Secrets from the operator's
// namespace into the build context. Only a Secret labelled silo.dev/tenant=<Tenant>
// of type kubernetes.io/dockerconfigjson is used: the label is the platform's
// statement that this credential is for this tenant (a Tenant cannot borrow another
// tenant's registry access by naming its Secret). Any other makes the Tenant
// Degraded, naming it; the rest of the environment is still applied.
func (r *TenantReconciler) readPullSecrets(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	bc.PullSecrets = map[string][]byte{}
	ns := r.Config.OperatorNamespace
	var problems []string
	for _, ref := range t.Spec.ImagePullSecrets {
		s, labels, err := r.readOperatorSecret(ctx, t, ref.Name)
		switch {
		case err != nil:
			return fmt.Errorf("reading pull Secret %s/%s of %s: %w", ns, ref.Name, klog.KObj(t), err)
		case s == nil && labels == nil:
			problems = append(problems, fmt.Sprintf("the pull Secret %s/%s is missing", ns, ref.Name))
		case s == nil:
			problems = append(problems, fmt.Sprintf("the pull Secret %s/%s is not labelled %s=%s",
				ns, ref.Name, silov1.TenantLabel, t.Name))
		case s.Type != corev1.SecretTypeDockerConfigJson || len(s.Data[corev1.DockerConfigJsonKey]) == 0:
			problems = append(problems, fmt.Sprintf("the pull Secret %s/%s is not of type %s with a %s key",
				ns, ref.Name, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey))
		default:
			bc.PullSecrets[ref.Name] = s.Data[corev1.DockerConfigJsonKey]
		}
	}
	if len(problems) > 0 {
		obs.block(silov1.PullSecretUnavailableReason, strings.Join(problems, "; ")+
			": create it in the operator's namespace as a registry credential (kubectl create secret docker-registry) "+
			"labelled "+silov1.TenantLabel+"="+t.Name+"; until then it is not copied and pods pull without it")
	}
	return nil
}

// pullSecretNames are the image pull Secrets a Tenant names (the value of
// pullSecretIndex).
func pullSecretNames(obj client.Object) []string {
	t, ok := obj.(*silov1.Tenant)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(t.Spec.ImagePullSecrets))
	for _, ref := range t.Spec.ImagePullSecrets {
		names = append(names, ref.Name)
	}
	return names
}

// tenantsForPullSecret maps a Secret in the operator's namespace to the Tenants that
// pull with it, so a changed, relabelled or deleted credential reaches their copies.
func (r *TenantReconciler) tenantsForPullSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.tenantsUsingSecret(ctx, obj, pullSecretIndex)
}
