// Command bench measures the Silo operator against a real kube-apiserver and etcd
// (envtest) and puts its provisioning time next to the API server's own ceiling for
// the same work. `make bench` runs it; see docs/benchmarks.md.
//
// `go run ./test/bench rollout` (make bench-rollout) measures a class rollout instead
// (rollout.go); `go run ./test/bench backup` (make bench-backup) one scheduled round of
// snapshots (backup.go).
//
// Settings come from the environment:
//
//	BENCH_TENANTS        Tenants to provision (default 50)
//	BENCH_UNRELATED      unrelated ConfigMaps and Secrets for the memory test (default 10000)
//	BENCH_DRIFT          Tenants whose child is deleted in the drift test (default 100)
//	BENCH_OPERATOR_ARGS  extra operator flags, e.g. "--concurrency=8 --kube-api-qps=200"
//	BENCH_WRITE=1        write the results into docs/benchmarks.md
//	BENCH_OUT            write the results into this file instead
//	BENCH_KEEP=1         keep the work folder (operator and audit logs)
//	BENCH_OPERATOR_REV   measure the operator of this git revision instead of the tree's
//	BENCH_CEILING=0      skip the API server's ceilings (for comparing two operators)
//	BENCH_CPUPROFILE_PROVISION=f  write the operator's CPU profile of 15 s of provisioning to f
//	BENCH_CPUPROFILE_AFTER=d      start that profile d (a Go duration) into the provisioning
//	BENCH_ALLOCPROFILE=f write the operator's allocation profiles before (f.before) and after
//	                     provisioning: go tool pprof -sample_index=alloc_space -base f.before bin f
//	BENCH_CPUPROFILE     write the operator's CPU profile of the steady-state phase here
//
// The run fails when the operator writes anything while nothing changed (steady state,
// restart) or a Tenant is not provisioned; it never fails on a timing.
package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

func main() {
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if len(os.Args) > 1 && os.Args[1] == "backup" {
		if err := runBackup(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "rollout" {
		if err := runRollout(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	res, err := run(context.Background())
	if res != nil {
		fmt.Println(res.table())
		if f, ok := res.foreignCores(); ok && !res.finishedAt.IsZero() {
			fmt.Printf("Other processes used %.2f cores on average during the run.\n", f)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings are the benchmark's knobs.
type settings struct {
	tenants, unrelated, drift int
	operatorArgs              []string
	out                       string
	keep                      bool
	// operatorRev is another git revision whose operator the run measures instead of
	// the working tree's (BENCH_OPERATOR_REV), for a comparison in the same conditions.
	operatorRev string
	// ceiling is false with BENCH_CEILING=0: the run skips the API server's ceilings
	// (a comparison of two operators needs only the operator's side).
	ceiling bool
}

func loadSettings() (settings, error) {
	s := settings{operatorArgs: strings.Fields(os.Getenv("BENCH_OPERATOR_ARGS")), keep: os.Getenv("BENCH_KEEP") == "1",
		operatorRev: os.Getenv("BENCH_OPERATOR_REV"), ceiling: os.Getenv("BENCH_CEILING") != "0"}
	var err error
	if s.tenants, err = testenv.EnvInt("BENCH_TENANTS", 50); err != nil {
		return s, err
	}
	if s.tenants < 1 {
		return s, fmt.Errorf("BENCH_TENANTS must be at least 1")
	}
	if s.unrelated, err = testenv.EnvInt("BENCH_UNRELATED", 10000); err != nil {
		return s, err
	}
	if s.drift, err = testenv.EnvInt("BENCH_DRIFT", 100); err != nil {
		return s, err
	}
	s.drift = min(s.drift, s.tenants)
	s.out = os.Getenv("BENCH_OUT")
	if s.out == "" && os.Getenv("BENCH_WRITE") == "1" {
		s.out = filepath.Join(testenv.RepoRoot(), "docs", "benchmarks.md")
	}
	if s.out != "" && !s.ceiling {
		return s, fmt.Errorf("BENCH_CEILING=0 skips the ceilings the doc compares against: unset it, or BENCH_WRITE and BENCH_OUT")
	}
	if s.out != "" && s.operatorRev != "" {
		return s, fmt.Errorf("BENCH_OPERATOR_REV measures another revision's operator, for a comparison: " +
			"the doc records only the tree's own (unset BENCH_WRITE and BENCH_OUT, or BENCH_OPERATOR_REV)")
	}
	return s, nil
}

// command is the command line that reproduces this run.
func (s settings) command() string {
	parts := []string{"make bench", fmt.Sprintf("BENCH_TENANTS=%d", s.tenants)}
	for _, name := range []string{"BENCH_UNRELATED", "BENCH_DRIFT"} {
		if v := os.Getenv(name); v != "" {
			parts = append(parts, name+"="+v)
		}
	}
	if len(s.operatorArgs) > 0 {
		parts = append(parts, fmt.Sprintf("BENCH_OPERATOR_ARGS=%q", strings.Join(s.operatorArgs, " ")))
	}
	return strings.Join(parts, " ")
}

// benchSpec is the Tenant every run provisions: an app with a database and a cache and
// one owner group, a typical customer.
func benchSpec(name string) *silov1.Tenant {
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: silov1.TenantSpec{
			DisplayName: "Benchmark customer " + name,
			Owners:      []silov1.Owner{{Kind: silov1.OwnerKindGroup, Name: name + "-admins"}},
			App:         silov1.AppSpec{Image: "registry.example.com/shop/app:1.4.2"},
			Database:    &silov1.DatabaseSpec{},
			Cache:       &silov1.CacheSpec{},
		},
	}
}

// Users whose requests the API server's audit log records: the operator and the
// ceiling client. The harness's own requests (creating Tenants, watching them) run as
// the envtest admin and are not counted.
const (
	operatorUser = "silo-operator"
	ceilingUser  = "silo-ceiling"
)

// startPlane starts a control plane in dir that audits the operator and the ceiling
// client.
func startPlane(dir string) (*testenv.Audited, error) {
	return testenv.StartAudited(dir, []string{operatorUser, ceilingUser})
}

func run(ctx context.Context) (*results, error) {
	s, err := loadSettings()
	if err != nil {
		return nil, err
	}
	res := &results{settings: s, machine: testenv.ReadMachine(), startedAt: time.Now()}
	root := testenv.RepoRoot()
	work, err := os.MkdirTemp("", "silo-bench-")
	if err != nil {
		return nil, err
	}
	if s.keep {
		fmt.Fprintln(os.Stderr, "bench: work folder", work)
	} else {
		defer os.RemoveAll(work)
	}
	step := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	var bin string
	if s.operatorRev != "" {
		step("building the operator of %s", s.operatorRev)
		bin, err = testenv.BuildOperatorAt(root, work, s.operatorRev)
	} else {
		step("building the operator")
		bin, err = testenv.BuildOperator(root, work)
	}
	if err != nil {
		return nil, err
	}
	flags, err := testenv.OperatorDefaults(bin)
	if err != nil {
		return nil, err
	}
	for _, a := range s.operatorArgs {
		if k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok {
			flags[k] = v
		}
	}
	res.concurrency, res.qps, res.burst = flags["concurrency"], flags["kube-api-qps"], flags["kube-api-burst"]
	workers, err := strconv.Atoi(res.concurrency)
	if err != nil {
		return nil, fmt.Errorf("--concurrency=%q: %w", res.concurrency, err)
	}
	res.versions = testenv.ReadVersions(root)

	step("starting the control plane")
	p, err := startPlane(work + "/plane-operator")
	if err != nil {
		return nil, err
	}
	defer func() { _ = p.Stop() }()
	opCfg, err := p.AdminUser(operatorUser)
	if err != nil {
		return nil, err
	}
	kubeconfig := work + "/operator.kubeconfig"
	if err := testenv.WriteKubeconfig(opCfg, kubeconfig); err != nil {
		return nil, err
	}
	tr, err := testenv.StartTracker(ctx, p.AdminConfig, testenv.Provisioned)
	if err != nil {
		return nil, err
	}
	op := &testenv.OperatorProcess{Bin: bin, Kubeconfig: kubeconfig, LogPath: work + "/operator.log", Args: s.operatorArgs,
		Defaults: flags}
	step("starting the operator %v", s.operatorArgs)
	if err := op.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = op.Stop() }()
	if res.memEmpty, err = op.Memory(); err != nil {
		return nil, err
	}

	// create makes Tenants and waits until each is provisioned; it returns the time of
	// the last.
	create := func(list []string, timeout time.Duration) (time.Duration, error) {
		start := time.Now()
		if err := testenv.Parallel(list, workers, func(n string) error { return p.Admin.Create(ctx, benchSpec(n)) }); err != nil {
			return 0, fmt.Errorf("creating Tenants: %w", err)
		}
		last, err := tr.Wait(list, timeout)
		return last.Sub(start), err
	}
	total := 0 // Tenants in the cluster

	step("provisioning a sample Tenant to learn what Silo creates")
	const sample = "bench-00000"
	if _, err := create([]string{sample}, time.Minute); err != nil {
		return res, err
	}
	total++
	if _, err := op.WaitIdle(0, time.Minute); err != nil {
		return res, err
	}
	tpl, err := captureTemplates(ctx, p.Admin, sample)
	if err != nil {
		return res, err
	}
	res.children, res.childKinds = len(tpl.objects), tpl.kindCounts()

	step("one new Tenant on an empty cluster, three times")
	if res.newEmpty, err = oneByOne(create, testenv.Names("solo", 1, 3)); err != nil {
		return res, err
	}
	total += 3

	step("provisioning %d Tenants", s.tenants)
	bench := testenv.Names("bench", 1, s.tenants)
	if _, err := op.WaitIdle(0, time.Minute); err != nil {
		return res, err
	}
	q0, err := op.Queue()
	if err != nil {
		return res, err
	}
	allocsPath := os.Getenv("BENCH_ALLOCPROFILE")
	if allocsPath != "" {
		if err := op.AllocsProfile(allocsPath + ".before"); err != nil {
			return res, err
		}
	}
	provProfiled := make(chan error, 1)
	if path := os.Getenv("BENCH_CPUPROFILE_PROVISION"); path != "" {
		// The operator's CPU profile of 15 s of provisioning, from its start or
		// BENCH_CPUPROFILE_AFTER into it, for `go tool pprof`.
		after, err := time.ParseDuration(cmp.Or(os.Getenv("BENCH_CPUPROFILE_AFTER"), "0s"))
		if err != nil {
			return res, fmt.Errorf("BENCH_CPUPROFILE_AFTER: %w", err)
		}
		go func() {
			time.Sleep(after)
			provProfiled <- op.CPUProfile(path, 15*time.Second)
		}()
	} else {
		provProfiled <- nil
	}
	m := p.Audit.Mark()
	if res.provision, err = create(bench, 2*time.Minute+time.Duration(s.tenants)*time.Second); err != nil {
		return res, err
	}
	total += s.tenants
	idle, err := op.WaitIdle(0, 5*time.Minute)
	if err != nil {
		return res, err
	}
	res.settle = idle.Sub(m.At)
	if err := <-provProfiled; err != nil {
		return res, err
	}
	q1, err := op.Queue()
	if err != nil {
		return res, err
	}
	if allocsPath != "" {
		if err := op.AllocsProfile(allocsPath); err != nil {
			return res, err
		}
	}
	res.provReconciles, res.provCPU, res.provAlloc = q1.Reconciles-q0.Reconciles, q1.CPUSeconds-q0.CPUSeconds, q1.AllocBytes-q0.AllocBytes
	step("provisioned in %s: %.1f reconciles, %.1f ms of operator CPU and %.2f MiB allocated per Tenant", testenv.Secs(res.provision),
		res.provReconciles/float64(s.tenants), res.provCPU*1000/float64(s.tenants), res.provAlloc/float64(s.tenants)/(1<<20))
	if res.provReq, err = p.Audit.Since(m, operatorUser); err != nil {
		return res, err
	}
	if err := checkChildren(ctx, p.Admin, tpl, total); err != nil {
		return res, err
	}

	step("steady state: touching every Tenant")
	before, err := op.Queue()
	if err != nil {
		return res, err
	}
	all := &silov1.TenantList{}
	if err := p.Admin.List(ctx, all); err != nil {
		return res, err
	}
	profiled := make(chan error, 1)
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		// The operator's CPU profile of the steady-state phase, for `go tool pprof`.
		go func() { profiled <- op.CPUProfile(path, 10*time.Second) }()
	} else {
		profiled <- nil
	}
	m = p.Audit.Mark()
	err = testenv.Parallel(all.Items, workers, func(t silov1.Tenant) error {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"bench.silo.dev/touched":%q}}}`, m.At.Format(time.RFC3339Nano))
		return p.Admin.Patch(ctx, &t, client.RawPatch(types.MergePatchType, []byte(patch)))
	})
	if err != nil {
		return res, err
	}
	if idle, err = op.WaitIdle(before.Reconciles+float64(len(all.Items)), 5*time.Minute); err != nil {
		return res, err
	}
	res.steady = idle.Sub(m.At)
	if err := <-profiled; err != nil {
		return res, err
	}
	if res.steadyReq, err = p.Audit.Since(m, operatorUser); err != nil {
		return res, err
	}

	step("one new Tenant among %d, three times", total)
	if res.newAmong, err = oneByOne(create, testenv.Names("late", 1, 3)); err != nil {
		return res, err
	}
	total += 3

	step("drift repair on %d Tenants", s.drift)
	if res.drift, res.driftKind, err = driftRepair(ctx, p, tpl, bench, s.drift); err != nil {
		return res, err
	}
	if _, err := op.WaitIdle(0, time.Minute); err != nil {
		return res, err
	}

	step("memory at %d Tenants", total)
	if res.memN, err = op.Memory(); err != nil {
		return res, err
	}
	step("creating %d unrelated ConfigMaps and Secrets", s.unrelated)
	if err := createUnrelated(ctx, p.Admin, s.unrelated); err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second)
	if res.memUnrelated, err = op.Memory(); err != nil {
		return res, err
	}

	step("restarting the operator")
	if err := op.Stop(); err != nil {
		return res, err
	}
	m = p.Audit.Mark()
	if err := op.Start(); err != nil {
		return res, err
	}
	if idle, err = op.WaitIdle(float64(total), 5*time.Minute); err != nil {
		return res, err
	}
	res.restart = idle.Sub(op.Started)
	if res.restartReq, err = p.Audit.Since(m, operatorUser); err != nil {
		return res, err
	}

	step("restarting the operator with a new Tenant arriving during the resync")
	if err := op.Stop(); err != nil {
		return res, err
	}
	if err := op.Start(); err != nil {
		return res, err
	}
	for {
		q, err := op.Queue()
		if err != nil {
			return res, err
		}
		if q.Reconciles > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res.prioNew, err = create([]string{"prio-00001"}, time.Minute); err != nil {
		return res, err
	}
	total++
	if idle, err = op.WaitIdle(float64(total), 5*time.Minute); err != nil {
		return res, err
	}
	res.prioResync = idle.Sub(op.Started)
	_ = op.Stop()
	_ = p.Stop()

	for _, apply := range []bool{false, true} {
		if !s.ceiling {
			break
		}
		how := "create"
		if apply {
			how = "server-side apply"
		}
		step("the API server's ceiling (%s): %d Tenants' objects with a plain client, %d in parallel", how, s.tenants, workers)
		d, reqs, err := ceiling(ctx, work+"/plane-ceiling-"+strings.ReplaceAll(how, " ", "-"), tpl, bench, workers, apply)
		if err != nil {
			return res, err
		}
		if apply {
			res.ceilingApply = d
		} else {
			res.ceiling, res.ceilReq = d, reqs
		}
	}

	res.kwok = kwokStatus(root)
	res.finishedAt = time.Now()
	if s.out != "" {
		if err := res.quiet(); err != nil {
			return res, err
		}
		if err := res.writeDoc(s.out); err != nil {
			return res, err
		}
		step("wrote %s", s.out)
	}
	return res, res.check()
}

// ceiling measures the API server's ceiling on a control plane of its own.
func ceiling(ctx context.Context, dir string, tpl *templates, bench []string, workers int, apply bool) (time.Duration, testenv.Requests, error) {
	c, err := startPlane(dir)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = c.Stop() }()
	cfg, err := c.AdminUser(ceilingUser)
	if err != nil {
		return 0, nil, err
	}
	cfg.QPS, cfg.Burst = -1, 0
	cl, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return 0, nil, err
	}
	// The same warm-up the operator's control plane had (the sample and three more).
	if _, err := runCeiling(ctx, cl, tpl, testenv.Names("warm", 0, 4), benchSpec, workers, apply); err != nil {
		return 0, nil, err
	}
	m := c.Audit.Mark()
	d, err := runCeiling(ctx, cl, tpl, bench, benchSpec, workers, apply)
	if err != nil {
		return 0, nil, err
	}
	reqs, err := c.Audit.Since(m, ceilingUser)
	return d, reqs, err
}

// oneByOne provisions each Tenant alone and returns the median time.
func oneByOne(create func([]string, time.Duration) (time.Duration, error), list []string) (time.Duration, error) {
	var ds []time.Duration
	for _, n := range list {
		d, err := create([]string{n}, time.Minute)
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	return percentile(ds, 50), nil
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

// checkChildren verifies that every Tenant got as many children of each kind as the
// sample did: provisioned means applied, not just reported.
func checkChildren(ctx context.Context, c client.Client, tpl *templates, tenants int) error {
	want := map[string]int{}
	for _, k := range tpl.kinds {
		want[k] += tenants
	}
	for kind, n := range want {
		list := &unstructured.UnstructuredList{}
		gv := "v1"
		for _, obj := range append([]client.Object{&corev1.Namespace{}}, controllers.OwnedTypes()...) {
			gvk, _ := c.GroupVersionKindFor(obj)
			if gvk.Kind == kind {
				gv = gvk.GroupVersion().String()
			}
		}
		list.SetAPIVersion(gv)
		list.SetKind(kind + "List")
		if err := c.List(ctx, list, client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue}); err != nil {
			return err
		}
		if len(list.Items) != n {
			return fmt.Errorf("%d %s objects for %d Tenants, want %d", len(list.Items), kind, tenants, n)
		}
	}
	return nil
}

// driftRepair deletes one child (a NetworkPolicy when Silo makes any) of n random
// Tenants, one after the other, and measures how long each takes to come back, seen
// through a watch.
func driftRepair(ctx context.Context, p *testenv.Audited, tpl *templates, tenants []string, n int) ([]time.Duration, string, error) {
	idx := -1
	for i, k := range tpl.kinds {
		if k == "NetworkPolicy" || (idx < 0 && k != "Namespace") {
			idx = i
		}
		if k == "NetworkPolicy" {
			break
		}
	}
	if idx < 0 {
		return nil, "", fmt.Errorf("the sample Tenant has no namespaced child to delete")
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(tpl.objects[idx])); err != nil {
		return nil, "", err
	}
	gvk := u.GroupVersionKind()
	mapping, err := p.Admin.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, "", err
	}
	dyn, err := dynamic.NewForConfig(p.AdminConfig)
	if err != nil {
		return nil, "", err
	}
	res := dyn.Resource(mapping.Resource)
	sel := silov1.ManagedByLabel + "=" + silov1.ManagedByValue
	list, err := res.List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
	if err != nil {
		return nil, "", err
	}
	w, err := res.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		return nil, "", err
	}
	defer w.Stop()
	added := make(chan string, 1024)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			if o, ok := ev.Object.(*unstructured.Unstructured); ok {
				added <- o.GetNamespace() + "/" + o.GetName()
			}
		}
	}()
	pick := rand.New(rand.NewPCG(1, 2)).Perm(len(tenants))[:n]
	var ds []time.Duration
	for _, i := range pick {
		ns := controllers.NamespacePrefix + tenants[i]
		obj := strings.ReplaceAll(u.GetName(), placeholder, tenants[i])
		start := time.Now()
		if err := res.Namespace(ns).Delete(ctx, obj, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, "", err
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case key := <-added:
				if key == ns+"/"+obj {
					ds = append(ds, time.Since(start))
					break wait
				}
			case <-timeout:
				return nil, "", fmt.Errorf("%s %s/%s was not put back within 30s", gvk.Kind, ns, obj)
			}
		}
	}
	return ds, gvk.Kind + " " + strings.ReplaceAll(u.GetName(), placeholder, "<tenant>"), nil
}

// createUnrelated creates n ConfigMaps and Secrets (half each, 1 KiB of data) in ten
// namespaces that have nothing to do with Silo.
func createUnrelated(ctx context.Context, c client.Client, n int) error {
	const spaces = 10
	for i := range spaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i)}}
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	data := strings.Repeat("x", 1024)
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	return testenv.Parallel(items, 16, func(i int) error {
		meta := metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i), Namespace: fmt.Sprintf("unrelated-%d", i%spaces),
			Labels: map[string]string{"app.kubernetes.io/name": "other"}}
		var obj client.Object = &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"data": data}}
		if i%2 == 1 {
			obj = &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"data": data}}
		}
		return c.Create(ctx, obj)
	})
}

// kwokStatus runs measurement 8 on the local kwok cluster when BENCH_KWOK_TENANTS is
// set (hack/bench-kwok.sh), and says why not otherwise.
func kwokStatus(root string) string {
	n := os.Getenv("BENCH_KWOK_TENANTS")
	if n == "" || n == "0" {
		return "not run: set BENCH_KWOK_TENANTS=100 to run hack/bench-kwok.sh on the local kwok cluster"
	}
	fmt.Fprintf(os.Stderr, "bench: %s the local kwok cluster: %s Tenants to Ready with simulated pods (hack/bench-kwok.sh)\n",
		time.Now().UTC().Format("15:04:05"), n)
	cmd := exec.Command(root+"/hack/bench-kwok.sh", n)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if err != nil {
		return fmt.Sprintf("failed: %v %s", err, last)
	}
	return last
}
