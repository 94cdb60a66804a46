package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// placeholder stands for the Tenant's name in templates.
const placeholder = "@tenant@"

// templates are what the operator created for one sample Tenant, read back from the
// cluster: the namespace, every namespaced child of every kind the operator owns, and
// the Tenant's status. They are found by label, so kinds the operator learns to create
// later are measured without touching the benchmark.
type templates struct {
	objects []string // JSON, the namespace first
	kinds   []string // kind of each object
	status  string   // JSON of the sample's status
}

// captureTemplates reads sample's children and status.
func captureTemplates(ctx context.Context, c client.Client, sample string) (*templates, error) {
	scheme := controllers.NewScheme()
	sel := client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue, silov1.TenantLabel: sample}
	tpl := &templates{}
	kinds := append([]client.Object{&corev1.Namespace{}}, controllers.OwnedTypes()...)
	for _, obj := range kinds {
		gvk, err := apiutil.GVKForObject(obj, scheme)
		if err != nil {
			return nil, err
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		opts := []client.ListOption{sel}
		if gvk.Kind != "Namespace" {
			opts = append(opts, client.InNamespace(controllers.NamespacePrefix+sample))
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for _, item := range list.Items {
			u := item.DeepCopy()
			u.SetGroupVersionKind(gvk)
			for _, f := range []string{"uid", "resourceVersion", "ownerReferences", "managedFields", "creationTimestamp", "generation", "selfLink"} {
				unstructured.RemoveNestedField(u.Object, "metadata", f)
			}
			delete(u.Object, "status")
			// Fields the API server allocates must be allocated again for each copy.
			if ip, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP"); gvk.Kind == "Service" && ip != "None" {
				unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
				unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
			}
			if gvk.Kind == "PersistentVolumeClaim" {
				unstructured.RemoveNestedField(u.Object, "spec", "volumeName")
			}
			b, err := json.Marshal(u.Object)
			if err != nil {
				return nil, err
			}
			tpl.objects = append(tpl.objects, strings.ReplaceAll(string(b), sample, placeholder))
			tpl.kinds = append(tpl.kinds, gvk.Kind)
		}
	}
	t := &silov1.Tenant{}
	if err := c.Get(ctx, client.ObjectKey{Name: sample}, t); err != nil {
		return nil, err
	}
	st, err := json.Marshal(map[string]any{"status": t.Status})
	if err != nil {
		return nil, err
	}
	tpl.status = strings.ReplaceAll(string(st), sample, placeholder)
	return tpl, nil
}

// kindCounts summarises the templates, "Namespace 1, NetworkPolicy 4, ...".
func (tpl *templates) kindCounts() string {
	counts := map[string]int{}
	var order []string
	for _, k := range tpl.kinds {
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// runCeiling does, with a plain client, the least API work that gives the end state
// Silo gives: per Tenant, create the Tenant, create each object of the templates in
// order (the namespace first), and write the status once. workers Tenants are
// processed in parallel, like the operator's workers.
// With apply, children are written with server-side apply instead of create, as Silo
// writes them: the difference between the two ceilings is the server's price of apply.
func runCeiling(ctx context.Context, c client.Client, tpl *templates, names []string, spec func(string) *silov1.Tenant, workers int, apply bool) (time.Duration, error) {
	work := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for name := range work {
				if err := ceilingTenant(ctx, c, tpl, spec(name), apply); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() {
		defer close(work)
		for _, n := range names {
			select {
			case work <- n:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return elapsed, nil
}

func ceilingTenant(ctx context.Context, c client.Client, tpl *templates, t *silov1.Tenant, apply bool) error {
	if err := c.Create(ctx, t); err != nil {
		return fmt.Errorf("ceiling: creating Tenant %s: %w", t.Name, err)
	}
	for _, raw := range tpl.objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(strings.ReplaceAll(raw, placeholder, t.Name))); err != nil {
			return err
		}
		write := func() error { return c.Create(ctx, u) }
		if apply {
			write = func() error {
				return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("ceiling"), client.ForceOwnership)
			}
		}
		if err := write(); err != nil {
			return fmt.Errorf("ceiling: creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	patch := client.RawPatch(types.MergePatchType, []byte(strings.ReplaceAll(tpl.status, placeholder, t.Name)))
	if err := c.Status().Patch(ctx, t, patch); err != nil {
		return fmt.Errorf("ceiling: writing status of %s: %w", t.Name, err)
	}
	return nil
}
