package controllers

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestIsSubset(t *testing.T) {
	tests := map[string]struct {
		want, live any
		applied    bool
	}{
		"same map": {map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		"live has server defaults and other fields": {
			map[string]any{"spec": map[string]any{"replicas": int64(2)}},
			map[string]any{"spec": map[string]any{"replicas": int64(2), "revisionHistoryLimit": int64(10)}, "status": map[string]any{}},
			true,
		},
		"a changed value":       {map[string]any{"a": "x"}, map[string]any{"a": "y"}, false},
		"a missing field":       {map[string]any{"a": "x"}, map[string]any{}, false},
		"an explicit zero kept": {map[string]any{"replicas": int64(0)}, map[string]any{"replicas": int64(3)}, false},
		"an empty selector that is gone is drift ({} selects everything)": {
			map[string]any{"podSelector": map[string]any{}}, map[string]any{}, false,
		},
		"an empty selector that gained a key is drift": {
			map[string]any{"podSelector": map[string]any{}}, map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}, false,
		},
		"an empty string or list the server dropped": {
			map[string]any{"a": "", "b": []any{}}, map[string]any{}, true,
		},
		"a list element edited": {
			map[string]any{"ports": []any{map[string]any{"port": int64(80)}}},
			map[string]any{"ports": []any{map[string]any{"port": int64(81), "protocol": "TCP"}}},
			false,
		},
		"list elements with server defaults": {
			map[string]any{"ports": []any{map[string]any{"port": int64(80)}}},
			map[string]any{"ports": []any{map[string]any{"port": int64(80), "protocol": "TCP"}}},
			true,
		},
		"a list grew": {
			map[string]any{"l": []any{"a"}}, map[string]any{"l": []any{"a", "b"}}, false,
		},
		"integer and float encodings of one number": {
			map[string]any{"n": int64(3)}, map[string]any{"n": float64(3)}, true,
		},
		"a number against a string": {
			map[string]any{"n": int64(3)}, map[string]any{"n": "3"}, false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := isSubset(tc.want, tc.live); got != tc.applied {
				t.Errorf("isSubset = %v, want %v", got, tc.applied)
			}
		})
	}
}

// TestBodySendsWhatIsCompared proves that what an apply sends is the content the
// comparison judges (the spec hash included) for every child of a Tenant that has
// everything, and that encoding it leaves the builder's apply configuration as it was.
func TestBodySendsWhatIsCompared(t *testing.T) {
	tn := fullTestTenant()
	bc := testContext(tn)
	all := append([]runtime.ApplyConfiguration{buildNamespace(tn, bc.Config)}, buildIsolation(bc)...)
	all = append(all, buildWorkloads(bc)...)
	for _, ac := range all {
		d, err := newDesiredChild(ac)
		if err != nil {
			t.Fatal(err)
		}
		name := d.gvk.Kind + "/" + d.key.Name
		body, err := d.body()
		if err != nil {
			t.Fatal(err)
		}
		sent := &unstructured.Unstructured{}
		if err := sent.UnmarshalJSON(body); err != nil {
			t.Fatal(err)
		}
		u, err := d.object()
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(sent.Object, u.Object) {
			t.Errorf("%s: the apply sends\n%s\nbut the comparison judges\n%v", name, body, u.Object)
		}
		again, err := json.Marshal(ac)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(d.raw) {
			t.Errorf("%s: encoding the body changed the builder's apply configuration", name)
		}
	}
}
