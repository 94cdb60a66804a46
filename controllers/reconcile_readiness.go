package controllers

import (
	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// wrote records a child the pass created or changed.
func (obs *observation) wrote(key childKey) {
	if key.gvk.Kind != "Deployment" && key.gvk.Kind != "StatefulSet" {
		return
	}
	if obs.workloadsWritten == nil {
		obs.workloadsWritten = map[string]bool{}
	}
	obs.workloadsWritten[key.name] = true
}

// rolloutAware makes readiness judge the spec the pass applied, never status observed
// before it: a component whose workload (named as the component) the pass wrote is not
// ready in this pass, whatever the cache still says about the old spec; its
// controller reports the new spec's rollout, which the next pass reads. While a
// migration runs, the app is not ready either: it still runs the old image.
func (obs *observation) rolloutAware(mig *migration) {
	for i := range obs.components {
		c := &obs.components[i]
		switch {
		case mig != nil && mig.running != "" && c.Name == AppName:
			c.Ready, c.Message = false, mig.running
		case obs.workloadsWritten[c.Name] && c.Ready:
			c.Ready, c.Message = false, "a new spec was applied; waiting for its rollout"
		}
	}
}

// classStatus is what status.class and status.classRevision say: the class and
// revision the pass rendered when it got through, else what they said before.
func classStatus(t *silov1.Tenant, obs *observation, reconcileErr error) (string, string) {
	if reconcileErr != nil || obs.blocked != nil || obs.deleting {
		return t.Status.Class, t.Status.ClassRevision
	}
	return obs.class, obs.classRevision
}
