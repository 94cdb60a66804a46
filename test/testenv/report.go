package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes the computer a run measured on.
type Machine struct {
	CPU        string
	Cores      int
	MemTotal   string
	LoadBefore string
	Kernel     string
	// BusyBefore is the machine's busy CPU time (all processes) when the run began.
	BusyBefore time.Duration
}

// ReadMachine reads the CPU, memory, kernel and the load average now.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if v := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); v != nil {
			m.CPU = strings.TrimSpace(string(v[1]))
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); v != nil {
			var kb float64
			fmt.Sscan(string(v[1]), &kb)
			m.MemTotal = fmt.Sprintf("%.1f GiB", kb/1024/1024)
		}
	}
	m.LoadBefore = LoadAvg()
	m.BusyBefore = machineBusy()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// Describe is the start of a sentence about the machine and its load before and now.
func (m Machine) Describe() string {
	return fmt.Sprintf("Machine: %d cores (%s), %s memory, Linux %s; load average %s before the run, %s after",
		m.Cores, m.CPU, m.MemTotal, m.Kernel, m.LoadBefore, LoadAvg())
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux architecture Go
// supports.
const clockTicks = 100

// machineBusy returns the CPU time every process on the machine has used since boot
// (the busy columns of /proc/stat's cpu line), or 0 when it cannot be read.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	// user nice system idle iowait irq softirq steal: idle and iowait are not busy.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// ownCPU returns the CPU time of this process and of every child it has waited for
// (the compiler, kube-apiserver, etcd, the operator): the run's own work.
func ownCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			continue
		}
		total += time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
	}
	return total
}

// ForeignCores returns the CPU other processes used during a run of wall time wall
// that began when m was read, in cores on average, measured as the machine's busy
// time minus the run's own. Call it after every child process has been stopped and
// waited for.
func (m Machine) ForeignCores(wall time.Duration) (float64, bool) {
	busy := machineBusy()
	if busy == 0 || m.BusyBefore == 0 || wall <= 0 {
		return 0, false
	}
	foreign := busy - m.BusyBefore - ownCPU()
	return max(0, foreign.Seconds()/wall.Seconds()), true
}

// LoadAvg is the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// ReadVersions lists the versions of Go, the control plane, the client libraries and
// Silo (git describe).
func ReadVersions(root string) []string {
	out := []string{"Go " + strings.TrimPrefix(runtime.Version(), "go")}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if b, err := exec.Command(filepath.Join(assets, "kube-apiserver"), "--version").Output(); err == nil {
		out = append(out, "kube-apiserver "+strings.TrimPrefix(strings.TrimSpace(string(b)), "Kubernetes "))
	}
	if b, err := exec.Command(filepath.Join(assets, "etcd"), "--version").Output(); err == nil {
		if v := regexp.MustCompile(`etcd Version: (\S+)`).FindSubmatch(b); v != nil {
			out = append(out, "etcd "+string(v[1]))
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "sigs.k8s.io/controller-runtime", "k8s.io/client-go":
				out = append(out, d.Path+" "+d.Version)
			}
		}
	}
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if b, err := cmd.Output(); err == nil {
		out = append(out, "silo "+strings.TrimSpace(string(b)))
	}
	return out
}

// WriteBetweenMarkers puts section (which starts with begin and ends with end) in
// place of what lies between those markers in path, keeping the rest of the file (the
// hand-written notes). A file without the markers gets the section at its end; a new
// file gets heading first.
func WriteBetweenMarkers(path, heading, begin, end, section string) error {
	old, err := os.ReadFile(path)
	var out string
	switch {
	case errors.Is(err, os.ErrNotExist):
		out = heading + "\n\n" + section
	case err != nil:
		return err
	default:
		s := string(old)
		i, j := strings.Index(s, begin), strings.Index(s, end)
		if i < 0 || j < i {
			out = s + "\n" + section
		} else {
			out = s[:i] + section + strings.TrimPrefix(s[j+len(end):], "\n")
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// Secs formats a duration for a table: 12.3 s, 1.23 s or 123 ms.
func Secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}
