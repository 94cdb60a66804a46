package controllers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestRunbookCoversEveryReasonAndAlert keeps docs/troubleshooting.md honest: every
// condition reason in api/v1alpha1/conditions.go and every alert of the chart has its
// section, and each alert's runbook_url points at it.
func TestRunbookCoversEveryReasonAndAlert(t *testing.T) {
	root := filepath.Join("..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			headings[strings.TrimSpace(h)] = true
		}
	}

	reasons := 0
	// Reasons live beside their types: the general ones in conditions.go, those of
	// backups and restores in backup_types.go.
	for _, name := range []string{"conditions.go", "backup_types.go"} {
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "api", "v1alpha1", name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasSuffix(name.Name, "Reason") || i >= len(spec.Values) {
					continue
				}
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				reason, _ := strconv.Unquote(lit.Value)
				reasons++
				if !headings[reason] {
					t.Errorf("docs/troubleshooting.md has no section \"### %s\" (%s)", reason, name.Name)
				}
			}
			return true
		})
	}
	if reasons < 15 {
		t.Fatalf("found %d reasons in conditions.go and backup_types.go: the parser missed them", reasons)
	}

	raw, err := os.ReadFile(filepath.Join(root, "charts", "silo", "files", "monitoring", "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if !headings[r.Alert] {
				t.Errorf("docs/troubleshooting.md has no section \"### %s\"", r.Alert)
			}
			if want := "docs/troubleshooting.md#" + strings.ToLower(r.Alert); !strings.HasSuffix(r.Annotations["runbook_url"], want) {
				t.Errorf("alert %s: runbook_url %q does not end in %s", r.Alert, r.Annotations["runbook_url"], want)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts read")
	}
}
