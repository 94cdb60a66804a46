package testenv

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// RequestCounter counts the API requests a client sends, by HTTP method and by
// resource path, so tests can assert that a pass sent no write at all (a no-op
// server-side apply would leave every resourceVersion unchanged but still be a write).
type RequestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Wrap installs the counter on a copy of cfg.
func (rc *RequestCounter) Wrap(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	prev := out.WrapTransport
	out.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			rc.add(req)
			return rt.RoundTrip(req)
		})
	}
	return out
}

func (rc *RequestCounter) add(req *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.counts == nil {
		rc.counts = map[string]int{}
	}
	verb := req.Method
	if verb == http.MethodGet && req.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	rc.counts[verb+" "+req.URL.Path]++
}

// Writes returns the number of POST, PUT, PATCH and DELETE requests so far, skipping
// leader-election leases and events, which are not writes of managed state.
func (rc *RequestCounter) Writes() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for k, c := range rc.counts {
		verb, path, _ := strings.Cut(k, " ")
		switch verb {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if strings.Contains(path, "/leases/") || strings.HasSuffix(path, "/events") || strings.Contains(path, "/events/") {
				continue
			}
			n += c
		}
	}
	return n
}

// Snapshot returns a copy of the counts by "VERB path".
func (rc *RequestCounter) Snapshot() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.counts))
	for k, v := range rc.counts {
		out[k] = v
	}
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
