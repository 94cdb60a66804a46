package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete

// buildAppHTTPRoute returns the Gateway API HTTPRoute that exposes the app at its
// host name through the platform's Gateway, for clusters that route with Gateway
// API. TLS is the Gateway listener's: the route carries none.
func buildAppHTTPRoute(t *silov1.Tenant, p *Platform) *gatewayv1ac.HTTPRouteApplyConfiguration {
	parent := gatewayv1ac.ParentReference().
		WithGroup(gatewayv1.GroupName).
		WithKind("Gateway").
		WithNamespace(gatewayv1.Namespace(p.Gateway.Namespace)).
		WithName(gatewayv1.ObjectName(p.Gateway.Name))
	if p.Gateway.SectionName != "" {
		parent.WithSectionName(gatewayv1.SectionName(p.Gateway.SectionName))
	}
	return gatewayv1ac.HTTPRoute(AppName, NamespaceFor(t)).
		WithLabels(componentLabels(t, AppName)).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(gatewayv1ac.HTTPRouteSpec().
			WithParentRefs(parent).
			WithHostnames(gatewayv1.Hostname(t.Spec.App.Ingress.Host)).
			WithRules(gatewayv1ac.HTTPRouteRule().
				WithBackendRefs(gatewayv1ac.HTTPBackendRef().
					WithName(AppName).
					WithPort(appPort(t)))))
}

// ownedTypes are the kinds of child Silo creates in tenant namespaces with this
// configuration: the fixed ones, and the kinds of optional APIs it was set up for.
func (c *Config) ownedTypes() []client.Object {
	out := ownedTypes()
	if c.Platform.Routing == RoutingHTTPRoute {
		out = append(out, &gatewayv1.HTTPRoute{})
	}
	return append(out, c.monitoringTypes()...)
}
