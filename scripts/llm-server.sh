#!/usr/bin/env bash
# Runs the local model server (llama.cpp's llama-server with the model of models/llm.json) for the
# LLM features. Usage:
#   scripts/llm-server.sh start [STATE_DIR]   install if needed (scripts/fetch-llm.sh), start in the
#                                             background, wait until it answers a real chat request
#   scripts/llm-server.sh stop [STATE_DIR]    stop it (SIGTERM, then SIGKILL after 10 s)
#   scripts/llm-server.sh status [STATE_DIR]  exit 0 and print the URL when it runs and is healthy, else exit 3
#   scripts/llm-server.sh url [STATE_DIR]     print the base URL (exit 3 when not running)
# STATE_DIR defaults to var/llm in the repository. It gets:
#   pid         the server's process id
#   url         the base URL, e.g. http://127.0.0.1:41234 (no trailing slash, no /v1)
#   env         LIBROMIND_LLM_URL=..., LIBROMIND_LLM_API=openai, LIBROMIND_LLM_MODEL=... (sourceable)
#   server.log  the server's output
# `start` prints the env file's lines on stdout (and nothing else there).
#
# Environment: LIBROMIND_LLM_PORT (default: a free port), LIBROMIND_LLM_THREADS (2),
# LIBROMIND_LLM_CTX (context tokens of one request, 2048), LIBROMIND_LLM_PARALLEL (requests served
# at once, 1; the KV cache holds CTX x PARALLEL tokens) (the defaults are
# the manifest's "runtime"),
# LIBROMIND_LLM_START_TIMEOUT (seconds, 120), LIBROMIND_LLM_DIR (the cache, see fetch-llm.sh),
# LIBROMIND_LLM_MANIFEST.
#
# The server speaks the OpenAI-compatible API: POST $URL/v1/chat/completions with
# {"model": "$LIBROMIND_LLM_MODEL", "messages": [...], "stream": true} answers Server-Sent Events.
# It listens on 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmd=${1:-}
state_dir=${2:-$here/var/llm}
manifest=${LIBROMIND_LLM_MANIFEST:-$here/models/llm.json}

usage() { echo "usage: $0 start|stop|status|url [STATE_DIR]" >&2; exit 2; }
say() { echo "llm-server: $*" >&2; }
die() { say "$*"; exit 1; }

case "$cmd" in start|stop|status|url) ;; *) usage ;; esac

mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
pid_file=$state_dir/pid
url_file=$state_dir/url
env_file=$state_dir/env
log_file=$state_dir/server.log

# The pid in pid_file when that process is alive and is a llama-server (not a reused pid).
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'llama-server' || return 1
  echo "$pid"
}

healthy() { curl -fsS --max-time 5 "$1/health" >/dev/null 2>&1; }

log_tail() {
  if [ -f "$log_file" ]; then
    echo "--- last lines of $log_file:" >&2
    tail -n 25 "$log_file" >&2
  fi
}

stop_server() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file" "$url_file" "$env_file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop within 10 s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pid_file" "$url_file" "$env_file"
  say "stopped (pid $pid)"
}

case "$cmd" in
  stop)
    stop_server
    exit 0
    ;;
  status|url)
    if pid=$(running_pid) && [ -f "$url_file" ] && healthy "$(cat "$url_file")"; then
      cat "$url_file"
      [ "$cmd" = status ] && say "running (pid $pid), API $(sed -n 's/^LIBROMIND_LLM_API=//p' "$env_file")"
      exit 0
    fi
    [ "$cmd" = status ] && say "not running"
    exit 3
    ;;
esac

# ---------------------------------------------------------------- start
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"

# One start at a time per state directory.
exec 8>"$state_dir/.lock"
command -v flock >/dev/null && flock 8

if pid=$(running_pid) && [ -f "$url_file" ] && healthy "$(cat "$url_file")"; then
  say "already running (pid $pid)"
  cat "$env_file"
  exit 0
fi
stop_server 2>/dev/null  # a stale pid file or a server that stopped answering

cache_dir=$("$here/scripts/fetch-llm.sh" "${LIBROMIND_LLM_DIR:-$HOME/.cache/libromind/llm}")

read -r model_file model_name d_threads d_ctx d_parallel <<<"$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
m, r = j["model"], j.get("runtime", {})
print(m["gguf"], m["request_name"], r.get("threads", 2), r.get("ctx_size", 2048), r.get("parallel", 1))' "$manifest")"
binary=$cache_dir/server/bin/llama-server
model_path=$cache_dir/model/$model_file
[ -x "$binary" ] || die "no server binary at $binary"
[ -f "$model_path" ] || die "no model at $model_path"

threads=${LIBROMIND_LLM_THREADS:-$d_threads}
ctx=${LIBROMIND_LLM_CTX:-$d_ctx}
parallel=${LIBROMIND_LLM_PARALLEL:-$d_parallel}
timeout_s=${LIBROMIND_LLM_START_TIMEOUT:-120}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server on port $1; returns 0 when it answers a chat request, 1 when the process died
# (its log says why), and exits on timeout.
launch() {
  local port=$1 url="http://127.0.0.1:$1" pid deadline
  : >"$log_file"
  # setsid: the server gets its own session, so a Ctrl-C in the caller's terminal does not reach it;
  # 8>&-: it must not inherit the start lock.
  setsid "$binary" \
    --model "$model_path" --alias "$model_name" \
    --host 127.0.0.1 --port "$port" \
    --threads "$threads" --threads-batch "$threads" \
    --ctx-size "$((ctx * parallel))" --parallel "$parallel" \
    --no-webui --metrics --cors-origins localhost \
    </dev/null >>"$log_file" 2>&1 8>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  deadline=$((SECONDS + timeout_s))
  # Ready = /health says ok and a real chat request gets an answer with a message.
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      rm -f "$pid_file"
      return 1
    fi
    if healthy "$url"; then
      body=$(curl -fsS --max-time 30 "$url/v1/chat/completions" -H 'Content-Type: application/json' \
        -d "{\"model\":\"$model_name\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}],\"max_tokens\":8}" \
        2>/dev/null) || body=
      if [ -n "$body" ] && python3 -c '
import json, sys
c = json.loads(sys.argv[1])["choices"][0]["message"]
sys.exit(0 if isinstance(c.get("content"), str) else 1)' "$body" 2>/dev/null; then
        return 0
      fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "the server (pid $pid, $url) did not answer a chat request within ${timeout_s} s"
      log_tail
      stop_server 2>/dev/null
      exit 1
    fi
    sleep 0.2
  done
}

started=
for attempt in 1 2 3; do
  port=${LIBROMIND_LLM_PORT:-$(free_port)}
  if launch "$port"; then
    started=$port
    break
  fi
  # Another process may have taken the free port between the probe and the bind: try another.
  if [ -z "${LIBROMIND_LLM_PORT:-}" ] && grep -qiE 'bind|address already in use' "$log_file"; then
    say "port $port was taken; trying another"
    continue
  fi
  say "the server exited before it was ready"
  log_tail
  exit 1
done
[ -n "$started" ] || { say "could not bind a free port after 3 tries"; log_tail; exit 1; }

url="http://127.0.0.1:$started"
echo "$url" >"$url_file.tmp" && mv "$url_file.tmp" "$url_file"
cat >"$env_file.tmp" <<EOF
LIBROMIND_LLM_URL=$url
LIBROMIND_LLM_API=openai
LIBROMIND_LLM_MODEL=$model_name
EOF
mv "$env_file.tmp" "$env_file"
say "ready at $url (pid $(cat "$pid_file"), model $model_name, $threads threads, context $ctx; log $log_file)"
cat "$env_file"
