package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/silo-dev/silo/test/testenv"
)

// maxRepairWrites bounds the operator's writes to put one edited field back: one
// apply, and room for a retry when a kill or a conflict cut the first one short. A
// write war between two managers would show tens.
const maxRepairWrites = 3

// results are everything one run saw.
type results struct {
	settings
	machine               testenv.Machine
	versions              []string
	startedAt, finishedAt time.Time

	kills, apiRestarts int
	apiDown            time.Duration
	chaos, ready       time.Duration

	readyCount int
	stuck      []string

	fuzz           []fuzzOutcome
	fuzzStates     map[string]string // name: phase (Ready reason)
	fuzzUnreported []string
	retrying       map[string]bool

	fights []fightResult

	secrets, claims int
	guardViolations []string

	operatorWrites                int
	settlerWrites                 int64
	restWrites, restRetries       testenv.Requests
	restartWrites, restartRetries testenv.Requests

	panics []string
	exits  []error

	// foreign is the CPU other processes used during the run, in cores on average.
	foreign   float64
	foreignOK bool
}

func (r *results) refused() (n int, problems []string) {
	for _, o := range r.fuzz {
		if o.refused {
			n++
			if p := refusalProblem(o); p != "" {
				problems = append(problems, p)
			}
		}
	}
	return n, problems
}

func (r *results) fightTotals() (won, lost, maxWrites, total int, problems []string) {
	for _, f := range r.fights {
		switch {
		case f.err != nil:
			problems = append(problems, fmt.Sprintf("fight over %s %s/%s: %v", fightKinds[f.kind].resource, f.namespace, f.name, f.err))
		case !f.won:
			lost++
			problems = append(problems, fmt.Sprintf("Silo never put back %s/%s after the second writer %s (%d operator writes since)",
				f.namespace, f.name, fightKinds[f.kind].what, f.writes))
		default:
			won++
			if f.writes > maxRepairWrites {
				problems = append(problems, fmt.Sprintf("Silo took %d writes (more than %d) to put back %s/%s after the second writer %s",
					f.writes, maxRepairWrites, f.namespace, f.name, fightKinds[f.kind].what))
			}
		}
		maxWrites = max(maxWrites, f.writes)
		total += f.writes
	}
	return won, lost, maxWrites, total, problems
}

// refusedFields counts the fields the API server named in its refusals, and lists
// the n most frequent.
func (r *results) refusedFields(n int) string {
	counts := testenv.Requests{}
	for _, o := range r.fuzz {
		if !o.refused {
			continue
		}
		if d := o.status.ErrStatus.Details; d != nil && len(d.Causes) > 0 {
			for _, c := range d.Causes {
				counts[c.Field]++
			}
		} else {
			counts["(no field: "+string(o.status.ErrStatus.Reason)+")"]++
		}
	}
	delete(counts, "<nil>") // "some validation rules were not checked because the object was invalid"
	top := strings.Split(counts.String(), ", ")
	return strings.Join(top[:min(n, len(top))], ", ")
}

// refusalExamples are the messages of refusals, one per field named, up to n.
func (r *results) refusalExamples(n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range r.fuzz {
		if !o.refused || len(out) == n {
			continue
		}
		key := string(o.status.ErrStatus.Reason)
		if d := o.status.ErrStatus.Details; d != nil && len(d.Causes) > 0 {
			key = d.Causes[0].Field
		}
		if !seen[key] {
			seen[key] = true
			msg := o.status.ErrStatus.Message
			if len(msg) > 400 {
				msg = msg[:400] + "..."
			}
			out = append(out, msg)
		}
	}
	return out
}

// countStates counts the fuzzed Tenants by state, only those keep accepts when keep
// is not nil.
func (r *results) countStates(keep map[string]bool) string {
	counts := map[string]int{}
	for name, state := range r.fuzzStates {
		if keep == nil || keep[name] {
			counts[state]++
		}
	}
	return countsString(counts)
}

func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func ok(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

type row struct{ name, value, goal, met string }

func (r *results) rows() []row {
	refused, refusalProblems := r.refused()
	won, _, maxW, totalW, _ := r.fightTotals()
	return []row{
		{"Full Tenants (app with autoscaling and ingress, workers, queue, cache, database, storage)", fmt.Sprint(r.tenants), "", ""},
		{"Operator killed with SIGKILL while they provision", fmt.Sprint(r.kills), fmt.Sprintf(">= %d", r.settings.kills), ok(r.kills >= r.settings.kills)},
		{"kube-apiserver restarts", fmt.Sprintf("%d (down %s in all)", r.apiRestarts, testenv.Secs(r.apiDown)), fmt.Sprint(r.settings.apiRestarts), ok(r.apiRestarts == r.settings.apiRestarts)},
		{"Second writer's edits put back by Silo", fmt.Sprintf("%d of %d", won, len(r.fights)), "all", ok(won == len(r.fights))},
		{"Operator writes per repair", fmt.Sprintf("max %d, %d in all", maxW, totalW), fmt.Sprintf("<= %d", maxRepairWrites), ok(maxW <= maxRepairWrites)},
		{"Fuzzed specs refused by the API server, with a message", fmt.Sprintf("%d of %d", refused, len(r.fuzz)), "every refusal has one", ok(len(refusalProblems) == 0)},
		{"Fuzzed specs accepted, their outcome in status", fmt.Sprintf("%d of %d", len(r.fuzz)-refused, len(r.fuzz)), "every one reported", ok(len(r.fuzzUnreported) == 0)},
		{"Panics in the operator's log", fmt.Sprint(len(r.panics)), "0", ok(len(r.panics) == 0)},
		{"Operator exits nobody asked for", fmt.Sprint(len(r.exits)), "0", ok(len(r.exits) == 0)},
		{"Full Tenants Ready at the end", fmt.Sprintf("%d of %d", r.readyCount, r.tenants), "all", ok(r.readyCount == r.tenants)},
		{"Credentials Secrets changed or recreated", fmt.Sprintf("%d (of %d)", countLike(r.guardViolations, "credentials Secret"), r.secrets), "0", ok(countLike(r.guardViolations, "credentials Secret") == 0)},
		{"Volume claims deleted or recreated", fmt.Sprintf("%d (of %d)", len(r.guardViolations)-countLike(r.guardViolations, "credentials Secret"), r.claims), "0", ok(len(r.guardViolations) == countLike(r.guardViolations, "credentials Secret"))},
		{fmt.Sprintf("Operator writes at rest (%s window)", testenv.Secs(r.quiet)), fmt.Sprint(r.restWrites.Writes()), "0", ok(r.restWrites.Writes() == 0)},
		{"Operator writes after a last SIGKILL and restart", fmt.Sprint(r.restartWrites.Writes()), "0", ok(r.restartWrites.Writes() == 0)},
		{"Chaos phase (waves, kills, restarts)", testenv.Secs(r.chaos), "", ""},
		{"From the first wave until every full Tenant was Ready", testenv.Secs(r.ready), "", ""},
		{"Whole run (build, control plane, checks)", testenv.Secs(r.finishedAt.Sub(r.startedAt)), "", ""},
	}
}

// countLike counts the lines that contain s.
func countLike(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// table is the results as a Markdown table (also readable in a terminal), with the
// details below it.
func (r *results) table() string {
	if r.finishedAt.IsZero() {
		r.finishedAt = time.Now()
	}
	var b strings.Builder
	b.WriteString("| Measurement | Value | Goal | Met |\n|---|---|---|---|\n")
	for _, w := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", w.name, w.value, w.goal, w.met)
	}
	fmt.Fprintf(&b, "\n- Fields named most in the refusals: %s\n", r.refusedFields(12))
	fmt.Fprintf(&b, "- Accepted fuzzed Tenants by phase (Ready reason): %s\n", r.countStates(nil))
	fmt.Fprintf(&b, "- Operator writes about the %d accepted fuzzed Tenants it keeps retrying because the API server refuses one of their children (%s): %s at rest, %s after the restart\n",
		len(r.retrying), r.countStates(r.retrying), r.restRetries, r.restartRetries)
	fmt.Fprintf(&b, "- Operator writes in the whole run: %d; status writes and claims made in place of the workload controllers and the volume binder: %d\n",
		r.operatorWrites, r.settlerWrites)
	b.WriteString("- Refusals, one per field first named:\n")
	for _, m := range r.refusalExamples(6) {
		fmt.Fprintf(&b, "  - %s\n", m)
	}
	return b.String()
}

const (
	beginMarker = "<!-- chaos:results:begin (written by make test-chaos CHAOS_WRITE=1; edit outside these markers) -->"
	endMarker   = "<!-- chaos:results:end -->"
)

// writeDoc writes the results between the markers of path, keeping the rest.
func (r *results) writeDoc(path string) error {
	var b strings.Builder
	b.WriteString(beginMarker + "\n")
	fmt.Fprintf(&b, "### Latest run: %d Tenants, %d kills\n\n", r.tenants, r.kills)
	fmt.Fprintf(&b, "Command: `%s` (%s, %s in all)\n\n", r.command(), r.startedAt.UTC().Format("2006-01-02 15:04 UTC"),
		testenv.Secs(r.finishedAt.Sub(r.startedAt)))
	b.WriteString(r.machine.Describe())
	if r.foreignOK {
		fmt.Fprintf(&b, "; other processes used %.2f cores on average during the run", r.foreign)
	}
	b.WriteString(" (the chaos asserts no timing; the durations below are for planning).\n\n")
	fmt.Fprintf(&b, "Versions: %s.\n\n", strings.Join(r.versions, ", "))
	b.WriteString(r.table())
	if err := r.check(); err != nil {
		fmt.Fprintf(&b, "\nFailed:\n\n```\n%v\n```\n", err)
	}
	b.WriteString("\n" + endMarker + "\n")
	return testenv.WriteBetweenMarkers(path, "# Chaos", beginMarker, endMarker, b.String())
}

// limit keeps the first n lines and says how many more there were.
func limit(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "\n  ")
	}
	return strings.Join(lines[:n], "\n  ") + fmt.Sprintf("\n  ... and %d more", len(lines)-n)
}

// check fails the run on anything that went wrong. Timings are reported, never
// asserted.
func (r *results) check() error {
	var errs []error
	add := func(lines []string, format string, args ...any) {
		if len(lines) > 0 {
			errs = append(errs, fmt.Errorf(format+":\n  %s", append(args, limit(lines, 10))...))
		}
	}
	if r.kills < r.settings.kills || r.apiRestarts < r.settings.apiRestarts {
		errs = append(errs, fmt.Errorf("only %d kills and %d kube-apiserver restarts of %d and %d", r.kills, r.apiRestarts, r.settings.kills, r.settings.apiRestarts))
	}
	_, refusalProblems := r.refused()
	add(refusalProblems, "refusals a person cannot act on")
	add(r.fuzzUnreported, "accepted fuzzed Tenants whose status does not say what became of their spec")
	_, _, _, _, fightProblems := r.fightTotals()
	add(fightProblems, "the second writer")
	add(r.panics, "panics in the operator's log")
	var exits []string
	for _, e := range r.exits {
		exits = append(exits, e.Error())
	}
	add(exits, "the operator exited on its own")
	add(r.stuck, "full Tenants not Ready")
	add(r.guardViolations, "data changed")
	if w := r.restWrites.Writes(); w != 0 {
		errs = append(errs, fmt.Errorf("at rest the operator sent %d writes: %s", w, r.restWrites))
	}
	if w := r.restartWrites.Writes(); w != 0 {
		errs = append(errs, fmt.Errorf("after the last restart the operator sent %d writes: %s", w, r.restartWrites))
	}
	return errors.Join(errs...)
}
