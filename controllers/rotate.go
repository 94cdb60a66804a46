package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Reasons of the rotation's events. A failure is the Degraded reason RotationFailed,
// whose event the status change records.
const (
	RotationStartedEventReason   = "RotationStarted"
	RotationSucceededEventReason = "RotationSucceeded"
)

// maxRotationActions bounds the actions one pass takes for one rotation: a pass goes
// on after an action that only changes the phase, and stops after a write (the
// cache has not seen it yet; its watch event brings the next pass).
const maxRotationActions = 4

// reconcileRotations acts on the silo.dev/rotate-credentials annotation and moves
// every rotation in progress one step on. It runs after the workloads are applied,
// so it can tell whether the app and the workers have rolled to the new settings. A
// value is acted on once (status.credentials.request); a new one waits while a
// rotation is in progress.
func (r *TenantReconciler) reconcileRotations(ctx context.Context, bc *buildContext, obs *observation) error {
	t := bc.Tenant
	st := &silov1.CredentialsStatus{}
	if t.Status.Credentials != nil {
		st = t.Status.Credentials.DeepCopy()
	}
	req := t.Annotations[silov1.RotateCredentialsAnnotation]
	if req != "" && req != st.Request && !rotationInProgress(st) {
		services, err := parseRotationRequest(t, req)
		if err != nil {
			obs.block(silov1.RotationRefusedReason, err.Error())
		} else {
			st.Request = req
			now := r.statusNow()
			for _, s := range services {
				setRotation(st, silov1.CredentialRotation{Service: s, Request: req, Phase: silov1.RotationApplying,
					StartTime: &now, Message: "giving the " + s + " the new password beside the old one"})
			}
			ctrl.LoggerFrom(ctx).Info("rotating credentials", "services", services, "request", req)
			r.event(t, corev1.EventTypeNormal, RotationStartedEventReason, "Rotate", "rotating the credentials of %s (request %q)",
				strings.Join(services, ", "), req)
		}
	}
	var errs []error
	for i := range st.Rotations {
		rot := &st.Rotations[i]
		if err := r.advanceRotation(ctx, bc, rot); err != nil {
			errs = append(errs, fmt.Errorf("rotating the credentials of the %s of %s: %w", rot.Service, klog.KObj(t), err))
		}
		if rot.Phase == silov1.RotationFailed && rot.Request == req {
			obs.block(silov1.RotationFailedReason, rot.Message)
		}
	}
	if st.Request != "" || len(st.Rotations) > 0 {
		obs.credentials = st
	}
	return errors.Join(errs...)
}

// parseRotationRequest returns the services an annotation value names, or an error
// that says what to write instead.
func parseRotationRequest(t *silov1.Tenant, req string) ([]string, error) {
	usage := fmt.Sprintf("set it to a comma list of database, cache and queue, for example "+
		"`kubectl annotate --overwrite tenant %s %s=database`", t.Name, silov1.RotateCredentialsAnnotation)
	if len(req) > 253 {
		return nil, fmt.Errorf("the %s annotation is longer than 253 characters: %s", silov1.RotateCredentialsAnnotation, usage)
	}
	list, _, _ := strings.Cut(req, "@")
	var services []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		switch {
		case rotators[s] == nil:
			return nil, fmt.Errorf("the %s annotation names %q, which has no credentials Silo rotates: %s",
				silov1.RotateCredentialsAnnotation, s, usage)
		case rotators[s].service.spec(t) == nil:
			return nil, fmt.Errorf("the Tenant has no %s to rotate the credentials of: %s", s, usage)
		case rotators[s].service.spec(t).external != nil:
			return nil, fmt.Errorf("the %s is external: its credentials are the platform's; rotate them at the service "+
				"and update its Secret in the operator's namespace", s)
		}
		if !slices.Contains(services, s) {
			services = append(services, s)
		}
	}
	slices.Sort(services)
	return services, nil
}

// rotationInProgress reports whether a rotation has not finished yet.
func rotationInProgress(st *silov1.CredentialsStatus) bool {
	for _, r := range st.Rotations {
		if r.Phase != silov1.RotationSucceeded && r.Phase != silov1.RotationFailed {
			return true
		}
	}
	return false
}

// setRotation records a service's rotation, in place of its last one.
func setRotation(st *silov1.CredentialsStatus, rot silov1.CredentialRotation) {
	for i := range st.Rotations {
		if st.Rotations[i].Service == rot.Service {
			st.Rotations[i] = rot
			return
		}
	}
	st.Rotations = append(st.Rotations, rot)
	slices.SortFunc(st.Rotations, func(a, b silov1.CredentialRotation) int { return strings.Compare(a.Service, b.Service) })
}

// rotationObjects are the objects a rotation's next action reads and writes.
type rotationObjects struct {
	staging, current *corev1.Secret
}

// advanceRotation takes the next actions of one rotation.
func (r *TenantReconciler) advanceRotation(ctx context.Context, bc *buildContext, rot *silov1.CredentialRotation) error {
	for range maxRotationActions {
		v, objs, err := r.viewRotation(ctx, bc, rot)
		if err != nil {
			return err
		}
		action := nextRotationAction(v)
		if action == rotationNone || action == rotationWait {
			return nil
		}
		ctrl.LoggerFrom(ctx).V(1).Info("rotation step", "service", rot.Service, "phase", rot.Phase, "action", action)
		wrote, err := r.takeRotationAction(ctx, bc, rot, action, v, objs)
		if err != nil || wrote {
			return err
		}
	}
	return nil
}

// viewRotation reads what the state machine decides on.
func (r *TenantReconciler) viewRotation(ctx context.Context, bc *buildContext, rot *silov1.CredentialRotation) (rotationView, rotationObjects, error) {
	t := bc.Tenant
	v := rotationView{phase: rot.Phase}
	var objs rotationObjects
	if v.phase == silov1.RotationSucceeded || v.phase == silov1.RotationFailed {
		return v, objs, nil
	}
	ns := NamespaceFor(t)
	var err error
	if objs.staging, err = r.ownSecret(ctx, t, ns, stagingSecretName(rot.Service)); err != nil {
		return v, objs, err
	}
	if objs.current, err = r.ownSecret(ctx, t, ns, credentialsSecretName(rot.Service)); err != nil {
		return v, objs, err
	}
	v.staged = objs.staging != nil
	v.stagedForRequest = v.staged && objs.staging.Annotations[silov1.RotationRequestAnnotation] == rot.Request
	v.credentials = compareCredentials(objs.current, objs.staging)
	if v.apply, err = r.jobState(ctx, ns, rotationJobName(rot.Service, applyStep, rot.Request)); err != nil {
		return v, objs, err
	}
	if v.retire, err = r.jobState(ctx, ns, rotationJobName(rot.Service, retireStep, rot.Request)); err != nil {
		return v, objs, err
	}
	if v.phase == silov1.RotationRollingOut {
		if v.rolledOut, err = r.rolledOut(ctx, bc); err != nil {
			return v, objs, err
		}
	}
	return v, objs, nil
}

// takeRotationAction takes one action; wrote says it wrote to the cluster.
func (r *TenantReconciler) takeRotationAction(ctx context.Context, bc *buildContext, rot *silov1.CredentialRotation,
	action rotationAction, v rotationView, objs rotationObjects) (wrote bool, err error) {
	t := bc.Tenant
	switch action {
	case rotationStage:
		if objs.current == nil {
			return false, fmt.Errorf("the credentials Secret %s is missing", credentialsSecretName(rot.Service))
		}
		user := rotators[rot.Service].newUser(string(objs.current.Data["username"]))
		rot.User = user
		return true, r.createStaging(ctx, t, rot, objs.current, user)
	case rotationUnstage:
		return true, r.deleteSecret(ctx, objs.staging)
	case rotationRunApply, rotationRunRetire:
		step := applyStep
		if action == rotationRunRetire {
			step = retireStep
			rot.Phase = silov1.RotationRetiring
			rot.Message = "taking the old password away"
		}
		return true, r.applyDataChild(ctx, buildRotationJob(bc, rot.Service, step, rot.Request))
	case rotationRestorePrevious, rotationRestoreNew:
		user, pass := objs.staging.Data[previousUserKey], objs.staging.Data[previousPasswordKey]
		if action == rotationRestoreNew {
			user, pass = objs.staging.Data["username"], objs.staging.Data["password"]
		}
		return true, r.createCredentialsSecret(ctx, t, rot.Service, user, pass)
	case rotationSwap:
		// The credentials Secret is immutable: it is replaced. Should the operator
		// stop between the two writes, the next pass restores it from the staging
		// Secret (RestoreNew), never generates one.
		if err := r.deleteSecret(ctx, objs.current); err != nil {
			return true, err
		}
		ctrl.LoggerFrom(ctx).Info("switching to the new credentials", "service", rot.Service)
		return true, r.createCredentialsSecret(ctx, t, rot.Service, objs.staging.Data["username"], objs.staging.Data["password"])
	case rotationRollOut:
		rot.Phase = silov1.RotationRollingOut
		rot.Message = "waiting for the app and the workers to roll to the new credentials; the old ones still work"
		return false, nil
	case rotationFinish:
		if err := r.deleteSecret(ctx, objs.staging); err != nil {
			return true, err
		}
		r.succeedRotation(t, rot)
		return true, nil
	case rotationSucceed:
		r.succeedRotation(t, rot)
		return false, nil
	case rotationFail:
		now := r.statusNow()
		rot.Phase, rot.CompletionTime = silov1.RotationFailed, &now
		rot.Message = rotationFailure(t, rot, v)
		// The Degraded condition it causes records the Warning event (reconcile_events.go).
		return false, nil
	}
	return false, nil
}

// succeedRotation records a rotation's success.
func (r *TenantReconciler) succeedRotation(t *silov1.Tenant, rot *silov1.CredentialRotation) {
	now := r.statusNow()
	rot.Phase, rot.CompletionTime, rot.Message = silov1.RotationSucceeded, &now, ""
	r.event(t, corev1.EventTypeNormal, RotationSucceededEventReason, "Rotate",
		"the %s's credentials were rotated (request %q): only the new password works", rot.Service, rot.Request)
}

// rotationFailure says why a rotation failed and what to do.
func rotationFailure(t *silov1.Tenant, rot *silov1.CredentialRotation, v rotationView) string {
	ns := NamespaceFor(t)
	retry := fmt.Sprintf("set %s to a new value to try again (for example %s@2), or remove it",
		silov1.RotateCredentialsAnnotation, rot.Request)
	switch {
	case v.apply == jobStateFailed && v.phase == silov1.RotationApplying:
		return fmt.Sprintf("rotating the %s's credentials failed: Job %s could not give it the new password "+
			"(see `kubectl logs -n %s job/%s`); the credentials in use are unchanged; %s",
			rot.Service, rotationJobName(rot.Service, applyStep, rot.Request), ns, rotationJobName(rot.Service, applyStep, rot.Request), retry)
	case v.retire == jobStateFailed:
		return fmt.Sprintf("rotating the %s's credentials failed at the last step: Job %s could not take the old password "+
			"away (see `kubectl logs -n %s job/%s`); the app uses the new password and the old one still works; %s",
			rot.Service, rotationJobName(rot.Service, retireStep, rot.Request), ns, rotationJobName(rot.Service, retireStep, rot.Request), retry)
	case v.credentials == credentialsOther:
		return fmt.Sprintf("rotating the %s's credentials stopped: the Secret %s holds neither the old nor the new "+
			"credentials (someone replaced it); the staging Secret %s holds both: put the right ones back, then %s",
			rot.Service, credentialsSecretName(rot.Service), stagingSecretName(rot.Service), retry)
	default:
		return fmt.Sprintf("rotating the %s's credentials stopped: the staging Secret %s that held the new and the old "+
			"credentials was deleted or replaced; the Secret %s is what the app uses; %s",
			rot.Service, stagingSecretName(rot.Service), credentialsSecretName(rot.Service), retry)
	}
}

// compareCredentials says which credentials current holds.
func compareCredentials(current, staging *corev1.Secret) credentialsState {
	switch {
	case current == nil:
		return credentialsMissing
	case staging == nil:
		return credentialsPrevious
	}
	same := func(userKey, passKey string) bool {
		return string(current.Data["username"]) == string(staging.Data[userKey]) &&
			string(current.Data["password"]) == string(staging.Data[passKey])
	}
	switch {
	case same("username", "password"):
		return credentialsNew
	case same(previousUserKey, previousPasswordKey):
		return credentialsPrevious
	}
	return credentialsOther
}

// ownSecret reads a Secret of the Tenant's namespace that Silo created (nil when
// missing). One Silo did not create is an error: it is neither read nor replaced.
func (r *TenantReconciler) ownSecret(ctx context.Context, t *silov1.Tenant, ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if !carriesLabels(s.Labels, commonLabels(t)) {
		return nil, fmt.Errorf("the Secret %s/%s was not created by Silo", ns, name)
	}
	return s, nil
}

// jobState reads what a Job reports.
func (r *TenantReconciler) jobState(ctx context.Context, ns, name string) (jobState, error) {
	j := &batchv1.Job{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, j); err != nil {
		if apierrors.IsNotFound(err) {
			return jobStateAbsent, nil
		}
		return "", err
	}
	switch {
	case jobSucceeded(j):
		return jobStateSucceeded, nil
	case jobFinished(j):
		return jobStateFailed, nil
	}
	return jobStateRunning, nil
}

// rolledOut reports whether the app and the workers run, every replica, on the
// connection settings built from the current credentials.
func (r *TenantReconciler) rolledOut(ctx context.Context, bc *buildContext) (bool, error) {
	want := settingsHash(settingsData(bc))
	for _, name := range []string{AppName, WorkersName} {
		if c := componentNamed(name); c == nil || !c.enabled(bc.Tenant) {
			continue
		}
		d := &appsv1.Deployment{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(bc.Tenant), Name: name}, d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if !deploymentRolledTo(d, want) {
			return false, nil
		}
	}
	return true, nil
}

// deploymentRolledTo reports whether every pod of d runs the template whose settings
// hash is want: no pod of an older template is left.
func deploymentRolledTo(d *appsv1.Deployment, want string) bool {
	n := ptr.Deref(d.Spec.Replicas, 1)
	s := d.Status
	return d.Spec.Template.Annotations[SettingsHashAnnotation] == want && s.ObservedGeneration >= d.Generation &&
		s.UpdatedReplicas >= n && s.Replicas == s.UpdatedReplicas && s.AvailableReplicas >= n
}

// componentNamed returns the component of that name.
func componentNamed(name string) *component {
	for i := range components {
		if components[i].name == name {
			return &components[i]
		}
	}
	return nil
}

// createStaging creates the staging Secret: the new credentials and the ones in use.
// It is created, never applied: if it already exists (a pass before a restart
// created it), that one is kept, so a rotation never has two new passwords.
func (r *TenantReconciler) createStaging(ctx context.Context, t *silov1.Tenant, rot *silov1.CredentialRotation,
	current *corev1.Secret, user string) error {
	password, err := newPassword()
	if err != nil {
		return err
	}
	s := credentialsSecretFor(t, rot.Service, stagingSecretName(rot.Service), map[string][]byte{
		"username":          []byte(user),
		"password":          []byte(password),
		previousUserKey:     current.Data["username"],
		previousPasswordKey: current.Data["password"],
	})
	s.Annotations = map[string]string{silov1.RotationRequestAnnotation: rot.Request}
	if err := r.Create(ctx, s, client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the staging Secret %s: %w", client.ObjectKeyFromObject(s), err)
	}
	return nil
}

// createCredentialsSecret creates a component's credentials Secret with the given
// credentials (a create: an existing Secret is never overwritten).
func (r *TenantReconciler) createCredentialsSecret(ctx context.Context, t *silov1.Tenant, component string, user, password []byte) error {
	s := credentialsSecretFor(t, component, credentialsSecretName(component),
		map[string][]byte{"username": user, "password": password})
	if err := r.Create(ctx, s, client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating credentials %s: %w", client.ObjectKeyFromObject(s), err)
	}
	return nil
}

// deleteSecret deletes exactly that Secret (not a newer one at its name).
func (r *TenantReconciler) deleteSecret(ctx context.Context, s *corev1.Secret) error {
	if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Secret %s: %w", client.ObjectKeyFromObject(s), err)
	}
	return nil
}

// credentialsSecretFor returns an immutable Secret of a component's credentials,
// labelled and owned like every child.
func credentialsSecretFor(t *silov1.Tenant, component, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: NamespaceFor(t),
			Labels:    componentLabels(t, component),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: silov1.GroupVersion.String(), Kind: "Tenant", Name: t.Name, UID: t.UID,
				Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true),
			}},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptrTo(true),
		Data:      data,
	}
}

// newPassword returns a random password (hex, so it is safe in a URL unescaped).
func newPassword() (string, error) {
	raw := make([]byte, passwordBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return hex.EncodeToString(raw), nil
}

// statusNow is the time for status, from the operator's clock, to the second as the
// API server keeps it.
func (r *TenantReconciler) statusNow() metav1.Time {
	return metav1.NewTime(r.now()).Rfc3339Copy()
}
