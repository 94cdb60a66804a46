// Command chaos provisions full Tenants while the operator is killed with SIGKILL at
// random moments and kube-apiserver is restarted, while a second writer fights Silo
// over fields it owns and fuzzed Tenant specs arrive, then checks that Silo converged
// without losing data: every Tenant Ready, no credential changed, no volume claim
// deleted or recreated, no panic, and no write at rest. `make test-chaos` runs it; see
// docs/chaos.md.
//
// Settings come from the environment:
//
//	CHAOS_TENANTS        full Tenants (all six components) to provision (default 200)
//	CHAOS_KILLS          SIGKILLs of the operator while they provision (default 20)
//	CHAOS_API_RESTARTS   restarts of kube-apiserver during the kills (default 1)
//	CHAOS_FUZZ           fuzzed Tenant specs to submit (default 100)
//	CHAOS_FIGHTS         edits the second writer makes to managed fields (default 20)
//	CHAOS_SEED           seed of the schedule, the fuzzed specs and the fights
//	                     (default: a random one, printed)
//	CHAOS_QUIET          seconds of the quiet window in which writes are counted (default 10)
//	CHAOS_OPERATOR_ARGS  extra operator flags
//	CHAOS_WRITE=1        write the results into docs/chaos.md
//	CHAOS_OUT            write the results into this file instead
//	CHAOS_KEEP=1         keep the work folder (operator log, API server audit log)
//
// The seed fixes what happens and in which order (which Tenants, which specs, which
// edits, how long the operator lives between kills); the machine decides how far the
// operator got when each kill lands. The run never fails on a timing.
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
	"github.com/silo-dev/silo/test/testenv"
)

func main() {
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	// client-go's reflectors complain on every retry while kube-apiserver restarts.
	klog.SetLogger(logr.Discard())
	res, err := run(context.Background())
	if res != nil {
		// The control plane and the operator have stopped: the CPU other processes
		// used can be told apart from the run's own.
		res.foreign, res.foreignOK = res.machine.ForeignCores(time.Since(res.startedAt))
		fmt.Printf("Seed %d: `%s`\n\n%s", res.seed, res.command(), res.table())
	}
	if res != nil && !res.finishedAt.IsZero() && res.out != "" {
		if werr := res.writeDoc(res.out); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintln(os.Stderr, "chaos: wrote", res.out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		if res != nil {
			fmt.Fprintf(os.Stderr, "chaos: the same schedule: %s\n", res.command())
		}
		os.Exit(1)
	}
}

// settings are the run's knobs.
type settings struct {
	tenants, kills, apiRestarts, fuzz, fights int
	seed                                      uint64
	quiet                                     time.Duration
	operatorArgs                              []string
	out                                       string
	keep                                      bool
}

func loadSettings() (settings, error) {
	s := settings{operatorArgs: strings.Fields(os.Getenv("CHAOS_OPERATOR_ARGS")), keep: os.Getenv("CHAOS_KEEP") == "1"}
	for _, v := range []struct {
		name string
		def  int
		into *int
	}{
		{"CHAOS_TENANTS", 200, &s.tenants}, {"CHAOS_KILLS", 20, &s.kills}, {"CHAOS_API_RESTARTS", 1, &s.apiRestarts},
		{"CHAOS_FUZZ", 100, &s.fuzz}, {"CHAOS_FIGHTS", 20, &s.fights},
	} {
		n, err := testenv.EnvInt(v.name, v.def)
		if err != nil {
			return s, err
		}
		*v.into = n
	}
	if s.tenants < 1 {
		return s, errors.New("CHAOS_TENANTS must be at least 1")
	}
	if s.apiRestarts > s.kills {
		return s, errors.New("CHAOS_API_RESTARTS must not exceed CHAOS_KILLS: kube-apiserver restarts between two kills")
	}
	s.fights = min(s.fights, s.tenants)
	quiet, err := testenv.EnvInt("CHAOS_QUIET", 10)
	if err != nil {
		return s, err
	}
	s.quiet = time.Duration(quiet) * time.Second
	s.seed = rand.Uint64() >> 1
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		if s.seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return s, fmt.Errorf("CHAOS_SEED=%q: want a number", v)
		}
	}
	s.out = os.Getenv("CHAOS_OUT")
	if s.out == "" && os.Getenv("CHAOS_WRITE") == "1" {
		s.out = filepath.Join(testenv.RepoRoot(), "docs", "chaos.md")
	}
	return s, nil
}

// command is the command line that reproduces this run's schedule.
func (s settings) command() string {
	cmd := fmt.Sprintf("make test-chaos CHAOS_TENANTS=%d CHAOS_KILLS=%d CHAOS_API_RESTARTS=%d CHAOS_FUZZ=%d CHAOS_FIGHTS=%d CHAOS_SEED=%d",
		s.tenants, s.kills, s.apiRestarts, s.fuzz, s.fights, s.seed)
	if len(s.operatorArgs) > 0 {
		cmd += fmt.Sprintf(" CHAOS_OPERATOR_ARGS=%q", strings.Join(s.operatorArgs, " "))
	}
	return cmd
}

// plan is everything the seed decides.
type plan struct {
	// waves of full Tenants and fuzzed specs: wave 0 at the start, wave i+1 right
	// after the operator comes back from kill i.
	waves [][]string
	fuzz  [][]*silov1.Tenant
	// uptime[i] is how long the operator runs before kill i; downtime[i] how long it
	// stays dead.
	uptime, downtime []time.Duration
	// apiRestarts maps a kill to how long kube-apiserver stays down after it.
	apiRestarts map[int]time.Duration
	fights      []fightPlan
}

// split cuts items into n nearly equal parts, in order.
func split[T any](items []T, n int) [][]T {
	out := make([][]T, n)
	for i := range n {
		out[i] = items[i*len(items)/n : (i+1)*len(items)/n]
	}
	return out
}

func ms(r *rand.Rand, from, to int) time.Duration {
	return time.Duration(from+r.IntN(to-from+1)) * time.Millisecond
}

func newPlan(s settings, r *rand.Rand) plan {
	names := testenv.Names("chaos", 1, s.tenants)
	p := plan{waves: split(names, s.kills+1), apiRestarts: map[int]time.Duration{}}
	var fuzzed []*silov1.Tenant
	for i := range s.fuzz {
		fuzzed = append(fuzzed, fuzzTenant(r, i+1))
	}
	p.fuzz = split(fuzzed, s.kills+1)
	for range s.kills {
		p.uptime = append(p.uptime, ms(r, 200, 3000))
		p.downtime = append(p.downtime, ms(r, 0, 1000))
	}
	// kube-apiserver restarts in the middle third of the kills, where Tenants are
	// half provisioned.
	lo, hi := s.kills/3, max(s.kills/3, 2*s.kills/3-1)
	for len(p.apiRestarts) < s.apiRestarts {
		k := lo + r.IntN(hi-lo+1)
		if len(p.apiRestarts) >= hi-lo+1 {
			k = r.IntN(s.kills)
		}
		if _, taken := p.apiRestarts[k]; !taken {
			p.apiRestarts[k] = ms(r, 1000, 3000)
		}
	}
	// Fights start at random moments of the chaos, each on its own Tenant.
	var chaos time.Duration
	for i := range s.kills {
		chaos += p.uptime[i] + p.downtime[i]
	}
	offset := r.IntN(len(fightKinds))
	for j, i := range r.Perm(s.tenants)[:s.fights] {
		p.fights = append(p.fights, fightPlan{tenant: names[i], kind: (offset + j) % len(fightKinds),
			after: time.Duration(r.Int64N(int64(chaos) + 1))})
	}
	return p
}

// fuzzOutcome is what the API server said to one fuzzed spec.
type fuzzOutcome struct {
	name    string
	refused bool
	// status is the refusal's status (code, message, causes).
	status *apierrors.StatusError
}

// submitFuzz creates a fuzzed Tenant, retrying while kube-apiserver is away, and says
// whether it was refused.
func submitFuzz(ctx context.Context, c client.Client, t *silov1.Tenant) (fuzzOutcome, error) {
	out := fuzzOutcome{name: t.Name}
	tried := false
	err := retry(ctx, func() error {
		err := c.Create(ctx, t.DeepCopy())
		if apierrors.IsAlreadyExists(err) && tried {
			return nil // an earlier attempt got through before the connection dropped
		}
		tried = true
		return err
	})
	var st *apierrors.StatusError
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &st) && (st.ErrStatus.Code == 422 || st.ErrStatus.Code == 400):
		out.refused, out.status = true, st
		return out, nil
	default:
		return out, fmt.Errorf("creating fuzzed Tenant %s: %w", t.Name, err)
	}
}

// refusalProblem says what is wrong with a refusal a person would get: no message, or
// a cause without one.
func refusalProblem(o fuzzOutcome) string {
	st := o.status.ErrStatus
	if strings.TrimSpace(st.Message) == "" {
		return fmt.Sprintf("fuzzed Tenant %s was refused (%d %s) with no message", o.name, st.Code, st.Reason)
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if strings.TrimSpace(c.Message) == "" {
				return fmt.Sprintf("fuzzed Tenant %s was refused with a cause on %s that has no message", o.name, c.Field)
			}
		}
	}
	return ""
}

// createFull creates full Tenants, retrying while kube-apiserver is away.
func createFull(ctx context.Context, c client.Client, names []string) error {
	return testenv.Parallel(names, 4, func(n string) error {
		tried := false
		return retry(ctx, func() error {
			err := c.Create(ctx, testenv.FullTenant(n))
			if apierrors.IsAlreadyExists(err) && tried {
				return nil
			}
			tried = true
			return err
		})
	})
}

func run(ctx context.Context) (*results, error) {
	s, err := loadSettings()
	if err != nil {
		return nil, err
	}
	res := &results{settings: s, machine: testenv.ReadMachine(), startedAt: time.Now()}
	step := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "chaos: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	step("seed %d (CHAOS_SEED=%d replays this schedule)", s.seed, s.seed)
	pl := newPlan(s, rand.New(rand.NewPCG(s.seed, 0x5110)))
	root := testenv.RepoRoot()
	work, err := os.MkdirTemp("", "silo-chaos-")
	if err != nil {
		return nil, err
	}
	if s.keep {
		step("work folder %s", work)
	} else {
		defer os.RemoveAll(work)
	}

	step("building the operator")
	bin, err := testenv.BuildOperator(root, work)
	if err != nil {
		return nil, err
	}
	res.versions = testenv.ReadVersions(root)
	step("starting the control plane")
	apiLog, err := os.Create(work + "/kube-apiserver.log")
	if err != nil {
		return nil, err
	}
	defer apiLog.Close()
	p, err := testenv.StartAudited(work+"/plane", []string{testenv.OperatorUsername, fighterUser}, testenv.WithAPIServerOutput(apiLog))
	if err != nil {
		return nil, err
	}
	defer func() { _ = p.Stop() }()
	if err := testenv.GrantOperatorRBAC(ctx, p.Admin); err != nil {
		return nil, err
	}
	// The operator's own namespace, where it keeps class revisions and reads external
	// services' Secrets.
	if err := p.Admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllers.DefaultConfig().OperatorNamespace}}); err != nil {
		return nil, err
	}
	opCfg, err := p.OperatorConfig()
	if err != nil {
		return nil, err
	}
	kubeconfig := work + "/operator.kubeconfig"
	if err := testenv.WriteKubeconfig(opCfg, kubeconfig); err != nil {
		return nil, err
	}
	fightCfg, err := p.AdminUser(fighterUser)
	if err != nil {
		return nil, err
	}
	fightClient, err := client.New(fightCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	settler, err := testenv.StartSettler(ctx, p.AdminConfig, 4)
	if err != nil {
		return nil, err
	}
	g, err := startGuard(ctx, p.AdminConfig)
	if err != nil {
		return nil, err
	}
	tr, err := testenv.StartTracker(ctx, p.AdminConfig, testenv.Ready)
	if err != nil {
		return nil, err
	}
	begin := p.Audit.Mark()
	op := &testenv.OperatorProcess{Bin: bin, Kubeconfig: kubeconfig, LogPath: work + "/operator.log", Args: s.operatorArgs}
	step("starting the operator as %s", testenv.OperatorUsername)
	if err := op.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = op.Stop() }()

	res.retrying = map[string]bool{}
	// settled is set once every Tenant has converged and the operator is idle: an
	// edit still in place then is one Silo will never repair.
	var settled atomic.Bool
	fr := &fighter{c: fightClient, admin: p.Admin, settled: func() bool {
		if !settled.Load() {
			return false
		}
		_, err := op.WaitIdle(0, time.Minute)
		return err == nil
	}}
	fightResults := make([]fightResult, len(pl.fights))
	var fights sync.WaitGroup
	for i, f := range pl.fights {
		fights.Go(func() {
			time.Sleep(f.after)
			fightResults[i] = fr.round(ctx, f)
		})
	}

	var (
		creators sync.WaitGroup
		mu       sync.Mutex
		outcomes []fuzzOutcome
		errs     []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	wave := func(i int) {
		creators.Go(func() {
			if err := createFull(ctx, p.Admin, pl.waves[i]); err != nil {
				fail(err)
			}
		})
		creators.Go(func() {
			for _, t := range pl.fuzz[i] {
				o, err := submitFuzz(ctx, p.Admin, t)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		})
	}

	step("chaos: %d Tenants and %d fuzzed specs in %d waves, %d kills, %d kube-apiserver restart(s), %d fights",
		s.tenants, s.fuzz, s.kills+1, s.kills, s.apiRestarts, s.fights)
	chaosStart := time.Now()
	for i := 0; ; i++ {
		wave(i)
		if i == s.kills {
			break
		}
		time.Sleep(pl.uptime[i])
		if err := op.Kill(); err != nil {
			return res, err
		}
		res.kills++
		time.Sleep(pl.downtime[i])
		if err := op.Start(); err != nil {
			return res, err
		}
		if down, ok := pl.apiRestarts[i]; ok {
			step("kill %d done; restarting kube-apiserver (down %s)", i+1, down)
			if err := p.RestartAPIServer(down); err != nil {
				return res, err
			}
			res.apiRestarts++
			res.apiDown += down
		}
	}
	creators.Wait()
	res.chaos = time.Since(chaosStart)
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.fuzz = outcomes
	step("chaos over after %s: %d kills, %d kube-apiserver restart(s)", testenv.Secs(res.chaos), res.kills, res.apiRestarts)

	step("waiting until every Tenant is Ready")
	full := testenv.Names("chaos", 1, s.tenants)
	readyDeadline := time.Now().Add(10*time.Minute + time.Duration(s.tenants)*time.Second)
	for len(tr.Missing(full)) > 0 && time.Now().Before(readyDeadline) {
		time.Sleep(200 * time.Millisecond)
	}
	res.ready = time.Since(chaosStart)
	tenants, err := tr.Tenants(ctx)
	if err != nil {
		return res, err
	}
	res.readyCount, res.stuck = countReady(tenants, full)

	step("waiting until every accepted fuzzed Tenant is reconciled")
	accepted := map[string]bool{}
	for _, o := range outcomes {
		if !o.refused {
			accepted[o.name] = true
		}
	}
	for time.Now().Before(readyDeadline) {
		if tenants, err = tr.Tenants(ctx); err != nil {
			return res, err
		}
		if res.fuzzUnreported = unreported(tenants, accepted); len(res.fuzzUnreported) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.fuzzStates = fuzzStates(tenants, accepted)

	if _, err := op.WaitIdle(0, 5*time.Minute); err != nil {
		return res, err
	}
	settled.Store(true)
	step("waiting for the second writer's %d rounds", len(pl.fights))
	fights.Wait()
	res.fights = fightResults

	step("at rest: counting the operator's writes over %s", s.quiet)
	if _, err := op.WaitIdle(0, 5*time.Minute); err != nil {
		return res, err
	}
	m := p.Audit.Mark()
	time.Sleep(s.quiet)
	events, err := p.Audit.Events(m, testenv.OperatorUsername)
	if err != nil {
		return res, err
	}
	res.restWrites, res.restRetries = attribute(events, accepted, res.retrying)

	step("a last SIGKILL and restart: counting the operator's writes until it is idle")
	if err := op.Kill(); err != nil {
		return res, err
	}
	m = p.Audit.Mark()
	if err := op.Start(); err != nil {
		return res, err
	}
	if _, err := op.WaitIdle(float64(len(tenants)), 5*time.Minute); err != nil {
		return res, err
	}
	if events, err = p.Audit.Events(m, testenv.OperatorUsername); err != nil {
		return res, err
	}
	res.restartWrites, res.restartRetries = attribute(events, accepted, res.retrying)

	if err := g.verify(ctx, p.Admin); err != nil {
		return res, err
	}
	res.secrets, res.claims, res.guardViolations = g.counts()
	all, err := p.Audit.Events(begin, testenv.OperatorUsername)
	if err != nil {
		return res, err
	}
	res.operatorWrites = testenv.CountRequests(all).Writes()
	countWrites(res.fights, all)
	res.settlerWrites = settler.Writes()
	if res.panics, err = panics(op.LogPath); err != nil {
		return res, err
	}
	res.exits = op.UnexpectedExits()
	res.finishedAt = time.Now()
	return res, res.check()
}

// countReady counts the named Tenants that are Ready and describes the others.
func countReady(tenants []silov1.Tenant, names []string) (int, []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ready := 0
	var stuck []string
	for i := range tenants {
		t := &tenants[i]
		if !want[t.Name] {
			continue
		}
		delete(want, t.Name)
		if testenv.Ready(t) {
			ready++
			continue
		}
		stuck = append(stuck, describe(t))
	}
	for n := range want {
		stuck = append(stuck, n+": not found")
	}
	return ready, stuck
}

// describe is one line about a Tenant's status.
func describe(t *silov1.Tenant) string {
	c := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
	if c == nil {
		return fmt.Sprintf("%s: generation %d, no Ready condition", t.Name, t.Generation)
	}
	return fmt.Sprintf("%s: generation %d, observed %d, phase %s, Ready=%s %s (generation %d): %s",
		t.Name, t.Generation, t.Status.ObservedGeneration, t.Status.Phase, c.Status, c.Reason, c.ObservedGeneration, c.Message)
}

// reported reports whether the operator has told, in the Ready condition, what it
// made of the Tenant's current spec.
func reported(t *silov1.Tenant) bool {
	c := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition)
	return c != nil && c.ObservedGeneration == t.Generation && (c.Status == "True" || strings.TrimSpace(c.Message) != "")
}

// unreported describes the accepted fuzzed Tenants whose status does not yet tell
// what became of their spec.
func unreported(tenants []silov1.Tenant, accepted map[string]bool) []string {
	var out []string
	found := 0
	for i := range tenants {
		t := &tenants[i]
		if !accepted[t.Name] {
			continue
		}
		found++
		if !reported(t) {
			out = append(out, describe(t))
		}
	}
	if found < len(accepted) {
		out = append(out, fmt.Sprintf("%d accepted fuzzed Tenants not found", len(accepted)-found))
	}
	return out
}

// fuzzStates returns each accepted fuzzed Tenant's phase and Ready reason.
func fuzzStates(tenants []silov1.Tenant, accepted map[string]bool) map[string]string {
	states := map[string]string{}
	for i := range tenants {
		t := &tenants[i]
		if !accepted[t.Name] {
			continue
		}
		reason := "no Ready condition"
		if c := meta.FindStatusCondition(t.Status.Conditions, silov1.ReadyCondition); c != nil {
			reason = c.Reason
		}
		states[t.Name] = string(t.Status.Phase) + " (" + reason + ")"
	}
	return states
}

// attribute splits the operator's writes into those about accepted fuzzed Tenants
// whose children the API server refuses (the operator retries them with backoff, as
// it must: nothing tells it when the refusal would stop) and all others, which must
// be none at rest. retrying collects the Tenants of the first kind.
func attribute(events []testenv.AuditEvent, fuzzed, retrying map[string]bool) (writes, retries testenv.Requests) {
	for _, e := range events {
		code := 0
		if e.ResponseStatus != nil {
			code = e.ResponseStatus.Code
		}
		if t := tenantOf(e); fuzzed[t] && testenv.IsWrite(e.Verb) && code >= 400 && code != 409 {
			retrying[t] = true
		}
	}
	var rest, retry []testenv.AuditEvent
	for _, e := range events {
		if !testenv.IsWrite(e.Verb) {
			continue
		}
		if retrying[tenantOf(e)] {
			retry = append(retry, e)
		} else {
			rest = append(rest, e)
		}
	}
	return testenv.CountRequests(rest), testenv.CountRequests(retry)
}

// tenantOf names the Tenant a request is about: a Tenant itself, an object in its
// namespace, or an event about it.
func tenantOf(e testenv.AuditEvent) string {
	ref := e.ObjectRef
	switch {
	case ref == nil:
		return ""
	case ref.Resource == "tenants":
		return ref.Name
	case strings.HasPrefix(ref.Namespace, controllers.NamespacePrefix):
		return strings.TrimPrefix(ref.Namespace, controllers.NamespacePrefix)
	case ref.Resource == "events":
		name, _, _ := strings.Cut(ref.Name, ".")
		return name
	}
	return ""
}

var panicLine = regexp.MustCompile(`(?i)panic`)

// panics returns the lines of the operator's log that speak of a panic, recovered or
// not.
func panics(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if panicLine.MatchString(l) {
			out = append(out, l)
		}
	}
	return out, nil
}
