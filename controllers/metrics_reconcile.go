package controllers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// Metrics the reconciler updates as it works (the fleet's state is read at scrape
// time, see metrics_tenants.go). Neither carries a tenant label: their cardinality is
// the number of reasons, a fixed set.
var (
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "silo_reconcile_errors_total",
		Help: "Tenant reconcile passes that failed, by reason: the API server's status reason (Conflict, Forbidden, " +
			"Invalid, Timeout, ...), the Degraded reason when the failed pass was also blocked, or Unknown.",
	}, []string{"reason"})
	timeToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "silo_tenant_time_to_ready_seconds",
		Help: "Seconds from a new Tenant's creation to its first Ready.",
		// From a small Tenant on an idle cluster (seconds) to a database volume that
		// waits for a slow provisioner (many minutes).
		Buckets: []float64{5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600},
	})
)

// firstReadyWindow tells a new Tenant's first Ready from a recovery: a Tenant whose
// Ready condition last turned False more than this long after its creation had been
// Ready before (see isFirstReady).
const firstReadyWindow = time.Hour

var registerOnce sync.Once

// registerMetrics adds Silo's metrics to controller-runtime's registry, which the
// manager serves on its metrics endpoint, and points the fleet collector at mgr's
// cache.
func registerMetrics(mgr ctrl.Manager) {
	registerOnce.Do(func() {
		metrics.Registry.MustRegister(fleet, reconcileErrors, timeToReady)
		// Series of the usual reasons exist from the start, at 0, so a rate over the
		// first errors is right and alerts that select the metric always see it.
		for _, reason := range []string{"Conflict", "Forbidden", "Invalid", "NotFound", "Timeout", "Unknown"} {
			reconcileErrors.WithLabelValues(reason)
		}
	})
	fleet.setSource(&fleetSource{reader: mgr.GetCache(), elected: mgr.Elected()})
}

// recordPass updates the reconciler's metrics after a pass of a live Tenant: orig is
// the Tenant as the pass found it, t as it left it (its status is what was written).
func recordPass(orig, t *silov1.Tenant, obs *observation, reconcileErr error, now time.Time) {
	if reconcileErr != nil {
		reconcileErrors.WithLabelValues(errorReason(obs, reconcileErr)).Inc()
	}
	if isFirstReady(orig, t) {
		timeToReady.Observe(now.Sub(t.CreationTimestamp.Time).Seconds())
	}
}

// errorReason is a failed pass's reason label: a fixed, small set of values.
func errorReason(obs *observation, err error) string {
	if obs != nil && obs.blocked != nil {
		return obs.blocked.reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Timeout"
	}
	if r := apierrors.ReasonForError(err); r != "" {
		return string(r)
	}
	return "Unknown"
}

// isFirstReady reports whether this pass made a new Tenant Ready for the first time.
// Status keeps no history, so "never Ready before" is read from the Ready condition
// the pass found: absent, or False since the Tenant's first passes (its
// lastTransitionTime within firstReadyWindow of creation). A Tenant that was Ready,
// broke and recovered has a later transition and is not counted; one that broke
// within the window counts at its recovery.
func isFirstReady(orig, t *silov1.Tenant) bool {
	if !meta.IsStatusConditionTrue(t.Status.Conditions, silov1.ReadyCondition) {
		return false
	}
	prev := meta.FindStatusCondition(orig.Status.Conditions, silov1.ReadyCondition)
	if prev == nil {
		return true
	}
	if prev.Status == metav1.ConditionTrue {
		return false
	}
	return prev.LastTransitionTime.Sub(t.CreationTimestamp.Time) <= firstReadyWindow
}
