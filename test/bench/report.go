package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// results are everything one run measured.
type results struct {
	settings
	machine               machine
	versions              []string
	startedAt, finishedAt time.Time

	concurrency, qps, burst string
	children                int
	childKinds              string

	provision, settle, ceiling time.Duration
	ceilingApply               time.Duration
	provReq, ceilReq           requests
	provReconciles, provCPU    float64

	steady    time.Duration
	steadyReq requests

	newEmpty, newAmong time.Duration

	drift     []time.Duration
	driftKind string

	memEmpty, memN, memUnrelated memory

	restart    time.Duration
	restartReq requests
	prioNew    time.Duration
	prioResync time.Duration

	kwok string
}

type machine struct {
	cpu        string
	cores      int
	memTotal   string
	loadBefore string
	loadAfter  string
	kernel     string
	// busyBefore is the machine's busy CPU time (all processes) when the run began.
	busyBefore time.Duration
}

func readMachine() machine {
	m := machine{cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if v := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); v != nil {
			m.cpu = strings.TrimSpace(string(v[1]))
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); v != nil {
			var kb float64
			fmt.Sscan(string(v[1]), &kb)
			m.memTotal = fmt.Sprintf("%.1f GiB", kb/1024/1024)
		}
	}
	m.loadBefore = loadavg()
	m.busyBefore = machineBusy()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	return m
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux architecture Go
// supports.
const clockTicks = 100

// machineBusy returns the CPU time every process on the machine has used since boot
// (the busy columns of /proc/stat's cpu line), or 0 when it cannot be read.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	// user nice system idle iowait irq softirq steal: idle and iowait are not busy.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// ownCPU returns the CPU time of this process and of every child it has waited for
// (the compiler, kube-apiserver, etcd, the operator): the run's own work.
func ownCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			continue
		}
		total += time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
	}
	return total
}

// maxForeignCores is how much CPU, in cores on average over the run, processes other
// than the benchmark's own may have used before the run counts as shared. A shared
// run's ratios are not comparable with a quiet one's, so it is never written to the
// doc.
const maxForeignCores = 0.25

// foreignCores returns the CPU other processes used during the run, in cores on
// average over its wall time, measured as the machine's busy time minus the run's
// own. Call it after every child process has been stopped and waited for.
func (r *results) foreignCores() (float64, bool) {
	busy := machineBusy()
	wall := r.finishedAt.Sub(r.startedAt)
	if busy == 0 || r.machine.busyBefore == 0 || wall <= 0 {
		return 0, false
	}
	foreign := busy - r.machine.busyBefore - ownCPU()
	return max(0, foreign.Seconds()/wall.Seconds()), true
}

// quiet returns an error when other work shared the machine during the run.
func (r *results) quiet() error {
	f, ok := r.foreignCores()
	if !ok {
		return errors.New("cannot tell whether the machine was quiet (no /proc/stat): not writing the results")
	}
	if f > maxForeignCores {
		return fmt.Errorf("other processes used %.2f cores on average during the run (more than %.2f): "+
			"the machine was shared, so the ratios are not comparable; not writing the results. "+
			"Stop other work and run again", f, maxForeignCores)
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func readVersions(root string) []string {
	out := []string{"Go " + strings.TrimPrefix(runtime.Version(), "go")}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if b, err := exec.Command(filepath.Join(assets, "kube-apiserver"), "--version").Output(); err == nil {
		out = append(out, "kube-apiserver "+strings.TrimPrefix(strings.TrimSpace(string(b)), "Kubernetes "))
	}
	if b, err := exec.Command(filepath.Join(assets, "etcd"), "--version").Output(); err == nil {
		if v := regexp.MustCompile(`etcd Version: (\S+)`).FindSubmatch(b); v != nil {
			out = append(out, "etcd "+string(v[1]))
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "sigs.k8s.io/controller-runtime", "k8s.io/client-go":
				out = append(out, d.Path+" "+d.Version)
			}
		}
	}
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if b, err := cmd.Output(); err == nil {
		out = append(out, "silo "+strings.TrimSpace(string(b)))
	}
	return out
}

// reconcileReads are the GET and LIST requests of resources beyond one LIST per
// watched kind (the informers' initial sync, when it is not a streaming watch): those
// a reconcile or a re-list sent.
func reconcileReads(r requests) int {
	n := 0
	for k, v := range r {
		verb, resource, _ := strings.Cut(k, " ")
		if strings.HasPrefix(resource, "(non-resource") {
			continue // discovery at start-up
		}
		switch verb {
		case "get":
			n += v
		case "list":
			n += v - 1
		}
	}
	return n
}

// duplicateWatches are watches beyond one per kind.
func duplicateWatches(r requests) int {
	n := 0
	for k, v := range r {
		if strings.HasPrefix(k, "watch ") && v > 1 {
			n += v - 1
		}
	}
	return n
}

func secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

type row struct{ name, silo, ref, ratio, goal, met string }

func (r *results) rows() []row {
	n := r.tenants
	ratio := r.provision.Seconds() / r.ceiling.Seconds()
	writesPer := float64(r.provReq.writes()) / float64(n)
	heapGrowth := (float64(r.memUnrelated.heapInuse)/float64(r.memN.heapInuse) - 1) * 100
	p50, p99 := percentile(r.drift, 50), percentile(r.drift, 99)
	newRatio := r.newAmong.Seconds() / r.newEmpty.Seconds()
	ceilPer := float64(r.ceilReq.writes()) / float64(n)
	return []row{
		{fmt.Sprintf("1. provision %d Tenants (wall)", n), secs(r.provision), "ceiling " + secs(r.ceiling),
			fmt.Sprintf("%.2fx", ratio), "<= 1.3x", yes(ratio <= 1.3)},
		{"1. ceiling with server-side apply", "", "ceiling " + secs(r.ceilingApply), fmt.Sprintf("%.2fx", r.provision.Seconds()/r.ceilingApply.Seconds()), "", ""},
		{"1. throughput", fmt.Sprintf("%.1f Tenants/s", float64(n)/r.provision.Seconds()),
			fmt.Sprintf("ceiling %.1f Tenants/s", float64(n)/r.ceiling.Seconds()), "", "", ""},
		{"1. until the operator is idle", secs(r.settle), "", "", "", ""},
		{"1. operator work per Tenant", fmt.Sprintf("%.1f reconciles, %.1f ms CPU", r.provReconciles/float64(n), r.provCPU*1000/float64(n)), "", "", "", ""},
		{"2. writes per Tenant", fmt.Sprintf("%.2f", writesPer), fmt.Sprintf("ceiling %.2f; children %d", ceilPer, r.children),
			"", fmt.Sprintf("<= children + 3 = %d", r.children+3), yes(writesPer <= float64(r.children+3))},
		{"2. GET/LIST from reconciles", fmt.Sprint(r.provReq.reads()), "", "", "0", yes(r.provReq.reads() == 0)},
		{"3. steady state: writes", fmt.Sprint(r.steadyReq.writes()), "", "", "0", yes(r.steadyReq.writes() == 0)},
		{"3. steady state: every Tenant reconciled", secs(r.steady), "", "", "", ""},
		{"3. steady state: GET/LIST", fmt.Sprint(r.steadyReq.reads()), "", "", "0", yes(r.steadyReq.reads() == 0)},
		{fmt.Sprintf("4. heap in use at %d Tenants", n), mib(r.memN.heapInuse), "empty " + mib(r.memEmpty.heapInuse), "", "< 150 MiB", yes(r.memN.heapInuse < 150<<20)},
		{"4. RSS", mib(r.memN.rss), "empty " + mib(r.memEmpty.rss), "", "", ""},
		{fmt.Sprintf("4. heap with %d unrelated objects", r.unrelated), mib(r.memUnrelated.heapInuse), fmt.Sprintf("RSS %s", mib(r.memUnrelated.rss)),
			fmt.Sprintf("%+.1f%%", heapGrowth), "< +5%", yes(heapGrowth < 5)},
		{fmt.Sprintf("5. drift repair, %d Tenants: p50", len(r.drift)), secs(p50), "", "", "", ""},
		{"5. drift repair p99", secs(p99), fmt.Sprintf("max %s", secs(percentile(r.drift, 100))), "", "< 1 s", yes(p99 < time.Second)},
		{fmt.Sprintf("6. one new Tenant among %d", n+4), secs(r.newAmong), "empty cluster " + secs(r.newEmpty),
			fmt.Sprintf("%.2fx", newRatio), "<= 2x", yes(newRatio <= 2)},
		{"7. restart: every Tenant reconciled", secs(r.restart), "from process start", "", "", ""},
		{"7. restart: writes", fmt.Sprint(r.restartReq.writes()), "", "", "0", yes(r.restartReq.writes() == 0)},
		{"7. restart: GET/LIST beyond initial sync", fmt.Sprint(reconcileReads(r.restartReq)), "", "", "0", yes(reconcileReads(r.restartReq) == 0)},
		{"7. restart: duplicate watches", fmt.Sprint(duplicateWatches(r.restartReq)), "", "", "0", yes(duplicateWatches(r.restartReq) == 0)},
		{"7. new Tenant during a restart's resync", secs(r.prioNew), "resync " + secs(r.prioResync), "", "", ""},
		{"8. local kwok cluster", r.kwok, "", "", "", ""},
	}
}

// table is the results as a Markdown table (also readable in a terminal).
func (r *results) table() string {
	if r.ceiling == 0 {
		return "bench: incomplete run, no table"
	}
	var b strings.Builder
	b.WriteString("| Measurement | Silo | Reference | Ratio | Goal | Met |\n|---|---|---|---|---|---|\n")
	for _, w := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", w.name, w.silo, w.ref, w.ratio, w.goal, w.met)
	}
	fmt.Fprintf(&b, "\nChildren per Tenant (%d): %s\n", r.children, r.childKinds)
	fmt.Fprintf(&b, "Operator requests per Tenant while provisioning: %s\n", r.provReq.perTenant(r.tenants))
	fmt.Fprintf(&b, "Ceiling requests per Tenant: %s\n", r.ceilReq.perTenant(r.tenants))
	fmt.Fprintf(&b, "Operator requests in steady state: %s\n", r.steadyReq)
	fmt.Fprintf(&b, "Operator requests during the restart: %s\n", r.restartReq)
	fmt.Fprintf(&b, "Operator: --concurrency=%s --kube-api-qps=%s --kube-api-burst=%s\n", r.concurrency, r.qps, r.burst)
	return b.String()
}

// The doc keeps one results section per Tenant count, so runs of different sizes
// stand side by side and a regression in the cost per Tenant shows.
func markers(tenants int) (begin, end string) {
	return fmt.Sprintf("<!-- bench:results:%d:begin (written by make bench BENCH_WRITE=1; edit outside these markers) -->", tenants),
		fmt.Sprintf("<!-- bench:results:%d:end -->", tenants)
}

// writeDoc writes the results between the markers of path, keeping the rest of the
// file (the hand-written tuning notes); a new file gets a heading and the markers.
func (r *results) writeDoc(path string) error {
	beginMarker, endMarker := markers(r.tenants)
	foreign, _ := r.foreignCores()
	var b strings.Builder
	b.WriteString(beginMarker + "\n")
	fmt.Fprintf(&b, "### %d Tenants\n\n", r.tenants)
	fmt.Fprintf(&b, "Command: `%s` (%s, %s)\n\n", r.command(), r.startedAt.UTC().Format("2006-01-02 15:04 UTC"),
		secs(r.finishedAt.Sub(r.startedAt))+" in all")
	fmt.Fprintf(&b, "Machine: %d cores (%s), %s memory, Linux %s; load average %s before the run, %s after",
		r.machine.cores, r.machine.cpu, r.machine.memTotal, r.machine.kernel, r.machine.loadBefore, loadavg())
	fmt.Fprintf(&b, "; other processes used %.2f cores on average during the run (a run above %.2f is refused as shared).\n\n", foreign, maxForeignCores)
	fmt.Fprintf(&b, "Versions: %s.\n\n", strings.Join(r.versions, ", "))
	fmt.Fprintf(&b, "Operator flags: `--concurrency=%s --kube-api-qps=%s --kube-api-burst=%s`; the ceiling client runs %s Tenants in parallel with no client-side rate limit.\n\n",
		r.concurrency, r.qps, r.burst, r.concurrency)
	b.WriteString(r.table())
	b.WriteString("\n" + endMarker + "\n")

	old, err := os.ReadFile(path)
	var out string
	switch {
	case errors.Is(err, os.ErrNotExist):
		out = "# Benchmarks\n\n" + b.String()
	case err != nil:
		return err
	default:
		s := string(old)
		i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
		if i < 0 || j < i {
			out = s + "\n" + b.String()
		} else {
			out = s[:i] + b.String() + strings.TrimPrefix(s[j+len(endMarker):], "\n")
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// check fails the run when the operator wrote while nothing changed. Timings are
// reported, never asserted.
func (r *results) check() error {
	var errs []error
	if w := r.steadyReq.writes(); w != 0 {
		errs = append(errs, fmt.Errorf("steady state: the operator sent %d writes for unchanged Tenants: %s", w, r.steadyReq))
	}
	if w := r.restartReq.writes(); w != 0 {
		errs = append(errs, fmt.Errorf("restart: the operator sent %d writes for unchanged Tenants: %s", w, r.restartReq))
	}
	return errors.Join(errs...)
}
