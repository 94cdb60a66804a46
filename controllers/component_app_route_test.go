package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestAppHTTPRoute(t *testing.T) {
	tests := map[string]struct {
		gateway     GatewayRef
		wantObjects []string
		wantParent  gatewayv1.ParentReference
	}{
		"attached to the platform's Gateway": {
			gateway:     GatewayRef{Namespace: "gateway-system", Name: "public"},
			wantObjects: []string{"Deployment/app", "HTTPRoute/app", "Service/app"},
			wantParent: gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group("gateway.networking.k8s.io")),
				Kind: ptr.To(gatewayv1.Kind("Gateway")), Namespace: ptr.To(gatewayv1.Namespace("gateway-system")), Name: "public"},
		},
		"to one of its listeners": {
			gateway:     GatewayRef{Namespace: "gateway-system", Name: "public", SectionName: "https"},
			wantObjects: []string{"Deployment/app", "HTTPRoute/app", "Service/app"},
			wantParent: gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group("gateway.networking.k8s.io")),
				Kind: ptr.To(gatewayv1.Kind("Gateway")), Namespace: ptr.To(gatewayv1.Namespace("gateway-system")), Name: "public",
				SectionName: ptr.To(gatewayv1.SectionName("https"))},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tn := testTenant()
			tn.Spec.App.Port = 3000
			tn.Spec.App.Ingress = &silov1.IngressSpec{Host: "acme.example.com", Issuer: "letsencrypt"}
			bc := testContext(tn)
			bc.Config.Platform.Routing, bc.Config.Platform.Gateway = RoutingHTTPRoute, tc.gateway
			objs := typed(t, buildApp(bc))
			if diff := cmp.Diff(tc.wantObjects, keys(objs)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			route := objs["HTTPRoute/app"].(*gatewayv1.HTTPRoute)
			want := gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{tc.wantParent}},
				Hostnames:       []gatewayv1.Hostname{"acme.example.com"},
				Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app", Port: ptr.To(gatewayv1.PortNumber(3000))}}}}}},
			}
			if diff := cmp.Diff(want, route.Spec); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
			if route.Labels[silov1.TenantLabel] != "acme" || len(route.OwnerReferences) != 1 {
				t.Errorf("route lacks labels or owner: %v %v", route.Labels, route.OwnerReferences)
			}
		})
	}
	cfg := DefaultConfig()
	if got := len(cfg.ownedTypes()); got != len(ownedTypes()) {
		t.Errorf("Ingress routing watches %d kinds, want %d", got, len(ownedTypes()))
	}
	cfg.Platform.Routing = RoutingHTTPRoute
	if got := cfg.ownedTypes(); len(got) != len(ownedTypes())+1 {
		t.Errorf("HTTPRoute routing does not watch HTTPRoutes: %d kinds", len(got))
	}
}
