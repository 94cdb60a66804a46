//go:build tools

// Package hack pins the code generators the Makefile runs with `go run`, so their
// versions live in go.mod and a fresh clone needs nothing installed by hand.
package hack

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
