package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// externalSecretIndex indexes Tenants by the names of their external service
// Secrets, so a Secret appearing in the operator's namespace wakes its Tenants.
const externalSecretIndex = "spec.external.secretName"

// passwordBytes is the entropy of a generated password (hex-encoded, so it is safe in
// a URL without escaping).
const passwordBytes = 24

// readWiring reads what the builders need from the cluster: the credentials of every
// managed component that has them (generating them the first time) and the Secret of
// every external one. A missing or unlabelled external Secret blocks the Tenant
// (Degraded, naming the Secret), and so does an object Silo did not create at the
// name of a component's credentials (that component is held back); the rest of the
// environment is still applied. An error reading stops no other component either: it
// is returned once every component was read.
func (r *TenantReconciler) readWiring(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	bc.Credentials = map[string]map[string][]byte{}
	bc.External = map[string]map[string][]byte{}
	bc.Held = map[string]bool{}
	var errs []error
	for i := range components {
		c := &components[i]
		if !c.enabled(t) {
			continue
		}
		if ext := c.externalService(t); ext != nil {
			data, err := r.readExternalSecret(ctx, t, c.name, ext.SecretName, obs)
			if err != nil {
				errs = append(errs, err)
			} else if data != nil {
				bc.External[c.name] = data
			}
			continue
		}
		if c.credentialUser == "" {
			continue
		}
		data, err := r.ensureCredentials(ctx, t, c)
		if err == nil {
			bc.Credentials[c.name] = data
			if c.name == QueueName {
				err = r.readQueueConfig(ctx, bc, obs.namespaceCreated)
			}
		}
		var conflict *childConflict
		switch {
		case errors.As(err, &conflict):
			bc.Held[c.name] = true
			obs.conflict(conflict)
		case err != nil:
			bc.Held[c.name] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readExternalSecret returns the data of an external component's Secret in the
// operator's namespace, or nil (and a blockage in obs) when the Tenant may not use
// it. A Secret is used only when the platform labelled it silo.dev/tenant=<Tenant>:
// the operator's namespace holds other tenants' settings and the platform's own
// Secrets, and what Silo copies, the Tenant's owners can read.
func (r *TenantReconciler) readExternalSecret(ctx context.Context, t *silov1.Tenant, component, name string, obs *observation) (map[string][]byte, error) {
	ns := r.Config.OperatorNamespace
	s, labels, err := r.readOperatorSecret(ctx, t, name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s of the external %s: %w", ns, name, component, err)
	case s == nil && labels == nil:
		obs.block(silov1.ExternalSecretMissingReason, fmt.Sprintf("the Secret %s/%s of the external %s is missing: "+
			"create it in the operator's namespace with the service's connection settings as keys (for example DATABASE_URL), "+
			"labelled %s=%s", ns, name, component, silov1.TenantLabel, t.Name))
		return nil, nil
	}
	if owner := labels[silov1.TenantLabel]; owner != t.Name {
		msg := fmt.Sprintf("the Secret %s/%s of the external %s is not labelled for this Tenant, so Silo does not use it", ns, name, component)
		if owner != "" {
			msg += fmt.Sprintf(" (it is labelled for Tenant %s)", owner)
		}
		obs.block(silov1.ExternalSecretNotLabelledReason, msg+fmt.Sprintf("; if it holds this Tenant's settings, label it: "+
			"kubectl label secret -n %s %s %s=%s", ns, name, silov1.TenantLabel, t.Name))
		return nil, nil
	}
	if len(s.Data) == 0 {
		obs.block(silov1.ExternalSecretMissingReason, fmt.Sprintf("the Secret %s/%s of the external %s has no keys: "+
			"add the service's connection settings as keys (for example DATABASE_URL)", ns, name, component))
		return nil, nil
	}
	return s.Data, nil
}

// ensureCredentials returns a component's credentials: the existing Secret's data as
// it is, or, only when there is none, newly generated ones. They are never changed
// afterwards: a regenerated database password would lock the app out of its data. A
// Secret at that name that Silo did not create (it lacks the Tenant's labels) is
// never used or adopted: ensureCredentials returns a *childConflict.
func (r *TenantReconciler) ensureCredentials(ctx context.Context, t *silov1.Tenant, c *component) (map[string][]byte, error) {
	key := client.ObjectKey{Namespace: NamespaceFor(t), Name: credentialsSecretName(c.name)}
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		// The cache holds only Silo's Secrets: a Secret someone else created at this
		// name makes the create fail, and is then read from the API server.
		s, err = r.createCredentials(ctx, t, c)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials of %s: %w", klog.KObj(t), err)
	}
	if !carriesLabels(s.Labels, commonLabels(t)) {
		return nil, &childConflict{kind: "Secret", namespace: key.Namespace, name: key.Name}
	}
	for _, k := range []string{"username", "password"} {
		if len(s.Data[k]) == 0 {
			return nil, terminal(fmt.Errorf("credentials Secret %s lacks key %q: restore it, or delete the Secret "+
				"to generate new credentials (a managed database keeps its old password)", key, k))
		}
	}
	if metav1.GetControllerOf(s) == nil {
		// Retained from an earlier Tenant of the same name: adopt it, data untouched.
		before := s.DeepCopy()
		s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{
			APIVersion: silov1.GroupVersion.String(), Kind: "Tenant", Name: t.Name, UID: t.UID,
			Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true),
		})
		if err := r.Patch(ctx, s, client.MergeFrom(before), client.FieldOwner(FieldOwner)); err != nil {
			return nil, fmt.Errorf("adopting credentials %s: %w", key, err)
		}
	}
	return s.Data, nil
}

// readQueueConfig reads what the queue's configuration is built from besides its
// credentials: the rotation's staging Secret while there is one, and the reload
// user's password from the configuration Secret as it is (generated only when there
// is no such Secret). An object Silo did not create at the configuration Secret's
// name holds the queue back (*childConflict): its pod would mount it.
func (r *TenantReconciler) readQueueConfig(ctx context.Context, bc *buildContext, inNewNamespace bool) error {
	t := bc.Tenant
	ns := NamespaceFor(t)
	staging, err := r.ownSecret(ctx, t, ns, stagingSecretName(QueueName))
	if err != nil {
		return fmt.Errorf("reading the queue's staging Secret of %s: %w", klog.KObj(t), err)
	}
	if staging != nil {
		bc.QueueStaging = staging.Data
	}
	key := client.ObjectKey{Namespace: ns, Name: configSecretName(QueueName)}
	s := &corev1.Secret{}
	err = r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) && !inNewNamespace {
		// The cache holds only Silo's Secrets, and may not have seen Silo's last
		// write yet: a new password now would lock the rotation Jobs out.
		err = r.apiReader().Get(ctx, key, s)
	}
	switch {
	case apierrors.IsNotFound(err):
		bc.QueueReloadPassword, err = newPassword()
		return err
	case err != nil:
		return fmt.Errorf("reading Secret %s: %w", key, err)
	case !carriesLabels(s.Labels, commonLabels(t)):
		return &childConflict{kind: "Secret", namespace: ns, name: key.Name}
	case len(s.Data[reloadPasswordKey]) == 0:
		bc.QueueReloadPassword, err = newPassword()
		return err
	}
	bc.QueueReloadPassword = string(s.Data[reloadPasswordKey])
	return nil
}

// createCredentials generates a component's credentials into an immutable Secret.
// It creates rather than applies: if another pass created the Secret first, the
// create fails and that Secret's data is used, so a race never overwrites a password.
func (r *TenantReconciler) createCredentials(ctx context.Context, t *silov1.Tenant, c *component) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: NamespaceFor(t), Name: stagingSecretName(c.name)}
	if err := r.Get(ctx, key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		// A rotation is in progress: it puts the credentials back from its staging
		// Secret, which holds both the old and the new ones. New ones would be wrong.
		return nil, errors.Join(err, fmt.Errorf("the credentials Secret %s is missing during a rotation of the %s: "+
			"the rotation puts it back", credentialsSecretName(c.name), c.name))
	}
	password, err := newPassword()
	if err != nil {
		return nil, err
	}
	s := credentialsSecretFor(t, c.name, credentialsSecretName(c.name), map[string][]byte{
		"username": []byte(c.credentialUser),
		"password": []byte(password),
	})
	err = r.Create(ctx, s, client.FieldOwner(FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		// The cache has not seen it yet: read it from the API server.
		existing := &corev1.Secret{}
		if err := r.apiReader().Get(ctx, client.ObjectKeyFromObject(s), existing); err != nil {
			return nil, fmt.Errorf("reading credentials %s: %w", client.ObjectKeyFromObject(s), err)
		}
		return existing, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating credentials %s of %s: %w", client.ObjectKeyFromObject(s), klog.KObj(t), err)
	}
	ctrl.LoggerFrom(ctx).Info("generated credentials", "component", c.name, "secret", s.Name)
	return s, nil
}

// apiReader reads from the API server itself, past the cache.
func (r *TenantReconciler) apiReader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

// externalSecretNames are the external service Secrets a Tenant refers to (the
// value of externalSecretIndex).
func externalSecretNames(obj client.Object) []string {
	t, ok := obj.(*silov1.Tenant)
	if !ok {
		return nil
	}
	var names []string
	for i := range components {
		c := &components[i]
		if !c.enabled(t) {
			continue
		}
		if ext := c.externalService(t); ext != nil {
			names = append(names, ext.SecretName)
		}
	}
	return names
}

// tenantsForExternalSecret maps a Secret in the operator's namespace to the Tenants
// that use it as an external service's settings.
func (r *TenantReconciler) tenantsForExternalSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.tenantsUsingSecret(ctx, obj, externalSecretIndex)
}

// tenantsUsingSecret maps a Secret in the operator's namespace to the Tenants that
// name it, by a Tenant index of Secret names.
func (r *TenantReconciler) tenantsUsingSecret(ctx context.Context, obj client.Object, index string) []reconcile.Request {
	if obj.GetNamespace() != r.Config.OperatorNamespace {
		return nil
	}
	list := &silov1.TenantList{}
	if err := r.List(ctx, list, client.MatchingFields{index: obj.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Tenants that use a Secret", "index", index, "secret", klog.KObj(obj))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// readOperatorSecret reads a Secret of the operator's namespace that a Tenant names.
// It returns the Secret when it is labelled for the Tenant; else its labels only
// (nil Secret), or neither when it is missing. The cache holds only the Secrets
// labelled for some Tenant: an unlabelled one is looked up past it, metadata alone,
// to tell it from a missing one.
func (r *TenantReconciler) readOperatorSecret(ctx context.Context, t *silov1.Tenant, name string) (*corev1.Secret, map[string]string, error) {
	key := client.ObjectKey{Namespace: r.Config.OperatorNamespace, Name: name}
	s := &corev1.Secret{}
	switch err := r.Get(ctx, key, s); {
	case err == nil:
		if s.Labels[silov1.TenantLabel] != t.Name {
			return nil, map[string]string{silov1.TenantLabel: s.Labels[silov1.TenantLabel]}, nil
		}
		return s, s.Labels, nil
	case !apierrors.IsNotFound(err):
		return nil, nil, err
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	switch err := r.apiReader().Get(ctx, key, m); {
	case apierrors.IsNotFound(err):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	labels := m.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	if labels[silov1.TenantLabel] != t.Name {
		return nil, labels, nil
	}
	// Labelled, and the cache has not caught up yet.
	if err := r.apiReader().Get(ctx, key, s); err != nil {
		return nil, nil, err
	}
	return s, labels, nil
}
