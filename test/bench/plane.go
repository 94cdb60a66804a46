package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/silo-dev/silo/test/testenv"
)

// operatorRun is an audited control plane with the operator running against it as a
// process, as the rollout and backup measurements use it.
type operatorRun struct {
	plane *testenv.Audited
	op    *testenv.OperatorProcess
	// flags are the operator's flag defaults; workers is its concurrency.
	flags   map[string]string
	workers int
}

// startOperatorRun builds the operator into work, starts the control plane and the
// operator as operatorUser with s's extra flags. stop ends both.
func startOperatorRun(work string, s settings, step func(format string, args ...any)) (*operatorRun, error) {
	step("building the operator")
	bin, err := testenv.BuildOperator(testenv.RepoRoot(), work)
	if err != nil {
		return nil, err
	}
	flags, err := testenv.OperatorDefaults(bin)
	if err != nil {
		return nil, err
	}
	r := &operatorRun{flags: flags}
	r.workers, _ = strconv.Atoi(flags["concurrency"])
	step("starting the control plane")
	if r.plane, err = startPlane(work + "/plane-operator"); err != nil {
		return nil, err
	}
	opCfg, err := r.plane.AdminUser(operatorUser)
	if err != nil {
		r.stop()
		return nil, err
	}
	kubeconfig := work + "/operator.kubeconfig"
	if err := testenv.WriteKubeconfig(opCfg, kubeconfig); err != nil {
		r.stop()
		return nil, err
	}
	r.op = &testenv.OperatorProcess{Bin: bin, Kubeconfig: kubeconfig, LogPath: work + "/operator.log", Args: s.operatorArgs}
	if err := r.op.Start(); err != nil {
		r.op = nil
		r.stop()
		return nil, err
	}
	return r, nil
}

// stop stops the operator and the control plane.
func (r *operatorRun) stop() {
	if r.op != nil {
		_ = r.op.Stop()
	}
	if r.plane != nil {
		_ = r.plane.Stop()
	}
}

// workFolder makes the run's work folder (kept with BENCH_KEEP=1) and a step logger.
func workFolder(prefix string, s settings) (string, func(), func(format string, args ...any), error) {
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(work) }
	if s.keep {
		fmt.Fprintln(os.Stderr, "bench: work folder", work)
		cleanup = func() {}
	}
	step := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	return work, cleanup, step, nil
}
