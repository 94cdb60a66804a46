package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

// The rollout measurement (`make bench-rollout`): a new app image rolled across
// BENCH_TENANTS Tenants of one class with maxUnavailable 10%, the workload status
// written by the harness (playing the Deployment and StatefulSet controllers, as the
// main benchmark does), next to the API server's ceiling for the same change (patching
// as many Deployments with a plain client). A second class's Tenants must receive no
// write. Results are printed; BENCH_WRITE=1 puts them in docs/benchmarks.md.

const (
	rolloutClass = "bench-standard"
	otherClass   = "bench-other"
	rolloutV1    = "registry.example.com/shop/app:1.5.0"
	rolloutV2    = "registry.example.com/shop/app:1.6.0"
)

// rolloutResults are the rollout measurement's numbers.
type rolloutResults struct {
	tenants, others, batch int
	provision              time.Duration
	rollout                time.Duration
	firstMoved             time.Duration
	ceiling                time.Duration
	reqs                   testenv.Requests
	otherWrites            int
	heapBefore, heapAfter  testenv.Memory
	statusWrites           int64
	concurrency            string
}

func runRollout(ctx context.Context) error {
	s, err := loadSettings()
	if err != nil {
		return err
	}
	work, cleanup, step, err := workFolder("silo-bench-rollout-", s)
	if err != nil {
		return err
	}
	defer cleanup()
	res := &rolloutResults{tenants: s.tenants, others: max(s.tenants/10, 5)}
	res.batch = max(s.tenants/10, 1)
	run, err := startOperatorRun(work, s, step)
	if err != nil {
		return err
	}
	defer run.stop()
	p, op, flags, workers := run.plane, run.op, run.flags, run.workers
	res.concurrency = flags["concurrency"]

	// The operator keeps class revisions in its own namespace.
	if err := p.Admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: flags["operator-namespace"]}}); err != nil {
		return fmt.Errorf("creating the operator's namespace: %w", err)
	}
	// The harness plays the workload controllers for every managed Deployment and
	// StatefulSet: whatever the operator applies is reported rolled out and ready.
	settleCtx, stopWorkloads := context.WithCancel(ctx)
	defer stopWorkloads()
	settler, err := testenv.StartSettler(settleCtx, p.AdminConfig, max(workers, 4))
	if err != nil {
		return err
	}

	step("provisioning %d Tenants of class %s and %d of class %s", s.tenants, rolloutClass, res.others, otherClass)
	for _, name := range []string{rolloutClass, otherClass} {
		c := &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: silov1.TenantClassSpec{
			Template: silov1.TenantSpec{
				App:      silov1.AppSpec{Image: rolloutV1},
				Database: &silov1.DatabaseSpec{},
				Cache:    &silov1.CacheSpec{},
			},
			Rollout: silov1.RolloutSpec{MaxUnavailable: ptr.To(intstr.FromString("10%"))},
		}}
		if err := p.Admin.Create(ctx, c); err != nil {
			return err
		}
	}
	ours, others := testenv.Names("roll", 1, s.tenants), testenv.Names("other", 1, res.others)
	start := time.Now()
	create := func(class string) func(string) error {
		return func(n string) error {
			return p.Admin.Create(ctx, &silov1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: silov1.TenantSpec{
				Class: class, Owners: []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: n + "-admins"}},
			}})
		}
	}
	if err := testenv.Parallel(ours, workers, create(rolloutClass)); err != nil {
		return err
	}
	if err := testenv.Parallel(others, workers, create(otherClass)); err != nil {
		return err
	}
	if err := waitClass(ctx, p.Admin, rolloutClass, s.tenants, 2*time.Minute+time.Duration(s.tenants)*time.Second); err != nil {
		return err
	}
	if err := waitClass(ctx, p.Admin, otherClass, res.others, 2*time.Minute); err != nil {
		return err
	}
	res.provision = time.Since(start)
	if _, err := op.WaitIdle(0, 2*time.Minute); err != nil {
		return err
	}
	if res.heapBefore, err = op.Memory(); err != nil {
		return err
	}

	step("rolling %s to %s across %d Tenants, maxUnavailable 10%% (%d at once)", rolloutClass, rolloutV2, s.tenants, res.batch)
	w0 := settler.Writes()
	m := p.Audit.Mark()
	patch := fmt.Sprintf(`{"spec":{"template":{"app":{"image":%q}}}}`, rolloutV2)
	if err := p.Admin.Patch(ctx, &silov1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: rolloutClass}},
		client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return err
	}
	first, err := waitRolledOut(ctx, p.Admin, rolloutClass, s.tenants, 10*time.Minute+time.Duration(s.tenants)*3*time.Second)
	if err != nil {
		return err
	}
	res.rollout, res.firstMoved = time.Since(m.At), first.Sub(m.At)
	res.statusWrites = settler.Writes() - w0
	if _, err := op.WaitIdle(0, 2*time.Minute); err != nil {
		return err
	}
	if res.reqs, err = p.Audit.Since(m, operatorUser); err != nil {
		return err
	}
	if res.otherWrites, err = writesToObjects(p.Audit, m, operatorUser, "tenants", others); err != nil {
		return err
	}
	if res.heapAfter, err = op.Memory(); err != nil {
		return err
	}
	if err := checkImages(ctx, p.Admin, ours, rolloutV2); err != nil {
		return err
	}
	if err := checkImages(ctx, p.Admin, others, rolloutV1); err != nil {
		return err
	}
	_ = op.Stop()
	stopWorkloads()

	step("the API server's ceiling: patching %d Deployments' image with a plain client, %d in parallel", s.tenants, workers)
	cfg, err := p.AdminUser(ceilingUser)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	cl, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return err
	}
	start = time.Now()
	back := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, rolloutV1)
	if err := testenv.Parallel(ours, workers, func(n string) error {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: controllers.NamespacePrefix + n, Name: controllers.AppName}}
		return cl.Patch(ctx, d, client.RawPatch(types.StrategicMergePatchType, []byte(back)))
	}); err != nil {
		return err
	}
	res.ceiling = time.Since(start)

	fmt.Println(res.table(s))
	if s.out != "" {
		if err := res.writeDoc(s); err != nil {
			return err
		}
		step("wrote %s", s.out)
	}
	if res.otherWrites > 0 {
		return fmt.Errorf("the operator wrote %d times to Tenants of class %s", res.otherWrites, otherClass)
	}
	return nil
}

// waitClass waits until a class reports n Tenants, all updated and Ready.
func waitClass(ctx context.Context, c client.Client, name string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tc := &silov1.TenantClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, tc); err != nil {
			return err
		}
		st := tc.Status
		if int(st.Tenants) == n && int(st.Updated) == n && int(st.Ready) == n &&
			meta.IsStatusConditionTrue(st.Conditions, silov1.ReadyCondition) && st.ObservedGeneration == tc.Generation {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("class %s: not every one of %d Tenants Ready on its revision within %s", name, n, timeout)
}

// waitRolledOut waits until the class's new revision is rolled out; it returns when
// the first Tenant moved.
func waitRolledOut(ctx context.Context, c client.Client, name string, n int, timeout time.Duration) (time.Time, error) {
	var first time.Time
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tc := &silov1.TenantClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, tc); err != nil {
			return first, err
		}
		if len(tc.Status.Failed) > 0 {
			return first, fmt.Errorf("class %s: Tenants failed the rollout: %v", name, tc.Status.Failed)
		}
		if first.IsZero() && tc.Status.Updated > 0 && tc.Status.ObservedGeneration == tc.Generation {
			first = time.Now()
		}
		if tc.Status.ObservedGeneration == tc.Generation && int(tc.Status.Updated) == n && int(tc.Status.Ready) == n &&
			meta.IsStatusConditionTrue(tc.Status.Conditions, silov1.ReadyCondition) {
			return first, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return first, fmt.Errorf("class %s: not rolled out within %s", name, timeout)
}

// checkImages fails unless every Tenant's app runs image.
func checkImages(ctx context.Context, c client.Client, tenants []string, image string) error {
	for _, n := range tenants {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: controllers.NamespacePrefix + n, Name: controllers.AppName}, d); err != nil {
			return err
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
			return fmt.Errorf("the app of %s runs %s, want %s", n, got, image)
		}
	}
	return nil
}

// writesToObjects counts user's writes after m to objects of resource named in names.
func writesToObjects(a *testenv.AuditLog, m testenv.AuditMark, user, resource string, names []string) (int, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	events, err := a.Events(m, user)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range events {
		if testenv.IsWrite(e.Verb) && e.ObjectRef != nil && e.ObjectRef.Resource == resource && want[e.ObjectRef.Name] {
			n++
		}
	}
	return n, nil
}

// table prints the measurement.
func (r *rolloutResults) table(s settings) string {
	var b strings.Builder
	n := float64(r.tenants)
	fmt.Fprintf(&b, "| measurement | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| Tenants of the rolled class / of another class | %d / %d |\n", r.tenants, r.others)
	fmt.Fprintf(&b, "| maxUnavailable 10%% | %d Tenants at once, %d batches |\n", r.batch, (r.tenants+r.batch-1)/r.batch)
	fmt.Fprintf(&b, "| provisioning every Tenant to Ready (harness playing the workload controllers) | %s |\n", r.provision.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "| **rollout: template change to every Tenant Ready on the new image** | **%s** (%.0f ms per Tenant, %.2f s per batch) |\n",
		r.rollout.Round(100*time.Millisecond), float64(r.rollout.Milliseconds())/n,
		r.rollout.Seconds()/float64((r.tenants+r.batch-1)/r.batch))
	fmt.Fprintf(&b, "| first Tenant moved after | %s |\n", r.firstMoved.Round(10*time.Millisecond))
	fmt.Fprintf(&b, "| ceiling: patching %d Deployments' image with a plain client (%s in parallel), no batches, no readiness | %s |\n",
		r.tenants, r.concurrency, r.ceiling.Round(10*time.Millisecond))
	fmt.Fprintf(&b, "| operator writes per Tenant during the rollout | %.2f (%s) |\n", float64(r.reqs.Writes())/n,
		writesOnly(r.reqs).PerTenant(r.tenants))
	fmt.Fprintf(&b, "| operator reads (GET, LIST) during the rollout | %d |\n", r.reqs.Reads())
	fmt.Fprintf(&b, "| harness status writes (playing the controllers) | %d |\n", r.statusWrites)
	fmt.Fprintf(&b, "| writes to Tenants of the other class | %d |\n", r.otherWrites)
	fmt.Fprintf(&b, "| operator heap in use before / after | %s / %s |\n", mib(r.heapBefore.HeapInuse), mib(r.heapAfter.HeapInuse))
	return b.String()
}

func writesOnly(r testenv.Requests) testenv.Requests {
	out := testenv.Requests{}
	for k, v := range r {
		if verb, _, _ := strings.Cut(k, " "); testenv.IsWrite(verb) {
			out[k] = v
		}
	}
	return out
}

// writeDoc replaces the rollout section of the benchmark document.
func (r *rolloutResults) writeDoc(s settings) error {
	const begin, end = "<!-- rollout:begin -->", "<!-- rollout:end -->"
	doc, err := os.ReadFile(s.out)
	if err != nil {
		return err
	}
	m := testenv.ReadMachine()
	load, _ := os.ReadFile("/proc/loadavg")
	section := fmt.Sprintf("%s\n`make bench-rollout BENCH_TENANTS=%d` on %d cores (%s), load average %s at the end, %s:\n\n%s%s",
		begin, r.tenants, m.Cores, m.CPU, strings.Join(strings.Fields(string(load))[:3], " "),
		time.Now().UTC().Format("2006-01-02"), r.table(s), end)
	text := string(doc)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		text = strings.TrimRight(text, "\n") + "\n\n## Rollout of a class\n\n" + section + "\n"
	} else {
		text = text[:i] + section + text[j+len(end):]
	}
	return os.WriteFile(s.out, []byte(text), 0o644)
}
