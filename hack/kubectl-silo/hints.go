package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// nearQuota is the share of a quota resource above which status warns.
const nearQuota = 0.9

// reasonHints say what to do about a Tenant whose Degraded or Ready condition has the
// reason; %[1]s is the Tenant's name, %[2]s its namespace. The condition's message
// has the details; docs/troubleshooting.md has the whole runbook.
var reasonHints = map[string]string{
	silov1.NamespaceConflictReason: "a namespace %[2]s exists that is not this Tenant's: rename the Tenant, or delete " +
		"that namespace if nothing in it matters (kubectl get namespace %[2]s -o yaml shows who made it)",
	silov1.NamespaceTerminatingReason: "a namespace of a deleted Tenant of the same name is still going away: wait; if it " +
		"stays, kubectl get namespace %[2]s -o jsonpath='{.status.conditions}' says what holds it",
	silov1.ExternalSecretMissingReason: "create the external service's Secret named in the message in the operator's " +
		"namespace, labelled silo.dev/tenant=%[1]s, with the connection settings as keys",
	silov1.ExternalSecretNotLabelledReason: "label the external service's Secret for this Tenant: kubectl -n <operator " +
		"namespace> label secret <name> silo.dev/tenant=%[1]s",
	silov1.ChildConflictReason: "an object Silo did not create sits at the name of one of its children (the message names " +
		"it): delete or rename it in %[2]s, and Silo creates its own",
	silov1.ReconcileFailedReason: "the message has the API server's error; the operator retries with back-off. Its log: " +
		"kubectl -n silo-system logs deploy/silo",
	silov1.RetryingReason: "a transient error (a conflict, a timeout); the operator retries by itself. If it lasts, look at " +
		"the API server and the operator's log (kubectl -n silo-system logs deploy/silo)",
	silov1.ClassNotFoundReason:  "create the TenantClass the Tenant names (kubectl get tenantclasses), or change spec.class",
	silov1.IncompleteSpecReason: "set what the message names, on the Tenant or in its class's template (app.image, say)",
	silov1.MigrationRunningReason: "a migration Job runs before the app moves to its new image: kubectl -n %[2]s get jobs; " +
		"its log: kubectl -n %[2]s logs job/<name>",
	silov1.MigrationFailedReason: "the migration failed and the app stays on its old image: read the Job's log " +
		"(kubectl -n %[2]s logs job/<name>), fix the image or the migration, then roll out a new revision",
	silov1.DatabaseMajorUpgradeReason: "a new major PostgreSQL version needs pg_upgrade: upgrade the data first, then set " +
		"spec.database.allowMajorVersionUpgrade: true (docs/fleet.md), or keep the old version",
	silov1.SuspendedReason: "spec.suspend is true: kubectl silo resume %[1]s brings the workloads back",
	silov1.DeletingReason:  "the deletion policy runs; if it does not finish, the Tenant's conditions say what holds it",
}

// nextSteps says what to do about what is wrong with a Tenant, most important first:
// its conditions' reasons, then its pods and claims, then its quota and whether the
// operator has seen its spec. A healthy Tenant has none.
func nextSteps(v *tenantView) []string {
	t := v.tenant
	ns := controllers.NamespaceFor(t)
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, typ := range []string{silov1.DegradedCondition, silov1.ReadyCondition} {
		c := condition(t.Status.Conditions, typ)
		if c.Status == metav1.ConditionTrue && typ == silov1.ReadyCondition || c.Status == metav1.ConditionFalse && typ == silov1.DegradedCondition {
			continue
		}
		if hint, ok := reasonHints[c.Reason]; ok {
			add(fmt.Sprintf(hint, t.Name, ns))
		}
	}
	for _, pod := range sortedPods(v.pods) {
		for _, h := range podHints(&pod, ns) {
			add(h)
		}
	}
	for _, claim := range sortedClaims(v.claims) {
		if claim.Status.Phase != corev1.ClaimBound {
			add(fmt.Sprintf("volume claim %s is %s: kubectl -n %s describe pvc %s (is there a StorageClass for the Tenant's region, "+
				"and does the provisioner run?)", claim.Name, claimPhase(&claim), ns, claim.Name))
		}
	}
	if v.quota != nil {
		var full []string
		for _, r := range slices.Sorted(maps.Keys(v.quota.Status.Hard)) {
			if controllers.QuotaHeadroom(r, v.quota.Status.Hard[r]) && fraction(v.quota.Status.Used[r], v.quota.Status.Hard[r]) >= nearQuota {
				full = append(full, string(r))
			}
		}
		if len(full) > 0 {
			add(fmt.Sprintf("the quota is nearly used up (%s): raise spec.quota, or the next pods and volumes are refused",
				strings.Join(full, ", ")))
		}
	}
	if t.Status.ObservedGeneration < t.Generation && condition(t.Status.Conditions, silov1.DegradedCondition).Status != metav1.ConditionTrue {
		add(fmt.Sprintf("the operator has not reconciled generation %d of the spec yet (it saw %d): is it running? "+
			"kubectl -n silo-system get pods", t.Generation, t.Status.ObservedGeneration))
	}
	if t.Spec.Class != "" && v.class == nil {
		add(fmt.Sprintf("TenantClass %s does not exist: kubectl get tenantclasses", t.Spec.Class))
	}
	return out
}

// podHints say what to do about a pod that does not run well.
func podHints(pod *corev1.Pod, ns string) []string {
	var out []string
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			out = append(out, fmt.Sprintf("pod %s is not scheduled (%s): kubectl -n %s describe pod %s says why: no node of the "+
				"Tenant's pool or region, too little room, or the quota", pod.Name, c.Reason, ns, pod.Name))
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
				out = append(out, fmt.Sprintf("pod %s cannot pull its image %s (%s): check the image in the spec and the "+
					"Tenant's imagePullSecrets; kubectl -n %s describe pod %s", pod.Name, cs.Image, w.Reason, ns, pod.Name))
			case "CrashLoopBackOff":
				out = append(out, fmt.Sprintf("container %s of pod %s keeps crashing: kubectl -n %s logs %s -c %s --previous",
					cs.Name, pod.Name, ns, pod.Name, cs.Name))
			case "CreateContainerConfigError":
				out = append(out, fmt.Sprintf("pod %s cannot start (%s): a Secret or ConfigMap it needs is missing; "+
					"kubectl -n %s describe pod %s", pod.Name, w.Message, ns, pod.Name))
			}
		}
		if term := cs.LastTerminationState.Terminated; term != nil && term.Reason == "OOMKilled" {
			out = append(out, fmt.Sprintf("container %s of pod %s ran out of memory: raise its memory limit in the spec "+
				"(resources), within the quota", cs.Name, pod.Name))
		}
	}
	return out
}

func claimPhase(c *corev1.PersistentVolumeClaim) corev1.PersistentVolumeClaimPhase {
	if c.Status.Phase == "" {
		return corev1.ClaimPending
	}
	return c.Status.Phase
}

// fraction is used/hard, 0 when hard is 0.
func fraction(used, hard resource.Quantity) float64 {
	h := hard.AsApproximateFloat64()
	if h <= 0 {
		return 0
	}
	return used.AsApproximateFloat64() / h
}
