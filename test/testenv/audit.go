package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/silo-dev/silo/controllers"
)

// AuditLog counts requests from the API server's audit log, the server's own record
// of every request it served: nothing the client does can hide from it.
type AuditLog struct {
	path string
}

// auditPolicy records, at Metadata level (no bodies), only the measured users, so
// every one of them pays the same small cost for being counted.
func auditPolicy(users []string) string {
	quoted := make([]string, len(users))
	for i, u := range users {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: [` + strings.Join(quoted, ", ") + `]
- level: None
`
}

// AuditFlags returns the kube-apiserver flags that turn the audit log on in dir, for
// the requests of users.
func AuditFlags(dir string, users ...string) ([]Option, *AuditLog, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy(users)), 0o644); err != nil {
		return nil, nil, err
	}
	log := &AuditLog{path: filepath.Join(dir, "audit.log")}
	return []Option{
		WithAPIServerFlag("audit-policy-file", policy),
		WithAPIServerFlag("audit-log-path", log.path),
		WithAPIServerFlag("audit-log-format", "json"),
		WithAPIServerFlag("audit-log-maxsize", "4000"),
	}, log, nil
}

// Audited is a control plane whose API server audits some users' requests.
type Audited struct {
	*Env
	// Admin is an admin client with no client-side rate limit.
	Admin client.Client
	// AdminConfig is its rest config.
	AdminConfig *rest.Config
	// Audit is the API server's audit log.
	Audit *AuditLog
}

// StartAudited starts a control plane in dir whose API server records the requests
// of users in its audit log.
func StartAudited(dir string, users []string, opts ...Option) (*Audited, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	flags, audit, err := AuditFlags(dir, users...)
	if err != nil {
		return nil, err
	}
	env, err := Start(append(flags, opts...)...)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	admin, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Audited{Env: env, Admin: admin, AdminConfig: cfg, Audit: audit}, nil
}

// AdminUser returns the rest config of a user named name with cluster-admin rights
// (group system:masters), so the audit log can tell its requests apart.
func (e *Env) AdminUser(name string) (*rest.Config, error) {
	u, err := e.Environment.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	return rest.CopyConfig(u.Config()), nil
}

// AuditMark is a position in the audit log: requests received after it belong to a
// phase.
type AuditMark struct {
	offset int64
	// At is when the mark was taken.
	At time.Time
}

// Mark returns the log's current end.
func (a *AuditLog) Mark() AuditMark {
	m := AuditMark{At: time.Now()}
	if fi, err := os.Stat(a.path); err == nil {
		m.offset = fi.Size()
	}
	return m
}

// AuditEvent is one request in the audit log.
type AuditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received time.Time `json:"requestReceivedTimestamp"`
}

// Resource is the event's resource ("deployments", "tenants/status"), or the request
// URI of a non-resource request.
func (e *AuditEvent) Resource() string {
	if e.ObjectRef == nil {
		return "(non-resource " + e.RequestURI + ")"
	}
	if e.ObjectRef.Subresource != "" {
		return e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource
	}
	return e.ObjectRef.Resource
}

// Events returns user's requests received after m, one event each: a watch counts
// once, when it starts.
func (a *AuditLog) Events(m AuditMark, user string) ([]AuditEvent, error) {
	// Requests in flight at the end of a phase are logged when they complete.
	time.Sleep(300 * time.Millisecond)
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(m.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.User.Username != user || e.Received.Before(m.At) {
			continue
		}
		if (e.Verb == "watch") != (e.Stage == "ResponseStarted") {
			continue
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Since counts user's requests received after m by verb and resource.
func (a *AuditLog) Since(m AuditMark, user string) (Requests, error) {
	events, err := a.Events(m, user)
	if err != nil {
		return nil, err
	}
	return CountRequests(events), nil
}

// CountRequests counts events by verb and resource.
func CountRequests(events []AuditEvent) Requests {
	out := Requests{}
	for _, e := range events {
		resource := e.Resource()
		if e.Verb == "watch" && e.ObjectRef != nil && e.ObjectRef.Namespace != "" {
			// A watch of one namespace (the operator's Secrets) is not a duplicate of
			// the cluster-wide watch of the same kind.
			resource += " in " + e.ObjectRef.Namespace
		}
		out[e.Verb+" "+resource]++
	}
	return out
}

// IsWrite reports whether an audit verb changes state.
func IsWrite(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection", "apply":
		return true
	}
	return false
}

// Requests are counts of one user's requests by "verb resource".
type Requests map[string]int

// Total counts requests whose verb satisfies keep.
func (r Requests) Total(keep func(verb string) bool) int {
	n := 0
	for k, v := range r {
		verb, _, _ := strings.Cut(k, " ")
		if keep(verb) {
			n += v
		}
	}
	return n
}

// Writes counts the requests that change state.
func (r Requests) Writes() int { return r.Total(IsWrite) }

// Events counts the writes of Events (a new event, or a repeat patched into its
// series).
func (r Requests) Events() int {
	n := 0
	for k, v := range r {
		verb, resource, _ := strings.Cut(k, " ")
		if resource == "events" && IsWrite(verb) {
			n += v
		}
	}
	return n
}

// Reads are GET and LIST requests, which a reconcile that reads from the cache never
// sends.
func (r Requests) Reads() int {
	return r.Total(func(v string) bool { return v == "get" || v == "list" })
}

// String lists the counts, most frequent first.
func (r Requests) String() string {
	return r.PerTenant(1)
}

// PerTenant lists the counts divided by n, most frequent first.
func (r Requests) PerTenant(n int) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r[keys[i]] != r[keys[j]] {
			return r[keys[i]] > r[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if n == 1 {
			parts = append(parts, fmt.Sprintf("%s %d", k, r[k]))
		} else {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(r[k])/float64(n)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
