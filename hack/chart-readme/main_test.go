package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRender(t *testing.T) {
	chart := []byte("name: demo\ndescription: A demo.\nversion: 1.0.0\nappVersion: \"2.0\"\nkubeVersion: \">=1.30.0-0\"\n")
	values := []byte(`# File header, not a value's documentation.

# -- The image.
image:
  repository: example/demo
  tag: ""

# A section note without "--": not documentation.
metrics:
  # -- Serve metrics (--metrics-bind-address,
  # --metrics-secure) | on this port.
  enabled: true
  port: 8080
  service:
    annotations: {}
`)
	out, err := render(chart, values)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	want := []string{
		"| `image` | `{\"repository\":\"example/demo\",\"tag\":\"\"}` | The image. |",
		"| `metrics.enabled` | `true` | Serve metrics (--metrics-bind-address, --metrics-secure) \\| on this port. |",
		"| `metrics.port` | `8080` |  |",
		"| `metrics.service.annotations` | `{}` |  |",
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if !strings.Contains(string(out), "Chart version 1.0.0, Silo 2.0, Kubernetes `>=1.30.0-0`") {
		t.Errorf("no chart versions in:\n%s", out)
	}
}
