package main

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
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// operator is the Silo binary running as its own process against the control plane,
// as it runs in a cluster: its memory is its own, and it talks to the API server only
// through the network.
type operator struct {
	bin, kubeconfig, logPath string
	args                     []string
	metricsAddr, pprofAddr   string
	cmd                      *exec.Cmd
	started                  time.Time
	exited                   chan error
}

// buildOperator compiles main.go into dir.
func buildOperator(root, dir string) (string, error) {
	bin := filepath.Join(dir, "silo")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the operator: %w", err)
	}
	return bin, nil
}

// operatorDefaults reads the defaults of the flags the benchmark reports from the
// binary's own help, so the benchmark always measures what ships.
func operatorDefaults(bin string) (map[string]string, error) {
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

// writeKubeconfig writes a kubeconfig for cfg (a client-certificate user).
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
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

// start runs the operator and waits until its metrics endpoint answers.
func (o *operator) start() error {
	var err error
	if o.metricsAddr, err = freeAddr(); err != nil {
		return err
	}
	if o.pprofAddr, err = freeAddr(); err != nil {
		return err
	}
	logf, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{
		"--metrics-bind-address=" + o.metricsAddr,
		"--pprof-bind-address=" + o.pprofAddr,
		"--health-probe-bind-address=0",
		"--leader-elect=false",
	}, o.args...)
	o.cmd = exec.Command(o.bin, args...)
	o.cmd.Env = append(os.Environ(), "KUBECONFIG="+o.kubeconfig)
	o.cmd.Stdout, o.cmd.Stderr = logf, logf
	o.started = time.Now()
	if err := o.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting the operator: %w", err)
	}
	o.exited = make(chan error, 1)
	go func() { o.exited <- o.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-o.exited:
			return fmt.Errorf("the operator exited at start (%v); see %s", err, o.logPath)
		default:
		}
		if _, err := o.metrics(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the operator's metrics endpoint did not answer within a minute")
}

// stop ends the operator with SIGTERM, as a rolling update would.
func (o *operator) stop() error {
	if o.cmd == nil || o.cmd.Process == nil {
		return nil
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.exited:
	case <-time.After(30 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.exited
	}
	o.cmd = nil
	return nil
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

// metrics returns the operator's Prometheus metrics as text.
func (o *operator) metrics() (string, error) { return httpGet("http://" + o.metricsAddr + "/metrics") }

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

// queueState is what the tenant controller's metrics say about its work.
type queueState struct {
	reconciles, depth, active, cpuSeconds float64
}

func (o *operator) queue() (queueState, error) {
	m, err := o.metrics()
	if err != nil {
		return queueState{}, err
	}
	return queueState{
		reconciles: metricSum(m, "controller_runtime_reconcile_total", `controller="tenant"`),
		depth:      metricSum(m, "workqueue_depth", `name="tenant"`),
		active:     metricSum(m, "controller_runtime_active_workers", `controller="tenant"`),
		cpuSeconds: metricSum(m, "process_cpu_seconds_total"),
	}, nil
}

// waitIdle waits until the controller has run at least minReconciles reconciles and
// has had nothing queued or running for a few polls in a row. It returns when the
// work was last seen, so the answer does not include the quiet period.
func (o *operator) waitIdle(minReconciles float64, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	quiet := 0
	last := time.Now()
	var prev float64 = -1
	for time.Now().Before(deadline) {
		q, err := o.queue()
		if err != nil {
			return time.Time{}, err
		}
		if q.reconciles >= minReconciles && q.depth == 0 && q.active == 0 && q.reconciles == prev {
			quiet++
			if quiet >= 5 {
				return last, nil
			}
		} else {
			quiet = 0
			last = time.Now()
		}
		prev = q.reconciles
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the operator was not idle with %v reconciles within %s", minReconciles, timeout)
}

// memory is the operator's memory use.
type memory struct {
	heapInuse, rss uint64
}

// memory forces a garbage collection in the operator (the heap profile does, with
// gc=1), reads the heap in use from the runtime's own statistics and the resident set
// from /proc.
func (o *operator) memory() (memory, error) {
	prof, err := httpGet("http://" + o.pprofAddr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return memory{}, err
	}
	m := memory{}
	if v := regexp.MustCompile(`# HeapInuse = (\d+)`).FindStringSubmatch(prof); v != nil {
		m.heapInuse, _ = strconv.ParseUint(v[1], 10, 64)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.cmd.Process.Pid))
	if err != nil {
		return memory{}, err
	}
	if v := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status); v != nil {
		kb, _ := strconv.ParseUint(string(v[1]), 10, 64)
		m.rss = kb * 1024
	}
	if m.heapInuse == 0 || m.rss == 0 {
		return m, errors.New("could not read the operator's heap or RSS")
	}
	return m, nil
}

// cpuProfile writes the operator's CPU profile over d to path.
func (o *operator) cpuProfile(path string, d time.Duration) error {
	prof, err := httpGet(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", o.pprofAddr, int(d.Seconds())))
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(prof), 0o644)
}
