package controllers

import (
	"encoding/json"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=podmonitors,verbs=get;list;watch;create;patch;delete

// metricsPortName names the app's metrics port when it is not the app's own port.
const metricsPortName = "metrics"

// defaultMetricsPath is where Prometheus looks for metrics.
const defaultMetricsPath = "/metrics"

// metricsPort returns the app's metrics port and its container port name.
func metricsPort(t *silov1.Tenant) (int32, string) {
	if m := t.Spec.App.Metrics; m != nil && m.Port != 0 && m.Port != appPort(t) {
		return m.Port, metricsPortName
	}
	return appPort(t), appPortName
}

// buildAppPodMonitor returns the PodMonitor that has the Prometheus Operator scrape
// the app's pods, built from the prometheus-operator types.
func buildAppPodMonitor(t *silov1.Tenant) *objectApply {
	m := t.Spec.App.Metrics
	_, port := metricsPort(t)
	ep := monitoringv1.PodMetricsEndpoint{Port: &port, Path: defaultMetricsPath}
	if m.Path != "" {
		ep.Path = m.Path
	}
	if m.Interval != "" {
		ep.Interval = monitoringv1.Duration(m.Interval)
	}
	isController := true
	pm := &monitoringv1.PodMonitor{
		TypeMeta: metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PodMonitorsKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: AppName, Namespace: NamespaceFor(t), Labels: componentLabels(t, AppName),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: silov1.GroupVersion.String(), Kind: "Tenant",
				Name: t.Name, UID: t.UID, Controller: &isController, BlockOwnerDeletion: &isController}},
		},
		Spec: monitoringv1.PodMonitorSpec{
			Selector:            metav1.LabelSelector{MatchLabels: selector(t, AppName).MatchLabels},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{ep},
		},
	}
	return newObjectApply(pm)
}

// objectApply sends a typed object with server-side apply, for kinds whose module
// has no apply configurations: only the fields it sets (no zero timestamps, no
// empty structs) are sent, so Silo owns nothing it did not mean to.
type objectApply struct{ fields map[string]any }

// IsApplyConfiguration marks objectApply as an apply configuration.
func (*objectApply) IsApplyConfiguration() {}

// MarshalJSON sends the fields.
func (o *objectApply) MarshalJSON() ([]byte, error) { return json.Marshal(o.fields) }

// newObjectApply takes the set fields of a typed object.
func newObjectApply(obj client.Object) *objectApply {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err) // typed API objects always encode
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		panic(err)
	}
	return &objectApply{fields: pruneEmpty(fields).(map[string]any)}
}

// pruneEmpty drops nulls and empty maps from decoded JSON.
func pruneEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = pruneEmpty(e)
			if m, ok := e.(map[string]any); e == nil || (ok && len(m) == 0) {
				delete(x, k)
				continue
			}
			x[k] = e
		}
		return x
	case []any:
		for i := range x {
			x[i] = pruneEmpty(x[i])
		}
	}
	return v
}

// monitoringTypes are the kinds Silo watches when the cluster serves PodMonitors.
func (c *Config) monitoringTypes() []client.Object {
	if c.Platform.PodMonitors {
		return []client.Object{&monitoringv1.PodMonitor{}}
	}
	return nil
}

// servesPodMonitors reports whether the cluster serves the PodMonitor kind. It is
// asked once, at start: a cluster that gets the Prometheus Operator later needs the
// operator restarted to create PodMonitors.
func servesPodMonitors(restCfg *rest.Config) (bool, error) {
	return servesKind(restCfg, monitoringv1.SchemeGroupVersion.String(), monitoringv1.PodMonitorsKind)
}
