package controllers

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// desiredChildren returns what one pass sends for a Tenant that has everything, by
// "Kind/name", as the applier sees it (with the spec hash).
func desiredChildren(tb testing.TB) map[string]*unstructured.Unstructured {
	tb.Helper()
	tn := fullTestTenant()
	tn.Spec.App.Env = []corev1.EnvVar{{Name: "ALPHA", Value: "1"}, {Name: "BETA", Value: "2"}}
	tn.Spec.Owners = []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: "acme-admins"}}
	bc := testContext(tn)
	all := append([]runtime.ApplyConfiguration{buildNamespace(tn, bc.Config)}, buildIsolation(bc)...)
	all = append(all, buildWorkloads(bc)...)
	out := map[string]*unstructured.Unstructured{}
	for _, ac := range all {
		u, err := withSpecHash(ac)
		if err != nil {
			tb.Fatal(err)
		}
		out[u.GetKind()+"/"+u.GetName()] = u
	}
	return out
}

// liveFrom decodes what Silo sends into the typed object the informer cache would
// hand back, as if the API server had stored it unchanged.
func liveFrom(tb testing.TB, u *unstructured.Unstructured) client.Object {
	tb.Helper()
	raw, err := json.Marshal(u.Object)
	if err != nil {
		tb.Fatal(err)
	}
	o, err := NewScheme().New(u.GroupVersionKind())
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, o); err != nil {
		tb.Fatal(err)
	}
	return o.(client.Object)
}

// TestIsAppliedSeesEveryDriftInWhatSiloSets proves the skip-if-unchanged comparison:
// any change to a field Silo sends, whatever its value ({} included), needs a write;
// what other managers add beside Silo's fields, or a list of Silo's keyed entries in
// another order, does not.
func TestIsAppliedSeesEveryDriftInWhatSiloSets(t *testing.T) {
	desired := desiredChildren(t)
	for key, u := range desired {
		t.Run("unchanged "+key, func(t *testing.T) {
			applied, err := isApplied(u.Object, liveFrom(t, u))
			if err != nil {
				t.Fatal(err)
			}
			if !applied {
				t.Errorf("%s as Silo sends it is not seen as applied: every pass would write it", key)
			}
		})
		// The informer cache's own copy, read without a deep copy, has no apiVersion
		// and kind: the first pass after a restart must not write every child for it.
		t.Run("unchanged without its type "+key, func(t *testing.T) {
			live := liveFrom(t, u)
			live.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
			applied, err := isApplied(u.Object, live)
			if err != nil {
				t.Fatal(err)
			}
			if !applied {
				t.Errorf("%s read from the cache without its type is not seen as applied", key)
			}
		})
	}

	appContainer := func(o client.Object) *corev1.Container {
		return &o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
	}
	tests := map[string]struct {
		key     string
		edit    func(o client.Object)
		applied bool
	}{
		"a peer {podSelector: {}} edited to {namespaceSelector: {}}": {
			key: "NetworkPolicy/" + NetpolAllowNamespace,
			edit: func(o client.Object) {
				o.(*networkingv1.NetworkPolicy).Spec.Ingress[0].From[0] =
					networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}
			},
		},
		"a peer {podSelector: {}} widened with namespaceSelector: {}": {
			key: "NetworkPolicy/" + NetpolAllowNamespace,
			edit: func(o client.Object) {
				o.(*networkingv1.NetworkPolicy).Spec.Ingress[0].From[0].NamespaceSelector = &metav1.LabelSelector{}
			},
		},
		"the DNS peer's namespaceSelector given a matchExpressions": {
			key: "NetworkPolicy/" + NetpolAllowDNS,
			edit: func(o client.Object) {
				sel := o.(*networkingv1.NetworkPolicy).Spec.Egress[0].To[0].NamespaceSelector
				sel.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "x", Operator: metav1.LabelSelectorOpExists}}
			},
		},
		"the database volume's size request changed": {
			key: "StatefulSet/" + DatabaseName,
			edit: func(o client.Object) {
				vct := &o.(*appsv1.StatefulSet).Spec.VolumeClaimTemplates[0]
				vct.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1Ti")
			},
		},
		"another manager's env entry in the database, beside the API server's defaults of its volume claim template": {
			key: "StatefulSet/" + DatabaseName,
			edit: func(o client.Object) {
				sts := o.(*appsv1.StatefulSet)
				vct := &sts.Spec.VolumeClaimTemplates[0]
				vct.Status.Phase = corev1.ClaimPending
				vct.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
				c := &sts.Spec.Template.Spec.Containers[0]
				c.Env = append(c.Env, corev1.EnvVar{Name: "INJECTED", Value: "yes"})
			},
			applied: true,
		},
		"the API server's defaults in the database's volume claim template": {
			key: "StatefulSet/" + DatabaseName,
			edit: func(o client.Object) {
				vct := &o.(*appsv1.StatefulSet).Spec.VolumeClaimTemplates[0]
				vct.Status.Phase = corev1.ClaimPending
				vct.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
			},
			applied: true,
		},
		"a default deny whose podSelector {} was narrowed": {
			key: "NetworkPolicy/" + NetpolDefaultDeny,
			edit: func(o client.Object) {
				o.(*networkingv1.NetworkPolicy).Spec.PodSelector.MatchLabels = map[string]string{"some": "pods"}
			},
		},
		"an emptyDir {} swapped for a configMap volume": {
			key: "Deployment/" + AppName,
			edit: func(o client.Object) {
				v := &o.(*appsv1.Deployment).Spec.Template.Spec.Volumes[0]
				v.EmptyDir, v.ConfigMap = nil, &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}
			},
		},
		"a label value changed": {
			key:  "Namespace/tenant-acme",
			edit: func(o client.Object) { o.GetLabels()["pod-security.kubernetes.io/enforce"] = "privileged" },
		},
		"a subject added to the owners' binding": {
			key: "RoleBinding/" + OwnerRoleBindingName,
			edit: func(o client.Object) {
				rb := o.(*rbacv1.RoleBinding)
				rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"})
			},
		},
		"another manager's annotation": {
			key: "Deployment/" + AppName,
			edit: func(o client.Object) {
				metav1.SetMetaDataAnnotation(&o.(*appsv1.Deployment).ObjectMeta, "example.com/checked", "yes")
			},
			applied: true,
		},
		"another manager's toleration, where Silo sets none": {
			key: "Deployment/" + AppName,
			edit: func(o client.Object) {
				spec := &o.(*appsv1.Deployment).Spec.Template.Spec
				spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: "spot", Operator: corev1.TolerationOpExists})
			},
			applied: true,
		},
		"another manager's env entry": {
			key: "Deployment/" + AppName,
			edit: func(o client.Object) {
				c := appContainer(o)
				c.Env = append(c.Env, corev1.EnvVar{Name: "INJECTED", Value: "yes"})
			},
			applied: true,
		},
		"Silo's env entries in another order": {
			key: "Deployment/" + AppName,
			edit: func(o client.Object) {
				c := appContainer(o)
				c.Env[0], c.Env[1] = c.Env[1], c.Env[0]
			},
			applied: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u, ok := desired[tc.key]
			if !ok {
				t.Fatalf("no %s among the desired children", tc.key)
			}
			live := liveFrom(t, u)
			tc.edit(live)
			applied, err := isApplied(u.Object, live)
			if err != nil {
				t.Fatal(err)
			}
			if applied != tc.applied {
				t.Errorf("isApplied = %v, want %v", applied, tc.applied)
			}
		})
	}
}
