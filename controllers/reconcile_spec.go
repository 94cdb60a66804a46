package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// invalidSpec returns what in the effective spec (class template and Tenant
// together) no child could carry, so that the API server would refuse the child on
// every pass, or "" when there is nothing. The schema could check them only at a
// price its validation budget cannot pay (unique names in lists of 128 entries,
// quantities compared across maps), and a class template is checked here too.
func invalidSpec(spec *silov1.TenantSpec) string {
	var problems []string
	problems = append(problems, duplicateEnv("spec.app.env", spec.App.Env)...)
	problems = append(problems, requestsAboveLimits("spec.app.resources", &spec.App.Resources)...)
	if w := spec.Workers; w != nil {
		problems = append(problems, duplicateEnv("spec.workers.env", w.Env)...)
		problems = append(problems, requestsAboveLimits("spec.workers.resources", &w.Resources)...)
	}
	if q := spec.Queue; q != nil {
		problems = append(problems, requestsAboveLimits("spec.queue.resources", q.Resources)...)
	}
	if c := spec.Cache; c != nil {
		problems = append(problems, requestsAboveLimits("spec.cache.resources", c.Resources)...)
	}
	if d := spec.Database; d != nil {
		problems = append(problems, requestsAboveLimits("spec.database.resources", d.Resources)...)
	}
	for i, o := range spec.Owners {
		if o.Kind != silov1.OwnerKindServiceAccount {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("spec.owners[%d].name %q is not a ServiceAccount name (%s)", i, o.Name, errs[0]))
		}
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("spec.owners[%d].namespace %q is not a namespace name (%s)", i, o.Namespace, errs[0]))
		}
	}
	if len(problems) == 0 {
		return ""
	}
	return "the spec (with its class's template) cannot be built: " + strings.Join(problems, "; ") + ": fix it on the Tenant or its TenantClass"
}

// duplicateEnv names the env entries that share a name: a container refuses them.
func duplicateEnv(field string, env []corev1.EnvVar) []string {
	seen := map[string]bool{}
	var dup []string
	for _, e := range env {
		if seen[e.Name] && !slices.Contains(dup, e.Name) {
			dup = append(dup, e.Name)
		}
		seen[e.Name] = true
	}
	if len(dup) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s has more than one entry named %s", field, strings.Join(dup, ", "))}
}

// requestsAboveLimits names the negative quantities and the resources whose request
// is above their limit: a container refuses both.
func requestsAboveLimits(field string, r *corev1.ResourceRequirements) []string {
	if r == nil {
		return nil
	}
	var out []string
	for kind, list := range map[string]corev1.ResourceList{"limits": r.Limits, "requests": r.Requests} {
		for _, name := range slices.Sorted(maps.Keys(list)) {
			if q := list[name]; q.Sign() < 0 {
				out = append(out, fmt.Sprintf("%s.%s.%s is negative (%s)", field, kind, name, q.String()))
			}
		}
	}
	slices.Sort(out)
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		req := r.Requests[name]
		if limit, ok := r.Limits[name]; ok && req.Cmp(limit) > 0 {
			out = append(out, fmt.Sprintf("%s requests %s of %s, above its limit %s", field, req.String(), name, limit.String()))
		}
	}
	return out
}
