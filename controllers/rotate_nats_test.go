package controllers

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// natsScriptEnv runs the queue's rotation scripts: busybox (the nats image's only
// tools) against a real nats-server.
type natsScriptEnv struct {
	busybox, bin, host, port string
}

// run runs script as a rotation Job would, with the staging Secret's keys, and
// returns its error and what it wrote.
func (e *natsScriptEnv) run(script string, staging map[string][]byte, waitSeconds int) (string, error) {
	cmd := exec.Command(e.busybox, "sh", "-c", script)
	cmd.Env = []string{"PATH=" + e.bin, "HOME=" + e.bin, "NATS_HOST=" + e.host, "NATS_PORT=" + e.port,
		"RELOAD_USER=" + natsReloadUser, "RELOAD_PASSWORD=rpass", "WAIT_SECONDS=" + strconv.Itoa(waitSeconds),
		"PREVIOUS_USER=" + string(staging[previousUserKey]), "PREVIOUS_PASSWORD=" + string(staging[previousPasswordKey]),
		"NEW_USER=" + string(staging["username"]), "NEW_PASSWORD=" + string(staging["password"])}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startNATS starts nats-server on a free local port with the configuration file at
// conf, and returns when it is ready to take clients.
func startNATS(t *testing.T, server, conf string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	cmd := exec.Command(server, "--addr=127.0.0.1", "--port="+port, "--config="+conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "Server is ready") {
			go func() {
				for lines.Scan() {
				}
			}()
			return port
		}
	}
	t.Fatalf("nats-server did not start: %v", lines.Err())
	return ""
}

// TestQueueRotationScriptsOnNATS runs the queue's rotation scripts with busybox
// against a real nats-server that reads the configuration Silo builds, through one
// rotation: each step holds only once the configuration has changed, the old password
// works until the retire step, and the reload user can do nothing but reload. It is
// skipped without nats-server and busybox on PATH (go install
// github.com/nats-io/nats-server/v2@v2.11.6; apt-get install busybox).
func TestQueueRotationScriptsOnNATS(t *testing.T) {
	server, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not on PATH")
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not on PATH")
	}
	dir := t.TempDir()
	e := &natsScriptEnv{busybox: bb, bin: filepath.Join(dir, "bin"), host: "127.0.0.1"}
	if err := os.Mkdir(e.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "nc", "timeout", "tr", "sed", "grep", "date", "sleep", "printf"} {
		if err := os.Symlink(bb, filepath.Join(e.bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	tn := testTenant()
	tn.Spec.Queue = &silov1.QueueSpec{}
	bc := testContext(tn)
	conf := filepath.Join(dir, natsConfigFile)
	write := func(bc *buildContext) {
		t.Helper()
		s := typed(t, []runtime.ApplyConfiguration{buildQueueConfig(bc)})["Secret/queue-config"].(*corev1.Secret)
		if err := os.WriteFile(conf, s.Data[natsConfigFile], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(bc)
	e.port = startNATS(t, server, conf)
	staging := map[string][]byte{"username": []byte("app_b"), "password": []byte("newpass"),
		previousUserKey: []byte("app"), previousPasswordKey: []byte("qpass")}
	apply, retire := rotators[QueueName].scripts[applyStep], rotators[QueueName].scripts[retireStep]
	mustFail := func(script, why string) {
		t.Helper()
		if out, err := e.run(script, staging, 1); err == nil || !strings.Contains(out, "still does not hold") {
			t.Errorf("%s: err %v, output %q; want a failure that says the configuration was not taken", why, err, out)
		}
	}
	mustPass := func(script, why string) {
		t.Helper()
		if out, err := e.run(script, staging, 30); err != nil {
			t.Fatalf("%s: %v\n%s", why, err, out)
		}
	}

	mustFail(apply, "apply before the configuration lists the new password")
	bc.QueueStaging = staging
	write(bc)
	mustPass(apply, "apply once the configuration lists both passwords")
	mustPass(apply, "apply again (a retried Job)")
	mustFail(retire, "retire while the configuration still lists the old password")
	bc.Tenant.Status.Credentials = &silov1.CredentialsStatus{Rotations: []silov1.CredentialRotation{
		{Service: QueueName, Phase: silov1.RotationRetiring}}}
	bc.Credentials[QueueName] = map[string][]byte{"username": staging["username"], "password": staging["password"]}
	write(bc)
	mustPass(retire, "retire once the configuration lists the new password only")
	mustFail(apply, "the old password no longer works after the retire step")

	// The reload user, whose password the tenant's admins can read, may do nothing
	// but reload: not publish elsewhere, not kick clients, not read the app's subjects.
	probe := `set -eu
` + natsScript[:strings.Index(natsScript, "end=")] + `nats "$RELOAD_USER" "$RELOAD_PASSWORD" 'PUB orders 2\r\nhi\r\nSUB orders 2\r\nPUB $SYS.REQ.SERVER.PING.CONNZ _INBOX.x 0\r\n\r\n'`
	out, err := e.run(probe, staging, 1)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	for _, subject := range []string{`Publish to "orders"`, `Subscription to "orders"`, `Publish to "$SYS.REQ.SERVER.PING.CONNZ"`} {
		if !strings.Contains(out, "Permissions Violation for "+subject) {
			t.Errorf("the reload user was not refused %s:\n%s", subject, out)
		}
	}
}
