package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// fieldManager names the plugin's writes in managedFields.
const fieldManager = "kubectl-silo"

// suspendCommand is `suspend` (suspend true) or `resume`.
func (p *plugin) suspendCommand(suspend bool) *cobra.Command {
	verb, short := "resume", "Resume a suspended Tenant: its workloads scale back up"
	if suspend {
		verb, short = "suspend", "Suspend a Tenant: its workloads scale to zero, its volumes and Secrets stay"
	}
	return p.tenantCommand(verb+" [<tenant>]", short, "", func(ctx context.Context, c client.Client, name string) error {
		return setSuspend(ctx, c, p.out(), name, suspend)
	})
}

// mergePatch sends a JSON merge patch of obj under the plugin's field manager.
func mergePatch(ctx context.Context, c client.Client, obj client.Object, patch string) error {
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(fieldManager)); err != nil {
		return fmt.Errorf("patching %s: %w", obj.GetName(), err)
	}
	return nil
}

// setSuspend sets a Tenant's spec.suspend, saying what changes.
func setSuspend(ctx context.Context, c client.Client, w io.Writer, name string, suspend bool) error {
	t := &silov1.Tenant{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		return fmt.Errorf("reading Tenant %s: %w", name, err)
	}
	if t.Spec.Suspend == suspend {
		state := "not suspended"
		if suspend {
			state = "already suspended"
		}
		fmt.Fprintf(w, "Tenant %s is %s: nothing to do\n", name, state)
		return nil
	}
	if err := mergePatch(ctx, c, t, fmt.Sprintf(`{"spec":{"suspend":%t}}`, suspend)); err != nil {
		return err
	}
	if suspend {
		fmt.Fprintf(w, "Tenant %s suspended: its workloads scale to zero; volumes, Secrets and the namespace stay. kubectl silo resume %s brings them back.\n", name, name)
	} else {
		fmt.Fprintf(w, "Tenant %s resumed: its workloads scale back up. kubectl silo status %s follows them.\n", name, name)
	}
	return nil
}

func (p *plugin) rolloutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "The rollout of a TenantClass: status, pause, resume",
	}
	run := func(f func(context.Context, client.Client, io.Writer, string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := p.client()
			if err != nil {
				return err
			}
			return f(p.ctx(cmd), c, p.out(), args[0])
		}
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "status <class>", Short: "How far the class's current revision has reached, and which Tenants failed or wait",
			Args: cobra.ExactArgs(1), RunE: run(rolloutStatus),
		},
		&cobra.Command{
			Use: "pause <class>", Short: "Move no further Tenant to a newer revision (Tenants already moving finish)",
			Args: cobra.ExactArgs(1), RunE: run(func(ctx context.Context, c client.Client, w io.Writer, name string) error {
				return setPaused(ctx, c, w, name, true)
			}),
		},
		&cobra.Command{
			Use: "resume <class>", Short: "Let the rollout move Tenants again",
			Args: cobra.ExactArgs(1), RunE: run(func(ctx context.Context, c client.Client, w io.Writer, name string) error {
				return setPaused(ctx, c, w, name, false)
			}),
		},
	)
	return cmd
}

// setPaused sets a class's spec.rollout.paused.
func setPaused(ctx context.Context, c client.Client, w io.Writer, name string, paused bool) error {
	class := &silov1.TenantClass{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
		return fmt.Errorf("reading TenantClass %s: %w", name, err)
	}
	if class.Spec.Rollout.Paused == paused {
		fmt.Fprintf(w, "The rollout of TenantClass %s is already %s: nothing to do\n", name, map[bool]string{true: "paused", false: "running"}[paused])
		return nil
	}
	if err := mergePatch(ctx, c, class, fmt.Sprintf(`{"spec":{"rollout":{"paused":%t}}}`, paused)); err != nil {
		return err
	}
	if paused {
		fmt.Fprintf(w, "The rollout of TenantClass %s is paused: no further Tenant moves to a newer revision. kubectl silo rollout resume %s lets it go on.\n", name, name)
	} else {
		fmt.Fprintf(w, "The rollout of TenantClass %s resumed. kubectl silo rollout status %s follows it.\n", name, name)
	}
	return nil
}

// rolloutStatus writes how far a class's current revision has reached.
func rolloutStatus(ctx context.Context, c client.Client, w io.Writer, name string) error {
	class := &silov1.TenantClass{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
		return fmt.Errorf("reading TenantClass %s: %w", name, err)
	}
	tenants := &silov1.TenantList{}
	if err := c.List(ctx, tenants); err != nil {
		return err
	}
	var members []silov1.Tenant
	for _, t := range tenants.Items {
		if t.Spec.Class == name {
			members = append(members, t)
		}
	}
	renderRollout(w, class, members)
	return nil
}

// renderRollout writes a class's rollout and the Tenants not yet on its revision. It
// is pure.
func renderRollout(w io.Writer, class *silov1.TenantClass, members []silov1.Tenant) {
	st := &class.Status
	fmt.Fprintf(w, "TenantClass %s: revision %s\n", class.Name, dash(st.Revision))
	fmt.Fprintf(w, "  %d Tenants: %d updated, %d ready, %d held, %d failed\n", st.Tenants, st.Updated, st.Ready, st.Held, len(st.Failed))
	if st.Tenants > 0 {
		done := int(float64(st.Updated) / float64(st.Tenants) * 20)
		fmt.Fprintf(w, "  [%s%s] %d%% on the current revision\n", strings.Repeat("#", done), strings.Repeat(".", 20-done),
			int(float64(st.Updated)/float64(st.Tenants)*100))
	}
	paused := meta.FindStatusCondition(st.Conditions, silov1.PausedCondition)
	if paused != nil && paused.Status == "True" {
		fmt.Fprintf(w, "  PAUSED (%s): %s\n", paused.Reason, paused.Message)
	}
	fmt.Fprintln(w, "\nConditions:")
	writeConditions(w, st.Conditions)

	var waiting []silov1.Tenant
	failed := map[string]bool{}
	for _, n := range st.Failed {
		failed[n] = true
	}
	for _, t := range members {
		if t.Status.ClassRevision != st.Revision || failed[t.Name] || !isReady(&t) {
			waiting = append(waiting, t)
		}
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].Name < waiting[j].Name })
	if len(waiting) > 0 {
		fmt.Fprintln(w, "\nTenants not Ready on the current revision:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tREVISION\tPHASE\tPOLICY\tSTATE")
		for _, t := range waiting {
			state := "waiting for its batch"
			reason, _ := why(&t)
			switch {
			case failed[t.Name]:
				state = "FAILED: " + reason
			case t.Spec.ClassUpdatePolicy == silov1.ClassUpdateManual && t.Status.ClassRevision != st.Revision:
				state = "held (classUpdatePolicy Manual)"
			case t.Status.ClassRevision == st.Revision:
				state = "moving: " + reason
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", t.Name, dash(t.Status.ClassRevision), dash(string(t.Status.Phase)),
				dash(string(t.Spec.ClassUpdatePolicy)), state)
		}
		_ = tw.Flush()
	}
	switch {
	case paused != nil && paused.Status == "True" && paused.Reason == silov1.TooManyFailuresReason:
		fmt.Fprintf(w, "\nWhat to do next:\n"+
			"  - look at the failed Tenants: kubectl silo status <name>. A fixed Tenant that is Ready on the revision leaves the\n"+
			"    failed list, and the rollout goes on by itself\n"+
			"  - or change the template of %[1]s (back to what worked, or a fix): a new revision supersedes this one\n"+
			"  - or accept more failures: raise spec.rollout.maxFailures of %[1]s\n", class.Name)
	case paused != nil && paused.Status == "True":
		fmt.Fprintf(w, "\nWhat to do next:\n  - kubectl silo rollout resume %s lets the rollout go on\n", class.Name)
	}
}
