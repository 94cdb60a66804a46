package controllers

import "sigs.k8s.io/controller-runtime/pkg/client"

// OwnedTypes returns the namespaced kinds of child the operator creates and watches
// (besides the tenant Namespace itself), for tools that inspect what Silo manages,
// such as the benchmark's comparator.
func OwnedTypes() []client.Object { return ownedTypes() }
