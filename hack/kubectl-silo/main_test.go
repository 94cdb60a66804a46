package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/test/testenv"
)

var update = flag.Bool("update", false, "write the commands' output into testdata/*.golden")

// now is the plugin's clock in the tests: ten minutes after the first event.
var (
	eventBase = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	now       = eventBase.Add(10 * time.Minute)
)

// cluster is the envtest control plane the tests share, with a kubeconfig file for
// the plugin's --kubeconfig and an admin client to set the scene.
var cluster struct {
	env        *testenv.Env
	kubeconfig string
	c          client.Client
}

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := runWithCluster(m)
	if err != nil {
		os.Stderr.WriteString("kubectl-silo tests: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithCluster(m *testing.M) (int, error) {
	env, err := testenv.Start()
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	admin, err := env.Environment.AddUser(envtest.User{Name: "platform-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return 0, err
	}
	raw, err := admin.KubeConfig()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "kubectl-silo-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cluster.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cluster.kubeconfig, raw, 0o600); err != nil {
		return 0, err
	}
	cluster.env, cluster.c = env, env.Client
	if err := seed(context.Background(), env.Client); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// kubectlSilo runs the plugin with args and the test kubeconfig, and returns what it
// printed.
func kubectlSilo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, func() time.Time { return now })
	cmd.SetArgs(append(args, "--kubeconfig", cluster.kubeconfig))
	err := cmd.ExecuteContext(context.Background())
	return out.String() + errOut.String(), err
}

// golden compares got with testdata/<name>.golden, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./hack/kubectl-silo -update to write it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("output of %s differs from %s (-want +got; go test -update rewrites it):\n%s", name, path, d)
	}
}

func TestStatusOfAHealthyTenant(t *testing.T) {
	out, err := kubectlSilo(t, "status", "acme")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden(t, "status-healthy", out)
	if strings.Contains(out, "What to do next") {
		t.Error("a healthy Tenant got advice")
	}
}

func TestStatusOfABrokenTenant(t *testing.T) {
	out, err := kubectlSilo(t, "status", "globex")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden(t, "status-broken", out)
	for _, hint := range []string{"cannot pull its image", "is not scheduled", "volume claim data-database-0 is Pending", "quota is nearly used up"} {
		if !strings.Contains(out, hint) {
			t.Errorf("no advice %q in:\n%s", hint, out)
		}
	}
}

func TestStatusOfADegradedTenant(t *testing.T) {
	out, err := kubectlSilo(t, "status", "initech")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden(t, "status-degraded", out)
}

func TestStatusFindsTheTenantOfTheNamespaceLikeKubectl(t *testing.T) {
	byName, err := kubectlSilo(t, "status", "globex")
	if err != nil {
		t.Fatal(err)
	}
	byNamespace, err := kubectlSilo(t, "status", "-n", "tenant-globex")
	if err != nil {
		t.Fatalf("%v\n%s", err, byNamespace)
	}
	if byNamespace != byName {
		t.Errorf("status -n tenant-globex differs from status globex:\n%s", cmp.Diff(byName, byNamespace))
	}
	out, err := kubectlSilo(t, "status", "-n", "default")
	if err == nil || !strings.Contains(out, "default is not one") {
		t.Errorf("status -n default = %v, %q; want an error saying default is no tenant namespace", err, out)
	}
	out, err = kubectlSilo(t, "status", "nobody")
	if err == nil || !strings.Contains(out, `Tenant "nobody" not found`) {
		t.Errorf("status nobody = %v, %q; want not found", err, out)
	}
}

func TestStatusHonoursContext(t *testing.T) {
	out, err := kubectlSilo(t, "status", "acme", "--context", "no-such-context")
	if err == nil || !strings.Contains(out, "no-such-context") {
		t.Errorf("--context no-such-context = %v, %q; want kubectl's error naming the context", err, out)
	}
}

func TestList(t *testing.T) {
	out, err := kubectlSilo(t, "list")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden(t, "list", out)
	all, err := kubectlSilo(t, "list", "-A")
	if err != nil {
		t.Fatalf("%v\n%s", err, all)
	}
	golden(t, "list-all", all)
}

func TestSuspendAndResume(t *testing.T) {
	ctx := context.Background()
	suspended := func() bool {
		tn := &silov1.Tenant{}
		if err := cluster.c.Get(ctx, client.ObjectKey{Name: "umbrella"}, tn); err != nil {
			t.Fatal(err)
		}
		return tn.Spec.Suspend
	}
	var transcript strings.Builder
	for _, args := range [][]string{{"suspend", "umbrella"}, {"suspend", "umbrella"}, {"resume", "-n", "tenant-umbrella"}, {"resume", "umbrella"}} {
		out, err := kubectlSilo(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		transcript.WriteString("$ kubectl silo " + strings.Join(args, " ") + "\n" + out)
		if want := args[0] == "suspend"; suspended() != want {
			t.Errorf("after %v spec.suspend = %v, want %v", args, !want, want)
		}
	}
	golden(t, "suspend-resume", transcript.String())
}

func TestRollout(t *testing.T) {
	ctx := context.Background()
	var transcript strings.Builder
	for _, args := range [][]string{{"rollout", "status", "standard"}, {"rollout", "pause", "standard"}, {"rollout", "resume", "standard"}} {
		out, err := kubectlSilo(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		transcript.WriteString("$ kubectl silo " + strings.Join(args, " ") + "\n" + out)
		class := &silov1.TenantClass{}
		if err := cluster.c.Get(ctx, client.ObjectKey{Name: "standard"}, class); err != nil {
			t.Fatal(err)
		}
		if want := args[1] == "pause"; class.Spec.Rollout.Paused != want {
			t.Errorf("after %v spec.rollout.paused = %v, want %v", args, class.Spec.Rollout.Paused, want)
		}
	}
	golden(t, "rollout", transcript.String())
	if out, err := kubectlSilo(t, "rollout", "status"); err == nil {
		t.Errorf("rollout status without a class succeeded: %s", out)
	}
}

// seed creates the scene: a class, a healthy Tenant of it (acme), a broken one
// (globex), one whose namespace is taken (initech) and one to suspend (umbrella), as
// the operator and the cluster's controllers would have left them.
func seed(ctx context.Context, c client.Client) error {
	class := &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}
	class.Spec.Template.App.Image = "registry.example.com/shop/app:1.5.0"
	if err := c.Create(ctx, class); err != nil {
		return err
	}
	class.Status = silov1.TenantClassStatus{
		Revision: "5f8c2d1a", Tenants: 2, Updated: 1, Ready: 1, Failed: []string{"globex"},
		Conditions: []metav1.Condition{
			cond(silov1.ReadyCondition, false, silov1.TenantsNotReadyReason, "1 of 2 Tenants is not Ready"),
			cond(silov1.ProgressingCondition, true, silov1.RollingOutReason, "1 of 2 Tenants run revision 5f8c2d1a"),
			cond(silov1.PausedCondition, true, silov1.TooManyFailuresReason, "1 Tenant failed revision 5f8c2d1a (maxFailures 1): globex"),
		},
	}
	if err := c.Status().Update(ctx, class); err != nil {
		return err
	}

	ready := []metav1.Condition{
		cond(silov1.ReadyCondition, true, silov1.ReadyReason, "every component is ready"),
		cond(silov1.ProgressingCondition, false, silov1.ReconcileSucceededReason, "the environment matches the spec"),
		cond(silov1.DegradedCondition, false, silov1.AsExpectedReason, ""),
	}
	acme := tenant("acme", "standard", silov1.TenantStatus{
		Phase: silov1.PhaseReady, ComponentsReady: "2/2", Class: "standard", ClassRevision: "5f8c2d1a",
		Components: []silov1.ComponentStatus{
			{Name: "app", Ready: true, Replicas: 2, ReadyReplicas: 2},
			{Name: "database", Ready: true, Replicas: 1, ReadyReplicas: 1},
		},
		Endpoints:  map[string]string{"app": "http://app.tenant-acme.svc:8080", "database": "postgres://database.tenant-acme.svc:5432/app"},
		Conditions: ready,
	})
	if err := createTenant(ctx, c, acme); err != nil {
		return err
	}
	if err := seedNamespace(ctx, c, acme); err != nil {
		return err
	}
	for _, p := range []*corev1.Pod{pod("acme", "app", "app-7d9f8-kx2lq", running()), pod("acme", "app", "app-7d9f8-zt9wp", running()),
		pod("acme", "database", "database-0", running())} {
		if err := createPod(ctx, c, p); err != nil {
			return err
		}
	}
	if err := createClaim(ctx, c, claim("acme", "database", "data-database-0", true)); err != nil {
		return err
	}
	if err := createQuota(ctx, c, acme, quota("1500m", "8", "3Gi", "16Gi", "3", "50")); err != nil {
		return err
	}
	if err := createEvents(ctx, c, acme,
		[3]string{"Normal", "Created", "created 17 children (class standard, revision 5f8c2d1a): Namespace, ServiceAccount, ResourceQuota, LimitRange, NetworkPolicy (4), Role, RoleBinding, Secret (3), Deployment, Service (2), StatefulSet"},
		[3]string{"Normal", "Ready", "every component is ready"}); err != nil {
		return err
	}

	globex := tenant("globex", "standard", silov1.TenantStatus{
		Phase: silov1.PhaseProvisioning, ComponentsReady: "0/2", Class: "standard", ClassRevision: "5f8c2d1a",
		Components: []silov1.ComponentStatus{
			{Name: "app", Replicas: 2, ReadyReplicas: 0, Message: "0/2 replicas ready"},
			{Name: "database", Replicas: 1, ReadyReplicas: 0, Message: "0/1 replicas ready"},
		},
		Endpoints: map[string]string{"app": "http://app.tenant-globex.svc:8080", "database": "postgres://database.tenant-globex.svc:5432/app"},
		Conditions: []metav1.Condition{
			cond(silov1.ReadyCondition, false, silov1.ComponentsNotReadyReason, "waiting for app (0/2 replicas ready), database (0/1 replicas ready)"),
			cond(silov1.ProgressingCondition, true, silov1.ProvisioningReason, "waiting for app (0/2 replicas ready), database (0/1 replicas ready)"),
			cond(silov1.DegradedCondition, false, silov1.AsExpectedReason, ""),
		},
	})
	if err := createTenant(ctx, c, globex); err != nil {
		return err
	}
	if err := seedNamespace(ctx, c, globex); err != nil {
		return err
	}
	for _, p := range []*corev1.Pod{pod("globex", "app", "app-5c6b7-9vq2m", imagePullBackOff()), pod("globex", "app", "app-5c6b7-xw4rt", crashLooping()),
		pod("globex", "database", "database-0", unschedulable())} {
		if err := createPod(ctx, c, p); err != nil {
			return err
		}
	}
	if err := createClaim(ctx, c, claim("globex", "database", "data-database-0", false)); err != nil {
		return err
	}
	if err := createQuota(ctx, c, globex, quota("7600m", "8", "15Gi", "16Gi", "4", "50")); err != nil {
		return err
	}
	if err := createEvents(ctx, c, globex,
		[3]string{"Normal", "Created", "created 17 children (class standard, revision 5f8c2d1a): Namespace, ServiceAccount, ResourceQuota, LimitRange, NetworkPolicy (4), Role, RoleBinding, Secret (3), Deployment, Service (2), StatefulSet"},
		[3]string{"Normal", "RolloutReached", "class standard rolled out to this Tenant: revision 5f8c2d1a (was 1a2b3c4d): updated Deployment app"},
		[3]string{"Warning", "ComponentsNotReady", "waiting for app (0/2 replicas ready)"}); err != nil {
		return err
	}

	conflict := "namespace tenant-initech already exists and does not belong to this Tenant (label silo.dev/tenant=\"\"); rename the Tenant or delete that namespace"
	initech := tenant("initech", "", silov1.TenantStatus{
		Phase: silov1.PhaseDegraded, ComponentsReady: "0/0", Namespace: "tenant-initech",
		Conditions: []metav1.Condition{
			cond(silov1.ReadyCondition, false, silov1.NamespaceConflictReason, conflict),
			cond(silov1.ProgressingCondition, false, silov1.NamespaceConflictReason, conflict),
			cond(silov1.DegradedCondition, true, silov1.NamespaceConflictReason, conflict),
		},
	})
	if err := createTenant(ctx, c, initech); err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-initech"}}); err != nil {
		return err
	}
	if err := createEvents(ctx, c, initech, [3]string{"Warning", "NamespaceConflict", conflict}); err != nil {
		return err
	}

	umbrella := tenant("umbrella", "", silov1.TenantStatus{Phase: silov1.PhaseReady, ComponentsReady: "1/1",
		Components: []silov1.ComponentStatus{{Name: "app", Ready: true, Replicas: 1, ReadyReplicas: 1}}, Conditions: ready})
	if err := createTenant(ctx, c, umbrella); err != nil {
		return err
	}
	return seedNamespace(ctx, c, umbrella)
}

func cond(typ string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(eventBase)}
}

func tenant(name, class string, st silov1.TenantStatus) *silov1.Tenant {
	t := &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
	t.Spec.Class = class
	if class == "" {
		t.Spec.App.Image = "registry.example.com/shop/app:1.4.2"
	}
	if st.Namespace == "" {
		st.Namespace = "tenant-" + name
	}
	t.Status = st
	return t
}

// createTenant creates t and writes its status, observed at its generation.
func createTenant(ctx context.Context, c client.Client, t *silov1.Tenant) error {
	st := t.Status
	if err := c.Create(ctx, t); err != nil {
		return err
	}
	t.Status = st
	t.Status.ObservedGeneration = t.Generation
	if t.Status.Phase == silov1.PhaseDegraded {
		t.Status.ObservedGeneration = 0
	}
	return c.Status().Update(ctx, t)
}

// seedNamespace creates the Tenant's namespace.
func seedNamespace(ctx context.Context, c client.Client, t *silov1.Tenant) error {
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + t.Name, Labels: map[string]string{silov1.TenantLabel: t.Name}}})
}

// createQuota creates the Tenant's quota with its status, after the pods it counts
// (the quota's admission would refuse pods without requests, and count them).
func createQuota(ctx context.Context, c client.Client, t *silov1.Tenant, q *corev1.ResourceQuota) error {
	q.Namespace = "tenant-" + t.Name
	st := q.Status
	if err := c.Create(ctx, q); err != nil {
		return err
	}
	q.Status = st
	return c.Status().Update(ctx, q)
}

func quota(cpuUsed, cpuHard, memUsed, memHard, podsUsed, podsHard string) *corev1.ResourceQuota {
	hard := corev1.ResourceList{
		corev1.ResourceRequestsCPU: resource.MustParse(cpuHard), corev1.ResourceRequestsMemory: resource.MustParse(memHard),
		corev1.ResourcePods: resource.MustParse(podsHard),
		// The fence against a second quota, full as the quota controller reports it.
		corev1.ResourceQuotas: resource.MustParse("1"),
	}
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-quota"},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
		Status: corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{
			corev1.ResourceRequestsCPU: resource.MustParse(cpuUsed), corev1.ResourceRequestsMemory: resource.MustParse(memUsed),
			corev1.ResourcePods: resource.MustParse(podsUsed), corev1.ResourceQuotas: resource.MustParse("1"),
		}},
	}
}

func pod(tenant, component, name string, st corev1.PodStatus) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tenant-" + tenant,
			Labels: map[string]string{silov1.TenantLabel: tenant, silov1.ComponentLabel: component}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: component, Image: "registry.example.com/shop/app:1.5.0"}}},
		Status: st,
	}
	if st.Phase == corev1.PodRunning {
		p.Spec.NodeName = "node-eu-1"
	}
	for i := range p.Status.ContainerStatuses {
		p.Status.ContainerStatuses[i].Name = component
		p.Status.ContainerStatuses[i].Image = p.Spec.Containers[0].Image
	}
	return p
}

func createPod(ctx context.Context, c client.Client, p *corev1.Pod) error {
	st := p.Status
	if err := c.Create(ctx, p); err != nil {
		return err
	}
	p.Status = st
	return c.Status().Update(ctx, p)
}

func running() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
}

func imagePullBackOff() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}}
}

func crashLooping() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 6,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}}
}

func unschedulable() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: "Unschedulable", Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}}}
}

func claim(tenant, component, name string, bound bool) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tenant-" + tenant,
			Labels: map[string]string{silov1.TenantLabel: tenant, silov1.ComponentLabel: component}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("fast-eu"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	if bound {
		c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}
	}
	return c
}

func createClaim(ctx context.Context, c client.Client, pvc *corev1.PersistentVolumeClaim) error {
	st := pvc.Status
	if err := c.Create(ctx, pvc); err != nil {
		return err
	}
	pvc.Status = st
	return c.Status().Update(ctx, pvc)
}

// createEvents records events about t a minute apart from eventBase, as the operator's
// recorder would: type, reason, note.
func createEvents(ctx context.Context, c client.Client, t *silov1.Tenant, events ...[3]string) error {
	for i, e := range events {
		ev := &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: t.Name + "." + strings.ToLower(e[1]), Namespace: metav1.NamespaceDefault},
			EventTime:  metav1.NewMicroTime(eventBase.Add(time.Duration(i) * time.Minute)),
			Regarding:  corev1.ObjectReference{APIVersion: silov1.GroupVersion.String(), Kind: "Tenant", Name: t.Name, UID: t.UID},
			Type:       e[0], Reason: e[1], Note: e[2], Action: "Reconcile",
			ReportingController: "silo", ReportingInstance: "silo-0",
		}
		if err := c.Create(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
