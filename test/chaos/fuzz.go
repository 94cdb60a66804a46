package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// fuzzer makes random but well-typed Tenants: every field of the spec is absent or
// holds a value drawn from a pool of values the API accepts or a pool of values it
// must refuse (out of range, wrong pattern, too long, unknown enum, contradicting
// another field). The "accepted" pools also hold values the Tenant's schema lets
// through but a child's validation refuses (an environment variable named 1BAD,
// requests above limits, an image with spaces): the operator must report those, not
// crash on them.
type fuzzer struct {
	r *rand.Rand
	// bad is the chance that a field gets a value from its refused pool.
	bad float64
}

// fuzzTenant returns fuzzed Tenant number i. One Tenant in three draws only from the
// accepted pools, so roughly half the Tenants pass the API server's validation.
func fuzzTenant(r *rand.Rand, i int) *silov1.Tenant {
	f := &fuzzer{r: r, bad: []float64{0, 0.04, 0.2}[r.IntN(3)]}
	return &silov1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: f.name(i)},
		Spec:       f.spec(),
	}
}

// pick draws from good, or from bad with the fuzzer's chance.
func pick[T any](f *fuzzer, good, bad []T) T {
	if len(bad) > 0 && f.r.Float64() < f.bad {
		return bad[f.r.IntN(len(bad))]
	}
	return good[f.r.IntN(len(good))]
}

// some is true half the time: whether an optional field is present.
func (f *fuzzer) some() bool { return f.r.IntN(2) == 0 }

// boolp is unset, true or false.
func (f *fuzzer) boolp() *bool {
	if !f.some() {
		return nil
	}
	return ptr.To(f.some())
}

func long(n int) string { return strings.Repeat("x", n) }

func (f *fuzzer) name(i int) string {
	return pick(f, []string{fmt.Sprintf("fuzz-%04d", i), fmt.Sprintf("fuzz-%04d-%s", i, strings.Repeat("n", 30))}, // 40: the limit
		[]string{
			fmt.Sprintf("Fuzz-%04d", i),              // upper case
			fmt.Sprintf("fuzz-%04d-", i),             // ends with '-'
			fmt.Sprintf("fuzz-%04d-%s", i, long(40)), // longer than 40
			fmt.Sprintf("fuzz.%04d", i),              // a dot: a subdomain, not a label
		})
}

func (f *fuzzer) int32p(good, bad []int32) *int32 {
	if !f.some() {
		return nil
	}
	return ptr.To(pick(f, good, bad))
}

func (f *fuzzer) quantity(good, bad []string) *resource.Quantity {
	if !f.some() {
		return nil
	}
	return ptr.To(resource.MustParse(pick(f, good, bad)))
}

var (
	replicasGood = []int32{0, 1, 3, 100}
	replicasBad  = []int32{-1, 101, math.MaxInt32}
	versionGood  = []string{"", "16.4", "7.2-alpine", "latest"}
	versionBad   = []string{"bad tag!", "-leading-dash", long(129)}
	sizeGood     = []string{"1Gi", "500Mi", "5Gi", "1000000Gi"}
	sizeBad      = []string{"0", "-1Gi"}
	countGood    = []int32{1, 50, 1000}
	countBad     = []int32{0, -5, 10001}
)

func (f *fuzzer) spec() silov1.TenantSpec {
	s := silov1.TenantSpec{
		DisplayName: pick(f, []string{"", "Acme Corp", "ünïcödé ✓ <script>", long(256)}, []string{long(257)}),
		App:         f.app(),
		Quota:       f.quota(),
		Isolation:   f.isolation(),
		Network:     silov1.NetworkSpec{AllowInternetEgress: f.boolp()},
		// No TenantClass exists: a Tenant naming one must say so in its status.
		Class:             pick(f, []string{"", "", "standard"}, []string{"Bad_Class"}),
		ClassUpdatePolicy: silov1.ClassUpdatePolicy(pick(f, []string{"", "Automatic", "Manual"}, []string{"Sometimes"})),
		Placement: silov1.PlacementSpec{Region: pick(f, []string{"", "", "eu-west-1"},
			[]string{"EU_West", long(64)})},
		Suspend:            f.r.IntN(8) == 0,
		DeletionPolicy:     silov1.DeletionPolicy(pick(f, []string{"", "Retain", "Delete"}, []string{"Destroy", "retain"})),
		DeletionProtection: f.some(),
	}
	for range f.r.IntN(4) {
		s.Owners = append(s.Owners, f.owner())
	}
	if f.r.Float64() < f.bad/4 {
		for range 33 {
			s.Owners = append(s.Owners, silov1.Owner{Kind: silov1.OwnerKindGroup, Name: "g"})
		}
	}
	if f.some() {
		s.Workers = &silov1.WorkersSpec{
			Image:     pick(f, []string{"", "registry.example.com/shop/worker:2"}, []string{long(513)}),
			Replicas:  f.int32p(replicasGood, replicasBad),
			Command:   f.command(),
			Env:       f.env(),
			Resources: f.resources(),
		}
	}
	if f.some() {
		d := f.service()
		s.Queue = &silov1.QueueSpec{External: d.external, Storage: d.storage, Version: d.version, Resources: d.resources}
	}
	if f.some() {
		d := f.service()
		s.Cache = &silov1.CacheSpec{External: d.external, Version: d.version, Resources: d.resources}
	}
	if f.some() {
		d := f.service()
		s.Database = &silov1.DatabaseSpec{External: d.external, Storage: d.storage, Version: d.version, Resources: d.resources,
			AllowMajorVersionUpgrade: f.some()}
	}
	if f.some() {
		s.Storage = &silov1.StorageSpec{Size: resource.MustParse(pick(f, sizeGood, sizeBad))}
	}
	return s
}

func (f *fuzzer) owner() silov1.Owner {
	kind := silov1.OwnerKind(pick(f, []string{"User", "Group", "ServiceAccount"}, []string{"Robot", ""}))
	o := silov1.Owner{Kind: kind, Name: pick(f, []string{"alice@acme.example", "acme-admins", "deployer"}, []string{"", long(257)})}
	if kind == silov1.OwnerKindServiceAccount {
		o.Namespace = "ci"
	}
	if f.r.Float64() < f.bad {
		// A namespace where it is not allowed, or none where it is required.
		o.Namespace = map[bool]string{true: "", false: "ci"}[o.Namespace != ""]
	}
	return o
}

func (f *fuzzer) app() silov1.AppSpec {
	a := silov1.AppSpec{
		Image: pick(f,
			[]string{"registry.example.com/shop/app:1.4.2", "nginx", "registry.example.com/shop/app@sha256:" + strings.Repeat("ab", 32), " spaced image "},
			[]string{"", long(513)}),
		Replicas:  f.int32p(replicasGood, replicasBad),
		Port:      pick(f, []int32{0, 1, 8080, 65535}, []int32{-1, 65536}),
		Command:   f.command(),
		Env:       f.env(),
		Resources: f.resources(),
	}
	if f.some() {
		a.Autoscaling = &silov1.AutoscalingSpec{
			MinReplicas:                    f.int32p([]int32{1, 2, 100}, []int32{0, 101}),
			MaxReplicas:                    pick(f, []int32{1, 5, 100}, []int32{0, 101}),
			TargetCPUUtilizationPercentage: f.int32p([]int32{1, 80, 100}, []int32{0, 101}),
		}
		if f.r.Float64() >= f.bad {
			a.Replicas = nil // both set is refused; keep that for the refused specs
		}
	}
	if f.some() {
		a.Migration = &silov1.MigrationSpec{
			Command:        pick(f, [][]string{{"/app", "migrate"}}, [][]string{{}}),
			TimeoutSeconds: f.int32p([]int32{1, 600, 86400}, []int32{0, 86401}),
		}
	}
	if f.some() {
		a.Ingress = &silov1.IngressSpec{
			Host:          pick(f, []string{"acme.shop.example.com", "*.wild.example.com", "a"}, []string{"", "Upper.Example.com", "bad_host", "-x.example.com"}),
			ClassName:     pick(f, []string{"", "nginx"}, []string{long(254)}),
			TLSSecretName: pick(f, []string{"", "acme-tls"}, []string{long(254)}),
		}
	}
	return a
}

func (f *fuzzer) command() []string {
	n := pick(f, []int{0, 1, 3}, []int{65})
	if n == 0 {
		return nil
	}
	out := []string{"/app"}
	for len(out) < n {
		out = append(out, fmt.Sprintf("--flag-%d", len(out)))
	}
	return out
}

func (f *fuzzer) env() []corev1.EnvVar {
	pool := []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"},
		{Name: "EMPTY"},
		{Name: "DATABASE_URL", Value: "postgres://elsewhere"}, // shadows a connection setting
		{Name: "1BAD", Value: "x"},                            // the Deployment refuses it
		{Name: "FROM_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k"}}},
	}
	n := pick(f, []int{0, 1, 3}, []int{129})
	var out []corev1.EnvVar
	for range n {
		out = append(out, pool[f.r.IntN(len(pool))])
	}
	return out
}

func (f *fuzzer) resources() corev1.ResourceRequirements {
	if !f.some() {
		return corev1.ResourceRequirements{}
	}
	q := func(good []string) resource.Quantity { return resource.MustParse(good[f.r.IntN(len(good))]) }
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	if f.some() {
		r.Requests[corev1.ResourceCPU] = q([]string{"100m", "2", "-1"}) // negative: the Deployment refuses it
	}
	if f.some() {
		r.Requests[corev1.ResourceMemory] = q([]string{"64Mi", "1Gi"})
	}
	if f.some() {
		r.Limits[corev1.ResourceMemory] = q([]string{"128Mi", "32Mi"}) // may be below the request
	}
	return r
}

func (f *fuzzer) resourcesPtr() *corev1.ResourceRequirements {
	r := f.resources()
	if r.Requests == nil && r.Limits == nil {
		return nil
	}
	return &r
}

// serviceDraw is a managed service's settings, or an external service.
type serviceDraw struct {
	external  *silov1.ExternalService
	storage   *resource.Quantity
	version   string
	resources *corev1.ResourceRequirements
}

// service draws an external service one time in three, with managed settings beside
// it only from the refused pool; otherwise the managed service's settings.
func (f *fuzzer) service() serviceDraw {
	if ext := f.external(); ext != nil {
		d := serviceDraw{external: ext}
		if f.r.Float64() < f.bad {
			d.version = "16.4" // refused: external cannot be combined with managed settings
		}
		return d
	}
	return serviceDraw{storage: f.quantity(sizeGood, sizeBad), version: pick(f, versionGood, versionBad), resources: f.resourcesPtr()}
}

// external returns an external service one time in three (its Secret never exists: the
// Tenant must say so).
func (f *fuzzer) external() *silov1.ExternalService {
	if f.r.IntN(3) != 0 {
		return nil
	}
	return &silov1.ExternalService{SecretName: pick(f, []string{"shared-db", "platform.cache"}, []string{"", "Bad_Name"})}
}

func (f *fuzzer) quota() silov1.QuotaSpec {
	return silov1.QuotaSpec{
		CPU:                    f.quantity([]string{"8", "500m"}, []string{"0", "-1"}),
		Memory:                 f.quantity([]string{"16Gi", "1Mi"}, []string{"0", "-1Gi"}),
		EphemeralStorage:       f.quantity([]string{"20Gi"}, []string{"0"}),
		Storage:                f.quantity([]string{"100Gi", "1Gi"}, []string{"0"}),
		Pods:                   f.int32p([]int32{1, 50, 10000}, []int32{0, 10001}),
		Services:               f.int32p(countGood, countBad),
		Secrets:                f.int32p(countGood, countBad),
		ConfigMaps:             f.int32p(countGood, countBad),
		PersistentVolumeClaims: f.int32p(countGood, countBad),
	}
}

func (f *fuzzer) isolation() silov1.IsolationSpec {
	iso := silov1.IsolationSpec{
		PodSecurity:      silov1.PodSecurityLevel(pick(f, []string{"", "restricted", "baseline"}, []string{"privileged", "Restricted"})),
		NodePool:         pick(f, []string{"", "", "pool-a"}, []string{"Pool A", long(64)}),
		RuntimeClassName: pick(f, []string{"", "", "gvisor"}, []string{"Bad_RC"}),
	}
	switch pick(f, []int{0, 0, 1}, []int{2, 3, 4}) {
	case 1:
		iso.AllowedRegistries = []string{"registry.example.com/"}
	case 2:
		iso.AllowedRegistries = []string{""}
	case 3:
		iso.AllowedRegistries = []string{"a/", "a/"} // a set: duplicates are refused
	case 4:
		for i := range 33 {
			iso.AllowedRegistries = append(iso.AllowedRegistries, fmt.Sprintf("r%d/", i))
		}
	}
	return iso
}
