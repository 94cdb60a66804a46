package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// buildContext is everything a component builder may read: the Tenant, the operator's
// configuration, and values the reconciler read from the cluster before building
// (so builders stay pure).
type buildContext struct {
	Tenant *silov1.Tenant
	Config *Config
}

// component is one part of a tenant environment (app, workers, queue, ...): a pure
// builder of its desired objects and a reader of its readiness.
type component struct {
	// name is the component's name in status.components.
	name string
	// enabled reports whether the Tenant asks for the component.
	enabled func(t *silov1.Tenant) bool
	// build returns the component's desired objects.
	build func(bc *buildContext) []runtime.ApplyConfiguration
	// observe reads the component's readiness from the cache.
	observe func(ctx context.Context, c client.Reader, t *silov1.Tenant) (silov1.ComponentStatus, error)
}

// components are the parts of a tenant environment, in status order.
var components []component
