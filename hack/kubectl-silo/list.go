package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func (p *plugin) listCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The fleet at a glance: Tenants by phase and class, the unhealthy ones first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := p.client()
			if err != nil {
				return err
			}
			tenants := &silov1.TenantList{}
			if err := c.List(p.ctx(cmd), tenants); err != nil {
				return err
			}
			renderList(p.out(), tenants.Items, all)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "A", false, "list every Tenant, not only those that need a look")
	return cmd
}

// health orders Tenants: those that need a person first, then those on their way,
// then the healthy ones.
func health(t *silov1.Tenant) int {
	switch {
	case t.Status.Phase == silov1.PhaseDegraded:
		return 0
	case t.Status.Phase == silov1.PhaseSuspended:
		return 3
	case !isReady(t):
		return 1
	}
	return 4
}

// renderList writes the fleet's counts and its Tenants, unhealthy first; without all,
// only the Tenants that are not Ready (suspended ones aside). It is pure.
func renderList(w io.Writer, tenants []silov1.Tenant, all bool) {
	phases := map[string]int{}
	classes := map[string]int{}
	for i := range tenants {
		phase := string(tenants[i].Status.Phase)
		if phase == "" {
			phase = "Pending"
		}
		phases[phase]++
		classes[tenants[i].Spec.Class]++
	}
	fmt.Fprintf(w, "%d Tenants: %s\n", len(tenants), counts(phases, []string{"Ready", "Provisioning", "Degraded", "Suspended", "Deleting", "Pending"}))
	// Tenants without a class last.
	none := classes[""]
	delete(classes, "")
	byClass := counts(classes, nil)
	switch {
	case none > 0 && len(classes) == 0:
		byClass = fmt.Sprintf("%d without a class", none)
	case none > 0:
		byClass += fmt.Sprintf(", %d without a class", none)
	}
	fmt.Fprintf(w, "By class: %s\n", byClass)

	sorted := append([]silov1.Tenant(nil), tenants...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if hi, hj := health(&sorted[i]), health(&sorted[j]); hi != hj {
			return hi < hj
		}
		return sorted[i].Name < sorted[j].Name
	})
	var shown []silov1.Tenant
	for _, t := range sorted {
		if all || health(&t) < 3 {
			shown = append(shown, t)
		}
	}
	if len(shown) == 0 {
		fmt.Fprintln(w, "\nEvery Tenant is Ready or suspended. kubectl silo list -A lists them all.")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPHASE\tCOMPONENTS\tCLASS\tREVISION\tREASON\tMESSAGE")
	for _, t := range shown {
		phase := string(t.Status.Phase)
		if phase == "" {
			phase = "Pending"
		}
		reason, msg := why(&t)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, phase, dash(t.Status.ComponentsReady), dash(t.Spec.Class),
			dash(t.Status.ClassRevision), dash(reason), dash(shorten(msg, 80)))
	}
	_ = tw.Flush()
	if !all {
		fmt.Fprintln(w, "\nkubectl silo status <name> shows one and what to do; kubectl silo list -A lists every Tenant.")
	}
}

// why is the reason and message that best explain a Tenant's state: its Degraded
// condition when True, else its Ready condition.
func why(t *silov1.Tenant) (string, string) {
	if d := condition(t.Status.Conditions, silov1.DegradedCondition); d.Status == metav1.ConditionTrue {
		return d.Reason, d.Message
	}
	r := condition(t.Status.Conditions, silov1.ReadyCondition)
	return r.Reason, r.Message
}

// counts is "3 Ready, 1 Degraded" in the order given, then the rest by name; zero
// counts are left out.
func counts(m map[string]int, order []string) string {
	var keys []string
	done := map[string]bool{}
	for _, k := range order {
		if m[k] > 0 {
			keys = append(keys, k)
		}
		done[k] = true
	}
	var rest []string
	for k := range m {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten cuts s to at most n characters, ending with "...".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
