package main

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
)

// Users whose requests the API server's audit log records: the operator and the
// ceiling client. The harness's own requests (creating Tenants, watching them) run as
// the envtest admin and are not counted.
const (
	operatorUser = "silo-operator"
	ceilingUser  = "silo-ceiling"
)

// auditPolicy records, at Metadata level (no bodies), only the two measured users, so
// both sides pay the same small cost for being counted.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["` + operatorUser + `", "` + ceilingUser + `"]
- level: None
`

// auditLog counts requests from the API server's audit log, the server's own record of
// every request it served: nothing the client does can hide from it.
type auditLog struct {
	path string
}

// auditFlags returns the kube-apiserver flags that turn the audit log on in dir.
func auditFlags(dir string) (map[string]string, *auditLog, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return nil, nil, err
	}
	log := &auditLog{path: filepath.Join(dir, "audit.log")}
	return map[string]string{
		"audit-policy-file": policy,
		"audit-log-path":    log.path,
		"audit-log-format":  "json",
		"audit-log-maxsize": "4000",
	}, log, nil
}

// mark is a position in the audit log: requests received after it belong to a phase.
type mark struct {
	offset int64
	at     time.Time
}

func (a *auditLog) mark() mark {
	m := mark{at: time.Now()}
	if fi, err := os.Stat(a.path); err == nil {
		m.offset = fi.Size()
	}
	return m
}

// requests are counts of one user's requests by verb and resource.
type requests map[string]int

type auditEvent struct {
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
	Received time.Time `json:"requestReceivedTimestamp"`
}

// since counts user's requests received after m. A watch counts once, when it starts.
func (a *auditLog) since(m mark, user string) (requests, error) {
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
	out := requests{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.User.Username != user || e.Received.Before(m.at) {
			continue
		}
		if (e.Verb == "watch") != (e.Stage == "ResponseStarted") {
			continue
		}
		resource := "(non-resource " + e.RequestURI + ")"
		if e.ObjectRef != nil {
			resource = e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				resource += "/" + e.ObjectRef.Subresource
			}
		}
		if e.Verb == "watch" && e.ObjectRef != nil && e.ObjectRef.Namespace != "" {
			// A watch of one namespace (the operator's Secrets) is not a duplicate of
			// the cluster-wide watch of the same kind.
			resource += " in " + e.ObjectRef.Namespace
		}
		out[e.Verb+" "+resource]++
	}
	return out, sc.Err()
}

func isWrite(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection", "apply":
		return true
	}
	return false
}

// total counts requests whose verb satisfies keep.
func (r requests) total(keep func(verb string) bool) int {
	n := 0
	for k, v := range r {
		verb, _, _ := strings.Cut(k, " ")
		if keep(verb) {
			n += v
		}
	}
	return n
}

func (r requests) writes() int { return r.total(isWrite) }

// reads are GET and LIST requests, which a reconcile that reads from the cache never
// sends.
func (r requests) reads() int {
	return r.total(func(v string) bool { return v == "get" || v == "list" })
}

// String lists the counts, most frequent first.
func (r requests) String() string {
	return r.perTenant(1)
}

// perTenant lists the counts divided by n, most frequent first.
func (r requests) perTenant(n int) string {
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
