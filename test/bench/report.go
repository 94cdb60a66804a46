package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/silo-dev/silo/test/testenv"
)

// results are everything one run measured.
type results struct {
	settings
	machine               testenv.Machine
	versions              []string
	startedAt, finishedAt time.Time

	concurrency, qps, burst string
	children                int
	childKinds              string

	provision, settle, ceiling time.Duration
	ceilingApply               time.Duration
	provReq, ceilReq           testenv.Requests
	provReconciles, provCPU    float64
	provAlloc                  float64 // bytes the operator allocated while provisioning

	steady    time.Duration
	steadyReq testenv.Requests

	newEmpty, newAmong time.Duration

	drift     []time.Duration
	driftKind string

	memEmpty, memN, memUnrelated testenv.Memory

	restart    time.Duration
	restartReq testenv.Requests
	prioNew    time.Duration
	prioResync time.Duration

	kwok string
}

// maxForeignCores is how much CPU, in cores on average over the run, processes other
// than the benchmark's own may have used before the run counts as shared. A shared
// run's ratios are not comparable with a quiet one's, so it is never written to the
// doc.
const maxForeignCores = 0.25

// foreignCores returns the CPU other processes used during the run, in cores on
// average over its wall time. Call it after every child process has been stopped and
// waited for.
func (r *results) foreignCores() (float64, bool) {
	return r.machine.ForeignCores(r.finishedAt.Sub(r.startedAt))
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

// reconcileReads are the GET and LIST requests of resources beyond one LIST per
// watched kind (the informers' initial sync, when it is not a streaming watch): those
// a reconcile or a re-list sent.
func reconcileReads(r testenv.Requests) int {
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
func duplicateWatches(r testenv.Requests) int {
	n := 0
	for k, v := range r {
		if strings.HasPrefix(k, "watch ") && v > 1 {
			n += v - 1
		}
	}
	return n
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
	writesPer := float64(r.provReq.Writes()) / float64(n)
	heapGrowth := (float64(r.memUnrelated.HeapInuse)/float64(r.memN.HeapInuse) - 1) * 100
	p50, p99 := percentile(r.drift, 50), percentile(r.drift, 99)
	newRatio := r.newAmong.Seconds() / r.newEmpty.Seconds()
	ceilPer := float64(r.ceilReq.Writes()) / float64(n)
	return []row{
		{fmt.Sprintf("1. provision %d Tenants (wall)", n), testenv.Secs(r.provision), "ceiling " + testenv.Secs(r.ceiling),
			fmt.Sprintf("%.2fx", ratio), "<= 1.3x", yes(ratio <= 1.3)},
		{"1. ceiling with server-side apply", "", "ceiling " + testenv.Secs(r.ceilingApply), fmt.Sprintf("%.2fx", r.provision.Seconds()/r.ceilingApply.Seconds()), "", ""},
		{"1. throughput", fmt.Sprintf("%.1f Tenants/s", float64(n)/r.provision.Seconds()),
			fmt.Sprintf("ceiling %.1f Tenants/s", float64(n)/r.ceiling.Seconds()), "", "", ""},
		{"1. until the operator is idle", testenv.Secs(r.settle), "", "", "", ""},
		{"1. operator work per Tenant", fmt.Sprintf("%.1f reconciles, %.1f ms CPU, %.2f MiB allocated", r.provReconciles/float64(n),
			r.provCPU*1000/float64(n), r.provAlloc/float64(n)/(1<<20)), "", "", "", ""},
		{"2. writes per Tenant", fmt.Sprintf("%.2f", writesPer), fmt.Sprintf("ceiling %.2f; children %d", ceilPer, r.children),
			"", fmt.Sprintf("<= children + 3 = %d", r.children+3), yes(writesPer <= float64(r.children+3))},
		{"2. events per Tenant (counted in the writes)", fmt.Sprintf("%.2f", float64(r.provReq.Events())/float64(n)), "", "", "", ""},
		{"2. GET/LIST from reconciles", fmt.Sprint(r.provReq.Reads()), "", "", "0", yes(r.provReq.Reads() == 0)},
		{"3. steady state: writes", fmt.Sprint(r.steadyReq.Writes()), "", "", "0", yes(r.steadyReq.Writes() == 0)},
		{"3. steady state: every Tenant reconciled", testenv.Secs(r.steady), "", "", "", ""},
		{"3. steady state: GET/LIST", fmt.Sprint(r.steadyReq.Reads()), "", "", "0", yes(r.steadyReq.Reads() == 0)},
		{fmt.Sprintf("4. heap in use at %d Tenants", n), mib(r.memN.HeapInuse), "empty " + mib(r.memEmpty.HeapInuse), "", "< 150 MiB", yes(r.memN.HeapInuse < 150<<20)},
		{"4. RSS", mib(r.memN.RSS), "empty " + mib(r.memEmpty.RSS), "", "", ""},
		{fmt.Sprintf("4. heap with %d unrelated objects", r.unrelated), mib(r.memUnrelated.HeapInuse), fmt.Sprintf("RSS %s", mib(r.memUnrelated.RSS)),
			fmt.Sprintf("%+.1f%%", heapGrowth), "< +5%", yes(heapGrowth < 5)},
		{fmt.Sprintf("5. drift repair, %d Tenants: p50", len(r.drift)), testenv.Secs(p50), "", "", "", ""},
		{"5. drift repair p99", testenv.Secs(p99), fmt.Sprintf("max %s", testenv.Secs(percentile(r.drift, 100))), "", "< 1 s", yes(p99 < time.Second)},
		{fmt.Sprintf("6. one new Tenant among %d", n+4), testenv.Secs(r.newAmong), "empty cluster " + testenv.Secs(r.newEmpty),
			fmt.Sprintf("%.2fx", newRatio), "<= 2x", yes(newRatio <= 2)},
		{"7. restart: every Tenant reconciled", testenv.Secs(r.restart), "from process start", "", "", ""},
		{"7. restart: writes", fmt.Sprint(r.restartReq.Writes()), "", "", "0", yes(r.restartReq.Writes() == 0)},
		{"7. restart: GET/LIST beyond initial sync", fmt.Sprint(reconcileReads(r.restartReq)), "", "", "0", yes(reconcileReads(r.restartReq) == 0)},
		{"7. restart: duplicate watches", fmt.Sprint(duplicateWatches(r.restartReq)), "", "", "0", yes(duplicateWatches(r.restartReq) == 0)},
		{"7. new Tenant during a restart's resync", testenv.Secs(r.prioNew), "resync " + testenv.Secs(r.prioResync), "", "", ""},
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
	fmt.Fprintf(&b, "Operator requests per Tenant while provisioning: %s\n", r.provReq.PerTenant(r.tenants))
	fmt.Fprintf(&b, "Ceiling requests per Tenant: %s\n", r.ceilReq.PerTenant(r.tenants))
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
		testenv.Secs(r.finishedAt.Sub(r.startedAt))+" in all")
	b.WriteString(r.machine.Describe())
	fmt.Fprintf(&b, "; other processes used %.2f cores on average during the run (a run above %.2f is refused as shared).\n\n", foreign, maxForeignCores)
	fmt.Fprintf(&b, "Versions: %s.\n\n", strings.Join(r.versions, ", "))
	fmt.Fprintf(&b, "Operator flags: `--concurrency=%s --kube-api-qps=%s --kube-api-burst=%s`; the ceiling client runs %s Tenants in parallel with no client-side rate limit.\n\n",
		r.concurrency, r.qps, r.burst, r.concurrency)
	b.WriteString(r.table())
	b.WriteString("\n" + endMarker + "\n")

	return testenv.WriteBetweenMarkers(path, "# Benchmarks", beginMarker, endMarker, b.String())
}

// check fails the run when the operator wrote while nothing changed. Timings are
// reported, never asserted.
func (r *results) check() error {
	var errs []error
	if w := r.steadyReq.Writes(); w != 0 {
		errs = append(errs, fmt.Errorf("steady state: the operator sent %d writes for unchanged Tenants: %s", w, r.steadyReq))
	}
	if w := r.restartReq.Writes(); w != 0 {
		errs = append(errs, fmt.Errorf("restart: the operator sent %d writes for unchanged Tenants: %s", w, r.restartReq))
	}
	return errors.Join(errs...)
}
