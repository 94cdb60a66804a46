package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// guard watches what must never change once it exists: every credentials Secret's
// data (a regenerated database password is lost data) and every volume claim (a
// deleted or recreated claim is lost data). It remembers the first version it sees
// of each and records every later version that differs, and every deletion.
type guard struct {
	cache cache.Cache

	mu         sync.Mutex
	secrets    map[string]seen // namespace/name of a credentials Secret
	claims     map[string]seen // namespace/name of a volume claim
	violations []string
}

// seen is the first version of an object the guard saw.
type seen struct {
	uid  types.UID
	data string // hash of a Secret's data
}

// isCredentials reports whether a Secret holds generated credentials.
func isCredentials(name string) bool { return strings.HasSuffix(name, "-credentials") }

func dataHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%x;", k, data[k])
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func startGuard(ctx context.Context, cfg *rest.Config) (*guard, error) {
	managed := labels.SelectorFromSet(labels.Set{silov1.ManagedByLabel: silov1.ManagedByValue})
	c, err := cache.New(cfg, cache.Options{Scheme: controllers.NewScheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}:                {Label: managed},
		&corev1.PersistentVolumeClaim{}: {Label: managed},
	}})
	if err != nil {
		return nil, err
	}
	g := &guard{cache: c, secrets: map[string]seen{}, claims: map[string]seen{}}
	for _, obj := range []client.Object{&corev1.Secret{}, &corev1.PersistentVolumeClaim{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    g.see,
			UpdateFunc: func(_, o any) { g.see(o) },
			DeleteFunc: g.deleted,
		}); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the guard's caches did not sync")
	}
	return g, nil
}

func (g *guard) see(o any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch obj := o.(type) {
	case *corev1.Secret:
		if !isCredentials(obj.Name) {
			return
		}
		g.check("credentials Secret", g.secrets, obj.Namespace+"/"+obj.Name, seen{uid: obj.UID, data: dataHash(obj.Data)})
	case *corev1.PersistentVolumeClaim:
		g.check("volume claim", g.claims, obj.Namespace+"/"+obj.Name, seen{uid: obj.UID})
	}
}

// check records now as the first version of key, or a violation when it differs.
func (g *guard) check(what string, first map[string]seen, key string, now seen) {
	was, ok := first[key]
	switch {
	case !ok:
		first[key] = now
	case was.uid != now.uid:
		g.violations = append(g.violations, fmt.Sprintf("%s %s was recreated (uid %s, then %s)", what, key, was.uid, now.uid))
		first[key] = now
	case was.data != now.data:
		g.violations = append(g.violations, fmt.Sprintf("%s %s changed its data", what, key))
		first[key] = now
	}
}

func (g *guard) deleted(o any) {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	if _, isSecret := obj.(*corev1.Secret); isSecret && !isCredentials(obj.GetName()) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.violations = append(g.violations, fmt.Sprintf("%T %s/%s was deleted", obj, obj.GetNamespace(), obj.GetName()))
}

// counts returns how many credentials Secrets and claims the guard has seen, and the
// violations so far.
func (g *guard) counts() (secrets, claims int, violations []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.secrets), len(g.claims), append([]string(nil), g.violations...)
}

// verify compares what the API server holds now with the first version of each
// object (a last check that does not rely on watch events alone).
func (g *guard) verify(ctx context.Context, c client.Client) error {
	sel := client.MatchingLabels{silov1.ManagedByLabel: silov1.ManagedByValue}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, sel); err != nil {
		return err
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, claims, sel); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	present := map[string]map[string]bool{"credentials Secret": {}, "volume claim": {}}
	for _, s := range secrets.Items {
		if isCredentials(s.Name) {
			key := s.Namespace + "/" + s.Name
			present["credentials Secret"][key] = true
			g.check("credentials Secret", g.secrets, key, seen{uid: s.UID, data: dataHash(s.Data)})
		}
	}
	for _, pvc := range claims.Items {
		key := pvc.Namespace + "/" + pvc.Name
		present["volume claim"][key] = true
		g.check("volume claim", g.claims, key, seen{uid: pvc.UID})
	}
	for what, first := range map[string]map[string]seen{"credentials Secret": g.secrets, "volume claim": g.claims} {
		for key := range first {
			if !present[what][key] {
				g.violations = append(g.violations, fmt.Sprintf("%s %s is gone", what, key))
			}
		}
	}
	return nil
}
