package controllers

import (
	"context"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// TestAPassWaitsForTheCacheToCatchUpWithItsOwnWrite proves that a pass which starts
// from a Tenant older than this process's last write to it writes nothing (it would
// write the status it cannot see again), and, as the positive control, that a pass
// from the version the write returned, or a newer one, does its work.
func TestAPassWaitsForTheCacheToCatchUpWithItsOwnWrite(t *testing.T) {
	writes := 0
	count := interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			writes++
			return c.Create(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			writes++
			return c.Patch(ctx, obj, p, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			writes++
			return c.Apply(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			writes++
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	}
	r, c, _ := fakeWithRecorder(count, readyTenant())
	cached := &silov1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, cached); err != nil {
		t.Fatal(err)
	}
	rv, err := strconv.Atoi(cached.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}

	// This process wrote the Tenant at a newer version than the cache holds.
	newer := cached.DeepCopy()
	newer.ResourceVersion = strconv.Itoa(rv + 5)
	r.written.wrote(newer)
	if _, err := reconcileAcme(r); err != nil {
		t.Fatal(err)
	}
	if writes != 0 {
		t.Fatalf("a pass from a Tenant older than its own last write sent %d writes, want 0", writes)
	}

	// The cache has caught up: the pass provisions the Tenant. (The fake client's
	// server-side apply refuses some kinds; what matters here is that the pass wrote.)
	r.written.wrote(cached)
	_, _ = reconcileAcme(r)
	if writes == 0 {
		t.Fatal("a pass from the version of its own last write sent nothing: the Tenant is never provisioned")
	}
}
