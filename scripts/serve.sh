#!/usr/bin/env bash
# Serve the site with the background task worker (retraining) beside it; `make run` calls this.
# Both stop together: when runserver exits, on Ctrl-C, or when this script is terminated.
set -uo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
worker=""
server=""

stop_all() {
  for pid in $server $worker; do
    # runserver's autoreloader runs the server in a child process, and a training worker forks
    # helpers: stop them too.
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  if [ -n "$worker" ]; then
    # On one signal the worker finishes its task first (minutes for a training); a second ends
    # the task. A stage in C code (the SVM fit) hears it only when it returns: after 10 s, kill.
    kill -TERM "$worker" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$worker" 2>/dev/null || break
      sleep 0.1
    done
    pkill -KILL -P "$worker" 2>/dev/null || true
    kill -KILL "$worker" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PY" manage.py runserver "$HOST:$PORT" &
server=$!
# The worker starts once the server listens (at most 60 s later): a training it picks up at once
# would otherwise slow the server's start on a small machine.
for _ in $(seq 120); do
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.5
done
"$PY" manage.py db_worker --no-reload &
worker=$!
echo "Task worker started (pid $worker): it trains the default model in the background when a starter model serves, and runs retraining queued from the admin."
wait "$server"
