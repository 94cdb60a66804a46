package integration

import (
	"strings"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// fullTenant returns a Tenant with every component managed by Silo.
func fullTenant(name string) *silov1.Tenant { return testenv.FullTenant(name) }

// managedKinds are the lists of every kind Silo creates in a tenant namespace: the
// controller's own list of owned types, so a new kind is counted here at once.
func managedKinds() map[string]client.ObjectList {
	out := map[string]client.ObjectList{}
	for _, obj := range controllers.OwnedTypes() {
		gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
		Expect(err).NotTo(HaveOccurred())
		list, err := k8s.Scheme().New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		Expect(err).NotTo(HaveOccurred())
		out[gvk.Kind] = list.(client.ObjectList)
	}
	return out
}

// managedObjects returns the resourceVersion of every object Silo manages in the
// Tenant's namespace (and of the namespace), by "Kind/name".
func managedObjects(t *silov1.Tenant) map[string]string {
	ns := controllers.NamespaceFor(t)
	out := map[string]string{}
	n := &corev1.Namespace{}
	Expect(get(n, "", ns)).To(Succeed())
	out["Namespace/"+ns] = n.ResourceVersion
	for kind, list := range managedKinds() {
		Expect(k8s.List(ctx, list, client.InNamespace(ns),
			client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: t.Name})).To(Succeed())
		items, err := meta.ExtractList(list)
		Expect(err).NotTo(HaveOccurred())
		for _, o := range items {
			obj := o.(client.Object)
			out[kind+"/"+obj.GetName()] = obj.GetResourceVersion()
		}
	}
	return out
}

// countByKind counts the objects of managedObjects by kind.
func countByKind(objs map[string]string) map[string]int {
	out := map[string]int{}
	for k := range objs {
		kind, _, _ := strings.Cut(k, "/")
		out[kind]++
	}
	return out
}

// markDeploymentReady plays the Deployment controller: all replicas of the current
// generation are ready.
func markDeploymentReady(g Gomega, ns, name string) {
	d := &appsv1.Deployment{}
	g.Expect(get(d, ns, name)).To(Succeed())
	d.Status = testenv.ReadyDeploymentStatus(d)
	g.Expect(k8s.Status().Update(ctx, d)).To(Succeed())
}

// markStatefulSetReady plays the StatefulSet controller.
func markStatefulSetReady(g Gomega, ns, name string) {
	s := &appsv1.StatefulSet{}
	g.Expect(get(s, ns, name)).To(Succeed())
	s.Status = testenv.ReadyStatefulSetStatus(s)
	g.Expect(k8s.Status().Update(ctx, s)).To(Succeed())
}

// markClaimBound plays the volume binder.
func markClaimBound(g Gomega, ns, name string) {
	pvc := &corev1.PersistentVolumeClaim{}
	g.Expect(get(pvc, ns, name)).To(Succeed())
	pvc.Status.Phase = corev1.ClaimBound
	g.Expect(k8s.Status().Update(ctx, pvc)).To(Succeed())
}

// componentStatus returns the named entry of status.components.
func componentStatus(t *silov1.Tenant, name string) *silov1.ComponentStatus {
	for i := range t.Status.Components {
		if t.Status.Components[i].Name == name {
			return &t.Status.Components[i]
		}
	}
	return nil
}

// secretData reads a Secret's data.
func secretData(ns, name string) map[string][]byte {
	s := &corev1.Secret{}
	ExpectWithOffset(1, get(s, ns, name)).To(Succeed())
	return s.Data
}

// podFromTemplate returns a Pod the workload controller would create from tmpl.
func podFromTemplate(ns, name string, tmpl corev1.PodTemplateSpec) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: tmpl.Labels, Annotations: tmpl.Annotations},
		Spec:       tmpl.Spec,
	}
}

// readyCondition returns the Tenant's Ready condition.
func readyCondition(t *silov1.Tenant) *metav1.Condition {
	return meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
}

// mutateTenant changes the Tenant's spec, retrying when a status write got there first.
func mutateTenant(name string, mutate func(*silov1.Tenant)) {
	EventuallyWithOffset(1, func() error {
		t := &silov1.Tenant{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
			return err
		}
		mutate(t)
		return k8s.Update(ctx, t)
	}).Should(Succeed())
}

// settleWorkloads plays the controllers envtest does not run for every workload and
// claim of the Tenant that is not ready yet: Deployments and StatefulSets report all
// replicas of their generation ready, claims are Bound.
func settleWorkloads(g Gomega, t *silov1.Tenant) {
	ns := controllers.NamespaceFor(t)
	in := []client.ListOption{client.InNamespace(ns), client.MatchingLabels{silov1.TenantLabel: t.Name}}
	deployments := &appsv1.DeploymentList{}
	g.Expect(k8s.List(ctx, deployments, in...)).To(Succeed())
	for _, d := range deployments.Items {
		if d.Status.ObservedGeneration < d.Generation || d.Status.ReadyReplicas < ptr.Deref(d.Spec.Replicas, 1) {
			markDeploymentReady(g, ns, d.Name)
		}
	}
	sets := &appsv1.StatefulSetList{}
	g.Expect(k8s.List(ctx, sets, in...)).To(Succeed())
	for _, s := range sets.Items {
		if s.Status.ObservedGeneration < s.Generation || s.Status.ReadyReplicas < ptr.Deref(s.Spec.Replicas, 1) {
			markStatefulSetReady(g, ns, s.Name)
		}
	}
	claims := &corev1.PersistentVolumeClaimList{}
	g.Expect(k8s.List(ctx, claims, in...)).To(Succeed())
	for _, c := range claims.Items {
		if c.Status.Phase != corev1.ClaimBound {
			markClaimBound(g, ns, c.Name)
		}
	}
}
