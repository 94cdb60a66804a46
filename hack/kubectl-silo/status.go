package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// lastEvents is how many of a Tenant's events status shows.
const lastEvents = 5

func (p *plugin) statusCommand() *cobra.Command {
	long := "status shows a Tenant: its namespace, each component with its pods and volume claims, its conditions,\n" +
		"endpoints, quota usage and last events, and, when something is wrong, what to do next.\n" +
		"Without a name it shows the Tenant of the namespace -n names."
	return p.tenantCommand("status [<tenant>]", "Show a Tenant as a tree, and what to do when something is wrong", long,
		func(ctx context.Context, c client.Client, name string) error {
			v, err := readTenantView(ctx, c, name)
			if err != nil {
				return err
			}
			renderStatus(p.out(), v, p.now())
			return nil
		})
}

// tenantCommand is a command about one Tenant, named by its argument or by the
// namespace -n names.
func (p *plugin) tenantCommand(use, short, long string, run func(ctx context.Context, c client.Client, name string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long,
		Args: atMostArgs(1, "the Tenant's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := p.client()
			if err != nil {
				return err
			}
			name, err := p.tenantName(p.ctx(cmd), c, args)
			if err != nil {
				return err
			}
			return run(p.ctx(cmd), c, name)
		},
	}
}

// tenantName is the Tenant an argument names, or the Tenant of the namespace -n
// names.
func (p *plugin) tenantName(ctx context.Context, c client.Client, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	ns, err := p.namespace()
	if err != nil {
		return "", err
	}
	n := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
		return "", fmt.Errorf("no Tenant named, and reading namespace %s: %w", ns, err)
	}
	if t := n.Labels[silov1.TenantLabel]; t != "" {
		return t, nil
	}
	return "", fmt.Errorf("name a Tenant (kubectl silo list shows them), or pass -n with a tenant namespace: %s is not one", ns)
}

// tenantView is everything status shows about a Tenant, read once.
type tenantView struct {
	tenant *silov1.Tenant
	// class is the Tenant's TenantClass, nil without one or when it is missing.
	class  *silov1.TenantClass
	pods   []corev1.Pod
	claims []corev1.PersistentVolumeClaim
	quota  *corev1.ResourceQuota
	events []eventsv1.Event
}

// readTenantView reads a Tenant and what it owns.
func readTenantView(ctx context.Context, c client.Client, name string) (*tenantView, error) {
	t := &silov1.Tenant{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("Tenant %q not found: kubectl silo list shows the Tenants", name)
		}
		return nil, err
	}
	v := &tenantView{tenant: t}
	if t.Spec.Class != "" {
		class := &silov1.TenantClass{}
		switch err := c.Get(ctx, client.ObjectKey{Name: t.Spec.Class}, class); {
		case err == nil:
			v.class = class
		case !apierrors.IsNotFound(err):
			return nil, err
		}
	}
	ns := controllers.NamespaceFor(t)
	mine := client.MatchingLabels{silov1.TenantLabel: t.Name}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), mine); err != nil {
		return nil, fmt.Errorf("listing the pods of %s: %w", name, err)
	}
	v.pods = pods.Items
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, claims, client.InNamespace(ns), mine); err != nil {
		return nil, fmt.Errorf("listing the volume claims of %s: %w", name, err)
	}
	v.claims = claims.Items
	quota := &corev1.ResourceQuota{}
	switch err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.QuotaName}, quota); {
	case err == nil:
		v.quota = quota
	case !apierrors.IsNotFound(err):
		return nil, err
	}
	events := &eventsv1.EventList{}
	// Events about a cluster-scoped object live in the default namespace; list them
	// all, whatever the recorder chose, and keep the Tenant's.
	if err := c.List(ctx, events); err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == "Tenant" && e.Regarding.Name == t.Name && (t.UID == "" || e.Regarding.UID == t.UID) {
			v.events = append(v.events, e)
		}
	}
	sort.SliceStable(v.events, func(i, j int) bool { return eventTime(&v.events[i]).Before(eventTime(&v.events[j])) })
	return v, nil
}

// eventTime is when an event last happened.
func eventTime(e *eventsv1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// renderStatus writes a Tenant as a tree. It is pure: the same view and clock give the
// same text.
func renderStatus(w io.Writer, v *tenantView, now time.Time) {
	t := v.tenant
	st := &t.Status
	phase := string(st.Phase)
	if phase == "" {
		phase = "Pending (not reconciled yet)"
	}
	fmt.Fprintf(w, "Tenant %s: %s", t.Name, phase)
	if st.ComponentsReady != "" {
		fmt.Fprintf(w, ", %s components ready", st.ComponentsReady)
	}
	if t.Spec.Class != "" {
		fmt.Fprintf(w, ", class %s", t.Spec.Class)
		if st.ClassRevision != "" {
			fmt.Fprintf(w, " at revision %s", st.ClassRevision)
			if v.class != nil && v.class.Status.Revision != "" && v.class.Status.Revision != st.ClassRevision {
				fmt.Fprintf(w, " (class at %s)", v.class.Status.Revision)
			}
		}
	}
	fmt.Fprintln(w)
	if t.Spec.DisplayName != "" {
		fmt.Fprintf(w, "  %s\n", t.Spec.DisplayName)
	}

	ns := controllers.NamespaceFor(t)
	tree := &treeWriter{w: w}
	tree.line(0, false, "Namespace %s", ns)
	byComponent := map[string][]string{}
	for _, pod := range sortedPods(v.pods) {
		comp := pod.Labels[silov1.ComponentLabel]
		byComponent[comp] = append(byComponent[comp], "Pod "+pod.Name+"  "+podState(&pod))
	}
	for _, claim := range sortedClaims(v.claims) {
		comp := claim.Labels[silov1.ComponentLabel]
		byComponent[comp] = append(byComponent[comp], "PersistentVolumeClaim "+claim.Name+"  "+claimState(&claim))
	}
	for i, comp := range st.Components {
		last := i == len(st.Components)-1
		state := "ready"
		if !comp.Ready {
			state = "not ready"
		}
		line := fmt.Sprintf("%-9s %s", comp.Name, state)
		switch {
		case comp.Message != "":
			line += ": " + comp.Message
		case comp.Replicas > 0 || comp.ReadyReplicas > 0:
			line += fmt.Sprintf(", %d/%d replicas", comp.ReadyReplicas, comp.Replicas)
		}
		tree.line(1, last, "%s", line)
		if url := st.Endpoints[comp.Name]; url != "" {
			byComponent[comp.Name] = append([]string{"endpoint " + url}, byComponent[comp.Name]...)
		}
		children := byComponent[comp.Name]
		for j, c := range children {
			tree.child(last, j == len(children)-1, "%s", c)
		}
	}

	fmt.Fprintln(w, "\nConditions:")
	writeConditions(w, st.Conditions)
	if len(st.Conditions) == 0 {
		fmt.Fprintln(w, "  none yet: the operator has not reconciled this Tenant")
	}

	if usage := quotaUsage(v.quota); usage != "" {
		fmt.Fprintf(w, "\nQuota (used/hard): %s\n", usage)
	}

	fmt.Fprintln(w, "\nEvents:")
	events := v.events
	if len(events) > lastEvents {
		events = events[len(events)-lastEvents:]
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", age(now.Sub(eventTime(&e))), e.Type, e.Reason, e.Note)
	}
	_ = tw.Flush()
	if len(events) == 0 {
		fmt.Fprintln(w, "  none")
	}

	if next := nextSteps(v); len(next) > 0 {
		fmt.Fprintln(w, "\nWhat to do next:")
		for _, n := range next {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// writeConditions writes conditions as aligned columns: type, status, reason, message.
func writeConditions(w io.Writer, conds []metav1.Condition) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range conds {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, dash(c.Message))
	}
	_ = tw.Flush()
}

// treeWriter draws a two-level tree with box-drawing characters.
type treeWriter struct{ w io.Writer }

// line writes a node at depth 0 (the root) or 1.
func (tw *treeWriter) line(depth int, last bool, format string, args ...any) {
	prefix := ""
	if depth == 1 {
		prefix = "├─ "
		if last {
			prefix = "└─ "
		}
	}
	fmt.Fprintf(tw.w, prefix+format+"\n", args...)
}

// child writes a node under a depth-1 node.
func (tw *treeWriter) child(parentLast, last bool, format string, args ...any) {
	prefix := "│  "
	if parentLast {
		prefix = "   "
	}
	if last {
		prefix += "└─ "
	} else {
		prefix += "├─ "
	}
	fmt.Fprintf(tw.w, prefix+format+"\n", args...)
}

func sortedPods(pods []corev1.Pod) []corev1.Pod {
	out := append([]corev1.Pod(nil), pods...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedClaims(claims []corev1.PersistentVolumeClaim) []corev1.PersistentVolumeClaim {
	out := append([]corev1.PersistentVolumeClaim(nil), claims...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// podState is a pod's phase, readiness and the reason a container waits or died.
func podState(pod *corev1.Pod) string {
	phase := string(pod.Status.Phase)
	if phase == "" {
		phase = "Pending"
	}
	parts := []string{phase}
	ready := false
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
			parts = append(parts, c.Reason)
		}
	}
	if ready {
		parts = append(parts, "ready")
	} else {
		parts = append(parts, "not ready")
	}
	restarts := int32(0)
	for _, cs := range pod.Status.ContainerStatuses {
		restarts += cs.RestartCount
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			parts = append(parts, cs.Name+" "+w.Reason)
		}
		if term := cs.LastTerminationState.Terminated; term != nil && term.Reason != "" && cs.State.Running == nil {
			parts = append(parts, cs.Name+" last exit "+term.Reason)
		}
	}
	if restarts > 0 {
		parts = append(parts, fmt.Sprintf("%d restarts", restarts))
	}
	if pod.Spec.NodeName != "" {
		parts = append(parts, "on "+pod.Spec.NodeName)
	}
	return strings.Join(parts, ", ")
}

// claimState is a claim's phase and size.
func claimState(c *corev1.PersistentVolumeClaim) string {
	phase := string(c.Status.Phase)
	if phase == "" {
		phase = string(corev1.ClaimPending)
	}
	parts := []string{phase}
	if size, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
		parts = append(parts, size.String())
	} else if size, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		parts = append(parts, size.String()+" requested")
	}
	if c.Spec.StorageClassName != nil {
		parts = append(parts, "class "+*c.Spec.StorageClassName)
	}
	return strings.Join(parts, ", ")
}

// quotaShown are the quota resources status shows, in order.
var quotaShown = []corev1.ResourceName{
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage,
	corev1.ResourcePods, corev1.ResourcePersistentVolumeClaims,
}

// quotaUsage is "requests.cpu 1500m/8, ..." from the quota's status.
func quotaUsage(q *corev1.ResourceQuota) string {
	if q == nil || len(q.Status.Hard) == 0 {
		return ""
	}
	var parts []string
	for _, r := range quotaShown {
		hard, ok := q.Status.Hard[r]
		if !ok {
			continue
		}
		used := q.Status.Used[r]
		part := fmt.Sprintf("%s %s/%s", r, used.String(), hard.String())
		if frac := fraction(used, hard); frac >= nearQuota {
			part += fmt.Sprintf(" (%.0f%%)", frac*100)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// age is a duration as kubectl prints ages: 45s, 12m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// isReady reports whether a Tenant's Ready condition is True.
func isReady(t *silov1.Tenant) bool {
	return meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition)
}

// condition returns a Tenant's condition of type typ, or an empty one.
func condition(conds []metav1.Condition, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return *c
	}
	return metav1.Condition{Type: typ}
}
