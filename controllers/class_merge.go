package controllers

import (
	"encoding/json"
	"fmt"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// exclusiveFields are fields that cannot be set together in one object (the CRD
// refuses it on a Tenant and on a template alike). When a Tenant sets one of them, the
// class's others are dropped, so the merge of two valid specs is valid: a Tenant that
// asks for autoscaling does not also inherit its class's replica count, and a Tenant
// that points its database at an external one inherits none of the managed
// database's settings.
var exclusiveFields = map[string][][]string{
	"app":      {{"replicas"}, {"autoscaling"}},
	"queue":    {{"external"}, {"storage", "version", "resources"}},
	"cache":    {{"external"}, {"version", "resources"}},
	"database": {{"external"}, {"storage", "version", "resources"}},
}

// effectiveSpec returns the spec a Tenant of a class runs: the class's template with
// the Tenant's own fields on top. Objects merge field by field; a list (env, command,
// owners) or a scalar set on the Tenant replaces the template's whole; a field the
// Tenant leaves out keeps the template's value. The class and the update policy are
// the Tenant's own. It is pure.
func effectiveSpec(template, own *silov1.TenantSpec) (silov1.TenantSpec, error) {
	base, err := toMap(template)
	if err != nil {
		return silov1.TenantSpec{}, fmt.Errorf("encoding the class template: %w", err)
	}
	over, err := toMap(own)
	if err != nil {
		return silov1.TenantSpec{}, fmt.Errorf("encoding the Tenant spec: %w", err)
	}
	merged := mergeObjects(base, over, "")
	raw, err := json.Marshal(merged)
	if err != nil {
		return silov1.TenantSpec{}, fmt.Errorf("encoding the effective spec: %w", err)
	}
	var out silov1.TenantSpec
	if err := json.Unmarshal(raw, &out); err != nil {
		return silov1.TenantSpec{}, fmt.Errorf("decoding the effective spec: %w", err)
	}
	return out, nil
}

// toMap encodes a spec as a JSON object: fields left out are absent.
func toMap(spec *silov1.TenantSpec) (map[string]any, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(raw, &out)
}

// mergeObjects returns base with over on top; key is the field holding the objects
// ("" at the top).
func mergeObjects(base, over map[string]any, key string) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for _, group := range exclusiveFields[key] {
		if hasAny(over, group) {
			for _, other := range exclusiveFields[key] {
				if !sameGroup(other, group) {
					for _, f := range other {
						delete(out, f)
					}
				}
			}
		}
	}
	for k, v := range over {
		bo, baseIsObject := out[k].(map[string]any)
		oo, overIsObject := v.(map[string]any)
		if baseIsObject && overIsObject {
			out[k] = mergeObjects(bo, oo, k)
			continue
		}
		out[k] = v
	}
	return out
}

func hasAny(m map[string]any, fields []string) bool {
	for _, f := range fields {
		if _, ok := m[f]; ok {
			return true
		}
	}
	return false
}

func sameGroup(a, b []string) bool { return len(a) > 0 && len(b) > 0 && a[0] == b[0] }

// incompleteSpec returns what the effective spec of a Tenant of a class lacks, in a
// message that says what to set, or "" when it is complete. The CRD checks the same
// on a Tenant without a class.
func incompleteSpec(t *silov1.Tenant, spec *silov1.TenantSpec) string {
	class := t.Spec.Class
	switch {
	case spec.App.Image == "":
		return fmt.Sprintf("neither the Tenant nor its class %q gives app.image: set spec.app.image on the Tenant, or spec.template.app.image on the TenantClass", class)
	case spec.Workers != nil && len(spec.Workers.Command) == 0 && spec.Workers.Image == "":
		return fmt.Sprintf("workers need a command (or their own image), and neither the Tenant nor its class %q gives one: set spec.workers.command on the Tenant or spec.template.workers.command on the TenantClass", class)
	}
	return ""
}
