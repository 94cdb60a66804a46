package testenv

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// gatewayAPIModule is the Go module whose Gateway API CRDs the control plane
// serves, the version go.mod pins (the operator builds HTTPRoutes with its types).
const gatewayAPIModule = "sigs.k8s.io/gateway-api"

// gatewayAPICRDs are the standard-channel CRDs of Gateway API that tenants' routes
// need, from the module's own config/crd/standard.
var gatewayAPICRDs = []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"}

// GatewayAPICRDPaths returns the files of the Gateway API CRDs of the pinned module.
func GatewayAPICRDPaths() ([]string, error) {
	dir, err := moduleDir(gatewayAPIModule)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(gatewayAPICRDs))
	for _, name := range gatewayAPICRDs {
		out = append(out, filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_"+name+".yaml"))
	}
	return out, nil
}

// moduleDir returns where the Go toolchain keeps module, at the version go.mod pins.
func moduleDir(module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding module %s (go list -m): %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// snapshotModule is the Go module whose VolumeSnapshot types the operator uses; it
// ships the CSI snapshot CRDs (config/crd), the version go.mod pins.
const snapshotModule = "github.com/kubernetes-csi/external-snapshotter/client/v8"

// SnapshotCRDPaths returns the files of the VolumeSnapshot, VolumeSnapshotContent and
// VolumeSnapshotClass CRDs of the pinned module.
func SnapshotCRDPaths() ([]string, error) {
	dir, err := moduleDir(snapshotModule)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range []string{"volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots"} {
		out = append(out, filepath.Join(dir, "config", "crd", "snapshot.storage.k8s.io_"+name+".yaml"))
	}
	return out, nil
}
