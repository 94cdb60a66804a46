package conformance

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// Attacks 9 to 11 of the red-team round (label laundering, the operator's own token,
// managed pods) and owners' self-service (Multi-Tenancy Benchmark profile level 2).
// Every check runs twice: with the operator running, and with it stopped, since the
// guardrails are the API server's.
var _ = Describe("Owners' self-service, the managed-by label and the operator's scope", func() {
	ownersAndOperatorChecks("")
})

var _ = Describe("Owners' self-service, the managed-by label and the operator's scope, with the operator stopped", Ordered, func() {
	BeforeAll(func() {
		onEnvtest("it stops the operator the suite runs; on a cluster, scale the operator to zero and run these checks again")
		stopOperatorUntilCleanup()
	})
	ownersAndOperatorChecks("down-")
})

// bindableNamespace is a namespace whose ServiceAccounts owners may bind: the suite's
// operator is configured with it (--rolebinding-serviceaccount-namespaces).
const bindableNamespace = "conformance-ci"

func init() {
	opConfig.Guardrails.RoleBindingServiceAccountNamespaces = []string{bindableNamespace}
}

// ownersAndOperatorChecks declares the checks; p prefixes the names of what they
// create, so the two runs do not collide.
func ownersAndOperatorChecks(p string) {
	check("SILO-LBL-1", "label laundering: an owner cannot put the managed-by label in a StatefulSet's claim templates, a pod template or a pod", func() {
		sts := statefulSet(restrictedPod(nsB, "", imageB), p+"laundry")
		sts.Spec.VolumeClaimTemplates[0].Labels = map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue}
		expectPolicyRefusal(ownerB.Create(ctx, sts), "silo-tenant-managed-label",
			"may not be put on StatefulSet "+p+"laundry (its pod template or volumeClaimTemplates)", "use labels of your own")

		d := deployment(restrictedPod(nsB, "", imageB), p+"laundry")
		d.Spec.Template.Labels[silov1.ManagedByLabel] = silov1.ManagedByValue
		expectPolicyRefusal(ownerB.Create(ctx, d), "silo-tenant-managed-label", "may not be put on Deployment "+p+"laundry (its pod template)")

		pod := restrictedPod(nsB, p+"laundry", imageB)
		pod.Labels = map[string]string{silov1.ManagedByLabel: silov1.ManagedByValue}
		expectPolicyRefusal(ownerB.Create(ctx, pod), "silo-tenant-managed-label", "may not be put on Pod "+p+"laundry")

		// The same StatefulSet with labels of its own is the owner's to run.
		sts.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"app": p + "laundry"}
		Expect(ownerB.Create(ctx, sts)).To(Succeed())
	})

	check("SILO-LBL-2", "Kubernetes controllers are exempt per resource and origin: the StatefulSet controller may create a labelled claim only at a managed claim's name, and no controller may change a label", func() {
		stsController := kubernetesController(p, "statefulset-controller")
		claim := func(name, component string) *corev1.PersistentVolumeClaim {
			c := claimIn(nsB, name)
			c.Labels = map[string]string{
				silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: tenantB.Name, silov1.ComponentLabel: component,
			}
			return c
		}
		expectPolicyRefusal(stsController.Create(ctx, claim("data-laundry-0", "laundry"), client.DryRunAll),
			"silo-tenant-managed-objects", "only the operator may set it")
		expectPolicyRefusal(stsController.Create(ctx, claim("data-queue-0", "database"), client.DryRunAll),
			"silo-tenant-managed-objects", "only the operator may set it")
		other := claim("data-database-0", "database")
		other.Labels[silov1.TenantLabel] = tenantA.Name
		expectPolicyRefusal(stsController.Create(ctx, other, client.DryRunAll),
			"silo-tenant-managed-objects", "only the operator may set it")
		// Another controller may not create one even at a managed name.
		binder := kubernetesController(p, "persistent-volume-binder")
		expectPolicyRefusal(binder.Create(ctx, claim("data-database-0", "database"), client.DryRunAll),
			"silo-tenant-managed-objects", "only the operator may set it")

		// A managed StatefulSet's claim is what the StatefulSet controller makes.
		Expect(stsController.Create(ctx, claim("data-database-0", "database"), client.DryRunAll)).To(Succeed())

		// Updates keep every label, and each controller writes only its own kind.
		q := &corev1.ResourceQuota{}
		quotaController := kubernetesController(p, "resourcequota-controller")
		Expect(quotaController.Get(ctx, client.ObjectKey{Namespace: nsB, Name: controllers.QuotaName}, q)).To(Succeed())
		q.Labels["laundered"] = "yes"
		expectPolicyRefusal(quotaController.Status().Update(ctx, q, client.DryRunAll), "silo-tenant-managed-objects", "is managed by Silo")
		delete(q.Labels, "laundered")
		// The quota controller writes quota status; the StatefulSet controller does not.
		Expect(quotaController.Status().Update(ctx, q, client.DryRunAll)).To(Succeed())
		expectPolicyRefusal(stsController.Status().Update(ctx, q, client.DryRunAll), "silo-tenant-managed-objects", "is managed by Silo")
	})

	check("SILO-LBL-3", "managed pods: Silo's pod templates carry no managed-by label, so the pods an owner restarts are not passed off as Silo's", func() {
		app := &appsv1.Deployment{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: nsB, Name: controllers.AppName}, app)).To(Succeed())
		Expect(app.Labels).To(HaveKeyWithValue(silov1.ManagedByLabel, silov1.ManagedByValue), "the Deployment itself is Silo's")
		Expect(app.Spec.Template.Labels).NotTo(HaveKey(silov1.ManagedByLabel),
			"pods and ReplicaSets inherit the template's labels, and owners may delete pods")
		Expect(app.Spec.Selector.MatchLabels).NotTo(HaveKey(silov1.ManagedByLabel), "a selector cannot change on existing Deployments")

		// The pod the ReplicaSet controller makes from it is the owner's to restart.
		pods := standInForWorkloadControllers(p, nsB)
		Expect(pods).NotTo(BeEmpty())
		Expect(ownerB.Delete(ctx, pods[0])).To(Succeed())
	})

	check("SILO-OP-3", "the operator's own token: it may write only in tenant namespaces, Silo's kinds, tenant Namespaces, its own Leases and ControllerRevisions, and Events", func() {
		op := operatorIdentity(p)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: p + "stolen", Namespace: metav1.NamespaceDefault}}
		expectPolicyRefusal(op.Create(ctx, s, client.DryRunAll), "silo-operator-scope",
			"may not create secrets in namespace default", "its token is being misused")
		d := deployment(restrictedPod("kube-system", "", imageB), p+"miner")
		expectPolicyRefusal(op.Create(ctx, d, client.DryRunAll), "silo-operator-scope", "may not create deployments in namespace kube-system")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p + "not-a-tenant"}}
		expectPolicyRefusal(op.Create(ctx, ns, client.DryRunAll), "silo-operator-scope", "may not create namespaces "+p+"not-a-tenant (cluster-scoped)")
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: p + "silo.dev", Namespace: metav1.NamespaceDefault}}
		if env != nil { // on a cluster, RBAC refuses it first
			expectPolicyRefusal(op.Create(ctx, lease, client.DryRunAll), "silo-operator-scope", "may not create leases in namespace default")
		}

		revision := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: p + "class-1", Namespace: metav1.NamespaceDefault},
			Data:       runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1,
		}
		expectPolicyRefusal(op.Create(ctx, revision, client.DryRunAll), "silo-operator-scope", "may not create controllerrevisions in namespace default")

		// What it does for a living is still allowed.
		s.Namespace = nsB
		Expect(op.Create(ctx, s, client.DryRunAll)).To(Succeed())
		revision.Namespace = operatorNamespace()
		Expect(op.Create(ctx, revision, client.DryRunAll)).To(Succeed(), "TenantClass revisions live in the operator's namespace")
		lease.Namespace = operatorNamespace()
		Expect(op.Create(ctx, lease, client.DryRunAll)).To(Succeed())
		ev := &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: p + "tenant-event", Namespace: metav1.NamespaceDefault},
			EventTime:  metav1.NowMicro(), ReportingController: "silo.dev/conformance", ReportingInstance: "conformance",
			Action: "Check", Reason: "Check", Type: corev1.EventTypeNormal,
			Regarding: corev1.ObjectReference{APIVersion: silov1.GroupVersion.String(), Kind: "Tenant", Name: tenantB.Name},
		}
		Expect(op.Create(ctx, ev, client.DryRunAll)).To(Succeed())
	})

	check("MTB-PL2-BC-OPS-3", "create role bindings: an owner may manage Roles and RoleBindings in its namespace (kubectl-mtb's access review, Role and binding)", func() {
		expectAllowed(ownerACfg, nsA, "rbac.authorization.k8s.io", []string{"roles", "rolebindings"},
			"get", "list", "create", "update", "patch", "watch", "delete", "deletecollection")
		role := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: p + "role-sample", Namespace: nsA},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
		}
		Expect(ownerA.Create(ctx, role)).To(Succeed())
		DeferCleanup(func() { _ = ownerA.Delete(ctx, role) })
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: p + "rolebinding-sample", Namespace: nsA},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		}
		Expect(ownerA.Create(ctx, rb, client.DryRunAll)).To(Succeed())
	})

	check("MTB-PL2-BC-OPS-4", "create network policies: an owner may manage NetworkPolicies in its namespace (kubectl-mtb's access review, and a policy between its own pods)", func() {
		expectAllowed(ownerACfg, nsA, "networking.k8s.io", []string{"networkpolicies"},
			"get", "create", "update", "patch", "delete", "deletecollection")
		np := ownPolicy(nsA, p+"web-to-api")
		Expect(ownerA.Create(ctx, np)).To(Succeed())
		np.Spec.Ingress[0].Ports[0].Port = ptr.To(intstr.FromInt32(9090))
		Expect(ownerA.Update(ctx, np)).To(Succeed())
		Expect(ownerA.Delete(ctx, np)).To(Succeed())
	})

	check("SILO-SS-1", "an owner's RoleBinding names no system: subject, no ServiceAccount of another namespace unless the platform allows it, and never Silo's owner Role", func() {
		rb := func(name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
			return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: p + name, Namespace: nsA}, RoleRef: ref, Subjects: subjects}
		}
		ownerRole := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: controllers.OwnerRoleName}
		userSubject := func(name string) rbacv1.Subject {
			return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
		}
		sa := func(namespace, name string) rbacv1.Subject {
			return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
		}
		expectPolicyRefusal(ownerA.Create(ctx, rb("co-owner", ownerRole, userSubject("owner-b@conformance.example"))),
			"silo-tenant-self-service", "binds Silo's owner Role silo-tenant-owner", "spec.owners")

		reader := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: p + "pod-reader", Namespace: nsA},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
		}
		Expect(ownerA.Create(ctx, reader)).To(Succeed())
		readerRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: reader.Name}
		everyone := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}
		expectPolicyRefusal(ownerA.Create(ctx, rb("everyone", readerRef, everyone)), "silo-tenant-self-service",
			"names Group system:authenticated", "subjects named system:*")
		expectPolicyRefusal(ownerA.Create(ctx, rb("sa-as-user", readerRef, userSubject("system:serviceaccount:"+nsB+":default"))),
			"silo-tenant-self-service", "names User system:serviceaccount:"+nsB+":default")
		expectPolicyRefusal(ownerA.Create(ctx, rb("other-tenant-sa", readerRef, sa(nsB, "default"))), "silo-tenant-self-service",
			"names the ServiceAccount(s) "+nsB+"/default of another namespace", "only to its own ServiceAccounts (namespace "+nsA+")")

		// A colleague, an own ServiceAccount and one of a namespace the platform lists.
		subjects := []rbacv1.Subject{userSubject("colleague@a.example"), sa(nsA, "ci"), sa("", "deployer")}
		ns := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: nsA}, ns)).To(Succeed())
		if listed := ns.Annotations[silov1.RoleBindingServiceAccountNamespacesAnnotation]; listed != "" {
			subjects = append(subjects, sa(strings.Split(listed, ",")[0], "deployer"))
		} else {
			Expect(env).To(BeNil(), "the suite's operator lists %s for owners' bindings", bindableNamespace)
		}
		Expect(ownerA.Create(ctx, rb("colleagues", readerRef, subjects...))).To(Succeed())

		// The colleague reads pods of tenant A, and nothing of tenant B.
		colleague, _, err := user("colleague@a.example")
		Expect(err).NotTo(HaveOccurred())
		Expect(colleague.List(ctx, &corev1.PodList{}, client.InNamespace(nsA))).To(Succeed())
		expectRBACRefusal(colleague.List(ctx, &corev1.PodList{}, client.InNamespace(nsB)), `cannot list resource "pods"`)
	})

	check("SILO-SS-2", "an owner cannot grant more than it holds: RBAC refuses a Role or binding beyond the owner Role, and Silo's own Role, binding and policies stay out of reach", func() {
		escalating := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: p + "quota-writer", Namespace: nsA},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"update"}, APIGroups: []string{""}, Resources: []string{"resourcequotas"}}},
		}
		expectRBACRefusal(ownerA.Create(ctx, escalating), "is attempting to grant RBAC permissions not currently held")
		// The aggregated admin and edit roles hold nothing on envtest (no aggregation
		// controller there), so a role of the suite's stands in for them.
		grantClusterRole(p+"conformance-quota-writer", "nobody@conformance.example",
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"update"}})
		DeferCleanup(func() {
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: p + "conformance-quota-writer"}})
			_ = admin.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: p + "conformance-quota-writer"}})
		})
		for _, clusterRole := range []string{"cluster-admin", p + "conformance-quota-writer"} {
			rb := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: p + "take-" + clusterRole, Namespace: nsA},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "owner-a@conformance.example"}},
			}
			expectRBACRefusal(ownerA.Create(ctx, rb), "is attempting to grant RBAC permissions not currently held")
		}

		role := &rbacv1.Role{}
		Expect(ownerA.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.OwnerRoleName}, role)).To(Succeed())
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"update"}})
		Expect(ownerA.Update(ctx, role)).NotTo(Succeed())
		binding := &rbacv1.RoleBinding{}
		Expect(ownerA.Get(ctx, client.ObjectKey{Namespace: nsA, Name: controllers.OwnerRoleBindingName}, binding)).To(Succeed())
		binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "owner-b@conformance.example"})
		// Both silo-tenant-managed-objects and silo-tenant-self-service refuse it; the
		// API server reports whichever it evaluated first.
		err := ownerA.Update(ctx, binding)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "adding a subject to the owners' binding: %v", err)
		Expect(err.Error()).To(Or(
			ContainSubstring("ValidatingAdmissionPolicy 'silo-tenant-managed-objects'"),
			ContainSubstring("ValidatingAdmissionPolicy 'silo-tenant-self-service'")))
		expectPolicyRefusal(ownerA.Delete(ctx, binding), "silo-tenant-managed-objects", "is managed by Silo")
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: controllers.NetpolDefaultDeny}}
		expectPolicyRefusal(ownerA.Delete(ctx, np), "silo-tenant-managed-objects", "NetworkPolicy default-deny")
	})

	check("SILO-SS-3", "an owner's NetworkPolicy can open traffic only between its own pods: no rule without peers, no namespaceSelector, no ipBlock", func() {
		open := ownPolicy(nsB, p+"from-anyone")
		open.Spec.Ingress[0].From = nil
		expectPolicyRefusal(ownerB.Create(ctx, open), "silo-tenant-self-service", "has a rule without from (ingress) or to (egress)")

		allNamespaces := ownPolicy(nsB, p+"from-all-namespaces")
		allNamespaces.Spec.Ingress[0].From = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}
		expectPolicyRefusal(ownerB.Create(ctx, allNamespaces), "silo-tenant-self-service", "has a peer with namespaceSelector or ipBlock")

		toA := ownPolicy(nsB, p+"to-tenant-a")
		toA.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		toA.Spec.Ingress = nil
		toA.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{silov1.TenantLabel: tenantA.Name}},
		}}}}
		expectPolicyRefusal(ownerB.Create(ctx, toA), "silo-tenant-self-service", "namespaceSelector or ipBlock")

		internet := toA.DeepCopy()
		internet.Name = p + "to-internet"
		internet.Spec.Egress[0].To = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}
		expectPolicyRefusal(ownerB.Create(ctx, internet), "silo-tenant-self-service", "namespaceSelector or ipBlock")
		internet.Spec.Egress[0].To = nil
		expectPolicyRefusal(ownerB.Create(ctx, internet), "silo-tenant-self-service", "without from (ingress) or to (egress)")

		Expect(ownerB.Create(ctx, ownPolicy(nsB, p+"between-own-pods"))).To(Succeed())
	})

	check("MTB-PL1-BC-CPI-2", "block modification of multi-tenancy resources (kubectl-mtb's form): the owner can delete no object of any namespaced kind labelled app.kubernetes.io/managed-by=silo, pods of managed workloads included", func() {
		standInForWorkloadControllers(p+"mtb-", nsA)
		expectNoManagedObjectDeletable(ownerACfg, nsA)
		expectNoManagedObjectDeletable(ownerBCfg, nsB)
	})

	check("MTB-PL1-CC-TI-2", "block access to other tenant resources (kubectl-mtb's form): access reviews of get and update on every namespaced kind are denied across tenants", func() {
		expectNoneAllowed(ownerBCfg, nsA, "get", "update")
		expectNoneAllowed(ownerACfg, nsB, "get", "update")
	})
}

// kubernetesController returns a client acting as the Kubernetes controller
// system:serviceaccount:kube-system:<name>, with RBAC to read and write claims and
// quota status (what the real one holds and more), so only admission decides.
func kubernetesController(p, name string) client.Client {
	GinkgoHelper()
	username := "system:serviceaccount:kube-system:" + name
	role := p + "conformance-" + name
	grantClusterRole(role, username,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims", "pods", "resourcequotas", "resourcequotas/status"},
			Verbs: []string{"get", "create", "update", "delete"}})
	DeferCleanup(func() {
		_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role}})
		_ = admin.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}})
	})
	c, _, err := user(username, "system:serviceaccounts", "system:serviceaccounts:kube-system")
	Expect(err).NotTo(HaveOccurred())
	return c
}

// standInForWorkloadControllers creates, on envtest (which runs no
// kube-controller-manager), one pod of every managed Deployment and StatefulSet in
// namespace, as the ReplicaSet and StatefulSet controllers would: under their
// identities, with the template's labels and spec. On a cluster the real controllers
// have made them; it returns those it created.
func standInForWorkloadControllers(p, namespace string) []*corev1.Pod {
	GinkgoHelper()
	if env == nil {
		return nil
	}
	managed := client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue}
	var templates []corev1.PodTemplateSpec
	var makers []string
	deployments := &appsv1.DeploymentList{}
	Expect(admin.List(ctx, deployments, client.InNamespace(namespace), managed)).To(Succeed())
	for _, d := range deployments.Items {
		templates, makers = append(templates, d.Spec.Template), append(makers, "replicaset-controller")
	}
	sets := &appsv1.StatefulSetList{}
	Expect(admin.List(ctx, sets, client.InNamespace(namespace), managed)).To(Succeed())
	for _, s := range sets.Items {
		templates, makers = append(templates, s.Spec.Template), append(makers, "statefulset-controller")
	}
	var pods []*corev1.Pod
	for i, tmpl := range templates {
		ensurePriorityClass(tmpl.Spec.PriorityClassName)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%spod-%d", p, i), Namespace: namespace, Labels: tmpl.Labels},
			Spec:       tmpl.Spec,
		}
		Expect(kubernetesController(p, makers[i]).Create(ctx, pod)).To(Succeed())
		pods = append(pods, pod)
	}
	return pods
}

// ensurePriorityClass creates the PriorityClass name, unless it is empty or exists,
// until the end of the check: the operator's --default-priority-class, which pods of
// managed workloads name, is the platform's to create.
func ensurePriorityClass(name string) {
	GinkgoHelper()
	if name == "" {
		return
	}
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: 100}
	if err := admin.Create(ctx, pc); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating PriorityClass %s: %v", name, err)
		return
	}
	DeferCleanup(func() { _ = admin.Delete(ctx, pc) })
}

// operatorNamespace is the namespace of the operator's identity.
func operatorNamespace() string { return strings.Split(testenv.OperatorUsername, ":")[2] }

// operatorIdentity returns a client acting as the operator's ServiceAccount, with its
// leader election Role in its own namespace (the chart's), as installed.
func operatorIdentity(p string) client.Client {
	GinkgoHelper()
	if env != nil {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace()}}
		if err := admin.Create(ctx, ns); err != nil {
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating %s: %v", ns.Name, err)
		}
		role := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: p + "conformance-leases", Namespace: ns.Name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
				Verbs: []string{"get", "create", "update"}}},
		}
		Expect(admin.Create(ctx, role)).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: testenv.OperatorUsername}},
		})).To(Succeed())
		// Leases anywhere else, so that only the policy refuses them.
		grantClusterRole(p+"conformance-leases", testenv.OperatorUsername,
			rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}})
	}
	c, _, err := user(testenv.OperatorUsername, testenv.OperatorGroups...)
	Expect(err).NotTo(HaveOccurred())
	return c
}

// statefulSet returns a one-replica StatefulSet named name running pod's spec, with
// one claim template "data".
func statefulSet(pod *corev1.Pod, name string) *appsv1.StatefulSet {
	d := deployment(pod, name)
	return &appsv1.StatefulSet{
		ObjectMeta: d.ObjectMeta,
		Spec: appsv1.StatefulSetSpec{
			Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template, ServiceName: name,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{*claimIn("", "data")},
		},
	}
}

// claimIn returns a 1Gi ReadWriteOnce claim.
func claimIn(namespace, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// ownPolicy returns a NetworkPolicy admitting the web pods to the api pods on 8080,
// both of namespace.
func ownPolicy(namespace, name string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080))}},
			}},
		},
	}
}

// expectAllowed asks the API server, as the user of cfg, whether each verb on each
// resource of group is allowed in namespace (a SelfSubjectAccessReview, as kubectl-mtb
// does), and fails on the first that is not.
func expectAllowed(cfg *rest.Config, namespace, group string, resources []string, verbs ...string) {
	GinkgoHelper()
	cs := kubernetes.NewForConfigOrDie(cfg)
	for _, r := range resources {
		for _, v := range verbs {
			Expect(allowed(cs, namespace, group, r, v)).To(BeTrue(), "the owner may not %s %s in %s", v, r, namespace)
		}
	}
}

// allowed returns whether the user of cs may do verb on resource in namespace.
func allowed(cs kubernetes.Interface, namespace, group, resource, verb string) bool {
	GinkgoHelper()
	review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: verb, Group: group, Resource: resource,
		}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return review.Status.Allowed
}

// namespacedResources lists every namespaced resource the API server serves, at its
// preferred version, as kubectl-mtb discovers them.
func namespacedResources() []schema.GroupVersionResource {
	GinkgoHelper()
	dc := discovery.NewDiscoveryClientForConfigOrDie(adminCfg)
	lists, err := dc.ServerPreferredNamespacedResources()
	Expect(err).NotTo(HaveOccurred())
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		Expect(err).NotTo(HaveOccurred())
		for _, r := range l.APIResources {
			if len(r.Verbs) > 0 && !strings.Contains(r.Name, "/") {
				out = append(out, gv.WithResource(r.Name))
			}
		}
	}
	Expect(len(out)).To(BeNumerically(">", 20))
	return out
}

// expectNoManagedObjectDeletable lists, as the owner of cfg, every object of every
// namespaced kind labelled app.kubernetes.io/managed-by=silo in namespace, and fails
// if the owner may delete (dry-run) any of them: kubectl-mtb's MTB-PL1-BC-CPI-2 with
// the label the platform declares. Kinds the owner may not list are not its to touch.
func expectNoManagedObjectDeletable(cfg *rest.Config, namespace string) {
	GinkgoHelper()
	quiet := rest.CopyConfig(cfg)
	quiet.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(quiet)
	Expect(err).NotTo(HaveOccurred())
	selector := silov1.ManagedByLabel + "=" + silov1.ManagedByValue
	found := 0
	var deletable []string
	for _, gvr := range namespacedResources() {
		list, err := dyn.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			continue
		}
		for _, o := range list.Items {
			found++
			err := dyn.Resource(gvr).Namespace(namespace).Delete(ctx, o.GetName(), metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil {
				deletable = append(deletable, fmt.Sprintf("%s %s", gvr.Resource, o.GetName()))
			}
		}
	}
	Expect(found).To(BeNumerically(">", 5), "the owner should see Silo's objects in its namespace")
	Expect(deletable).To(BeEmpty(), "the owner can delete objects labelled %s", selector)
}

// expectNoneAllowed fails if the user of cfg may do any of verbs on any namespaced
// resource in namespace, by access review (kubectl-mtb's MTB-PL1-CC-TI-2).
func expectNoneAllowed(cfg *rest.Config, namespace string, verbs ...string) {
	GinkgoHelper()
	cs := kubernetes.NewForConfigOrDie(cfg)
	for _, gvr := range namespacedResources() {
		for _, v := range verbs {
			Expect(allowed(cs, namespace, gvr.Group, gvr.Resource, v)).To(BeFalse(), "%s %s in %s is allowed", v, gvr.Resource, namespace)
		}
	}
}
