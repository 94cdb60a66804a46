package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// OperatorProcess is the Silo binary running as its own process against the control
// plane, as it runs in a cluster: its memory is its own, and it talks to the API
// server only through the network. The benchmark and the chaos tier run it.
type OperatorProcess struct {
	// Bin is the binary BuildOperator made.
	Bin string
	// Kubeconfig is the operator's kubeconfig (WriteKubeconfig).
	Kubeconfig string
	// LogPath receives the operator's output; every start appends to it.
	LogPath string
	// Args are extra flags.
	Args []string
	// Defaults are the binary's flag defaults (OperatorDefaults); when set, a flag the
	// harness would pass that the binary does not know (an older revision's) is left
	// out.
	Defaults map[string]string
	// Started is when the process last started.
	Started time.Time

	metricsAddr, pprofAddr string
	cmd                    *exec.Cmd
	exited                 chan error

	mu         sync.Mutex
	ending     bool    // Stop or Kill is ending the process
	unexpected []error // exits nobody asked for
}

// BuildOperator compiles main.go into dir.
func BuildOperator(root, dir string) (string, error) {
	return buildOperator(root, filepath.Join(dir, "silo"))
}

// BuildOperatorAt builds the operator of another git revision of the repository at
// root (a commit, a tag, a branch) into dir, from a detached worktree of it that is
// removed afterwards, so a run can measure two operators under the same harness.
func BuildOperatorAt(root, dir, rev string) (string, error) {
	src := filepath.Join(dir, "src-"+strings.NewReplacer("/", "-", "~", "-", "^", "-").Replace(rev))
	add := exec.Command("git", "worktree", "add", "--detach", src, rev)
	add.Dir = root
	if out, err := add.CombinedOutput(); err != nil {
		return "", fmt.Errorf("checking out %s: %w: %s", rev, err, out)
	}
	defer func() {
		rm := exec.Command("git", "worktree", "remove", "--force", src)
		rm.Dir = root
		_ = rm.Run()
	}()
	return buildOperator(src, filepath.Join(dir, "silo-"+filepath.Base(src)))
}

func buildOperator(src, bin string) (string, error) {
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the operator: %w", err)
	}
	return bin, nil
}

// OperatorDefaults reads the defaults of the flags a run reports from the binary's
// own help, so a run always measures what ships.
func OperatorDefaults(bin string) (map[string]string, error) {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	defaults := map[string]string{}
	re := regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)[^\n]*\n\s+[^\n]*\(default "?([^")]+)"?\)`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		defaults[m[1]] = m[2]
	}
	for _, f := range []string{"concurrency", "kube-api-qps", "kube-api-burst"} {
		if defaults[f] == "" {
			return nil, fmt.Errorf("the operator's help shows no default for --%s:\n%s", f, out)
		}
	}
	return defaults, nil
}

// WriteKubeconfig writes a kubeconfig for cfg (a client-certificate user).
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start runs the operator and waits until its metrics endpoint answers.
func (o *OperatorProcess) Start() error {
	var err error
	if o.metricsAddr, err = freeAddr(); err != nil {
		return err
	}
	if o.pprofAddr, err = freeAddr(); err != nil {
		return err
	}
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{
		"--metrics-bind-address=" + o.metricsAddr,
		"--pprof-bind-address=" + o.pprofAddr,
		"--health-probe-bind-address=0",
		"--leader-elect=false",
	}
	if _, ok := o.Defaults["metrics-secure"]; ok || o.Defaults == nil {
		// The harness reads the reconcile counters over plain HTTP on loopback; the
		// integration tier proves the secure endpoint's authentication. (An operator
		// older than the flag serves plain HTTP anyway.)
		args = append(args, "--metrics-secure=false")
	}
	args = append(args, o.Args...)
	cmd := exec.Command(o.Bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+o.Kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	o.mu.Lock()
	o.ending = false
	o.mu.Unlock()
	o.Started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting the operator: %w", err)
	}
	o.cmd = cmd
	exited := make(chan error, 1)
	o.exited = exited
	go func() {
		err := cmd.Wait()
		logf.Close()
		o.mu.Lock()
		if !o.ending {
			o.unexpected = append(o.unexpected, fmt.Errorf("the operator (pid %d) exited on its own: %v", cmd.Process.Pid, err))
		}
		o.mu.Unlock()
		exited <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("the operator exited at start (%v); see %s", err, o.LogPath)
		default:
		}
		if _, err := o.Metrics(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the operator's metrics endpoint did not answer within a minute")
}

// Stop ends the operator with SIGTERM, as a rolling update would.
func (o *OperatorProcess) Stop() error { return o.end(syscall.SIGTERM) }

// Kill ends the operator with SIGKILL, as a node failure or the OOM killer would: no
// deferred function, no graceful shutdown.
func (o *OperatorProcess) Kill() error { return o.end(syscall.SIGKILL) }

func (o *OperatorProcess) end(sig syscall.Signal) error {
	if o.cmd == nil || o.cmd.Process == nil {
		return nil
	}
	o.mu.Lock()
	o.ending = true
	o.mu.Unlock()
	_ = o.cmd.Process.Signal(sig)
	select {
	case <-o.exited:
	case <-time.After(30 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.exited
	}
	o.cmd = nil
	return nil
}

// UnexpectedExits lists the times the operator exited without Stop or Kill.
func (o *OperatorProcess) UnexpectedExits() []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.unexpected...)
}

func httpGet(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// Metrics returns the operator's Prometheus metrics as text.
func (o *OperatorProcess) Metrics() (string, error) {
	return httpGet("http://" + o.metricsAddr + "/metrics")
}

// metricSum adds up the samples of a metric whose labels contain every one of match.
func metricSum(text, name string, match ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			if !strings.Contains(line, m) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// QueueState is what the tenant controller's metrics say about its work.
type QueueState struct {
	Reconciles, Depth, Active, CPUSeconds float64
	// AllocBytes is every byte the operator's Go heap has allocated since it started:
	// unlike CPU seconds, which other work on the machine inflates, it measures the
	// operator's own work alike on a quiet machine and a shared one.
	AllocBytes float64
}

// Queue reads the tenant controller's work from the operator's metrics.
func (o *OperatorProcess) Queue() (QueueState, error) {
	m, err := o.Metrics()
	if err != nil {
		return QueueState{}, err
	}
	return QueueState{
		Reconciles: metricSum(m, "controller_runtime_reconcile_total", `controller="tenant"`),
		Depth:      metricSum(m, "workqueue_depth", `name="tenant"`),
		Active:     metricSum(m, "controller_runtime_active_workers", `controller="tenant"`),
		CPUSeconds: metricSum(m, "process_cpu_seconds_total"),
		AllocBytes: metricSum(m, "go_memstats_alloc_bytes_total"),
	}, nil
}

// WaitIdle waits until the controller has run at least minReconciles reconciles and
// has had nothing queued or running for a few polls in a row. It returns when the
// work was last seen, so the answer does not include the quiet period.
func (o *OperatorProcess) WaitIdle(minReconciles float64, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	quiet := 0
	last := time.Now()
	var prev float64 = -1
	for time.Now().Before(deadline) {
		q, err := o.Queue()
		if err != nil {
			return time.Time{}, err
		}
		if q.Reconciles >= minReconciles && q.Depth == 0 && q.Active == 0 && q.Reconciles == prev {
			quiet++
			if quiet >= 5 {
				return last, nil
			}
		} else {
			quiet = 0
			last = time.Now()
		}
		prev = q.Reconciles
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the operator was not idle with %v reconciles within %s", minReconciles, timeout)
}

// Memory is the operator's memory use.
type Memory struct {
	HeapInuse, RSS uint64
}

// Memory forces a garbage collection in the operator (the heap profile does, with
// gc=1), reads the heap in use from the runtime's own statistics and the resident set
// from /proc.
func (o *OperatorProcess) Memory() (Memory, error) {
	prof, err := httpGet("http://" + o.pprofAddr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return Memory{}, err
	}
	m := Memory{}
	if v := regexp.MustCompile(`# HeapInuse = (\d+)`).FindStringSubmatch(prof); v != nil {
		m.HeapInuse, _ = strconv.ParseUint(v[1], 10, 64)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.cmd.Process.Pid))
	if err != nil {
		return Memory{}, err
	}
	if v := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status); v != nil {
		kb, _ := strconv.ParseUint(string(v[1]), 10, 64)
		m.RSS = kb * 1024
	}
	if m.HeapInuse == 0 || m.RSS == 0 {
		return m, errors.New("could not read the operator's heap or RSS")
	}
	return m, nil
}

// CPUProfile writes the operator's CPU profile over d to path.
func (o *OperatorProcess) CPUProfile(path string, d time.Duration) error {
	prof, err := httpGet(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", o.pprofAddr, int(d.Seconds())))
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(prof), 0o644)
}

// AllocsProfile writes the operator's allocation profile (every allocation since the
// process started, sampled) to path; two of them give a phase's allocations with
// `go tool pprof -base`.
func (o *OperatorProcess) AllocsProfile(path string) error {
	prof, err := httpGet("http://" + o.pprofAddr + "/debug/pprof/allocs")
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(prof), 0o644)
}
