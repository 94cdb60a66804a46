# Sourced by the hack/ scripts that run a local process in the background (the
# operator, the snapshot controller) and keep its pid in a file.

# pid_running PIDFILE BIN prints the pid in PIDFILE when that process still runs and
# still runs BIN (pids are reused); it fails otherwise.
pid_running() {
  local pidfile=$1 bin=$2 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  ps -p "$pid" -o command= 2>/dev/null | grep -q "$bin" || return 1
  echo "$pid"
}

# pid_stop PID PIDFILE stops the process with SIGTERM, waits up to 10 seconds for it,
# then kills it, and removes PIDFILE.
pid_stop() {
  local pid=$1 pidfile=$2
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  fi
  rm -f "$pidfile"
}
