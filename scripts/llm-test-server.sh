#!/usr/bin/env bash
# Starts and stops the OpenAI-compatible server the LLM client tests run against:
# llama-cpp-python's server on loopback, serving the default model (SmolLM2-135M).
#
#   scripts/llm-test-server.sh start   # installs on first use, starts, waits until ready
#   HOEVEEL_TEST_OPENAI_URL="$(scripts/llm-test-server.sh url)" cargo test -p hoeveel-agent --test llm_openai
#   scripts/llm-test-server.sh stop
#
# `install` alone sets up the venv (llama-cpp-python builds llama.cpp from source:
# cmake and a C++ compiler, several minutes). `start` prints `export ...` lines too,
# for `eval "$(scripts/llm-test-server.sh start)"`.
#
# The model comes from the agent's own fetcher (`hoeveel-agent fetch smollm2-135m`),
# or from HOEVEEL_TEST_MODEL when set. Every wait is bounded.
#
# Environment:
#   HOEVEEL_TEST_VENV     the virtual environment (default: ~/.cache/hoeveel/test-venv)
#   HOEVEEL_TEST_MODEL    a GGUF file to serve instead of the fetched default model
#   HOEVEEL_TEST_PORT     the port (default: a free one)
#   HOEVEEL_AGENT         the agent binary (default: target/debug/hoeveel-agent, else cargo run)
#   HOEVEEL_TEST_STATE    where the pid and log go (default: target/llm-test-server)
set -euo pipefail

# llama-cpp-python 0.3.16: later releases (0.3.36) build but crash in decode on
# CPUs without the instructions their prebuilt defaults assume.
LLAMA_CPP_PYTHON="llama-cpp-python[server]==0.3.16"
MODEL_ALIAS="smollm2-135m"
READY_TIMEOUT_S=120

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HOEVEEL_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hoeveel/test-venv}"
state="${HOEVEEL_TEST_STATE:-$repo_root/target/llm-test-server}"
pid_file="$state/server.pid"
log_file="$state/server.log"
env_file="$state/env"

die() {
    echo "llm-test-server: $*" >&2
    exit 1
}

install() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
        echo "llm-test-server: $LLAMA_CPP_PYTHON already installed in $venv" >&2
        return
    fi
    python3 -m venv "$venv" || die "cannot create a virtual environment at $venv (python3-venv installed?)"
    # Builds llama.cpp from source (cmake and a C++ compiler; a few minutes).
    "$venv/bin/pip" install --quiet "$LLAMA_CPP_PYTHON" || die "pip could not install $LLAMA_CPP_PYTHON"
}

model_path() {
    if [ -n "${HOEVEEL_TEST_MODEL:-}" ]; then
        [ -f "$HOEVEEL_TEST_MODEL" ] || die "HOEVEEL_TEST_MODEL=$HOEVEEL_TEST_MODEL is not a file"
        echo "$HOEVEEL_TEST_MODEL"
        return
    fi
    local agent="${HOEVEEL_AGENT:-$repo_root/target/debug/hoeveel-agent}"
    local said path
    if [ -x "$agent" ]; then
        said="$("$agent" fetch smollm2-135m)"
    else
        said="$(cd "$repo_root" && cargo run --quiet -p hoeveel-agent -- fetch smollm2-135m)"
    fi
    # "smollm2-135m: already cached, /path/to/file.gguf (98 MB), sha256 ... verified"
    path="$(printf '%s\n' "$said" | sed -n '1s/^[^,]*, \(.*\) ([^)]*), sha256 .*/\1/p')"
    [ -f "$path" ] || die "the fetcher did not give a model file (got: $path)"
    echo "$path"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running() {
    [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start() {
    install
    if running; then
        cat "$env_file"
        return
    fi
    mkdir -p "$state"
    local model port
    model="$(model_path)"
    port="${HOEVEEL_TEST_PORT:-$(free_port)}"
    # Loopback only; a thread pool small enough to share a CI machine. By default
    # this server cuts a running stream short when the next request arrives
    # (--interrupt_requests): tests running side by side would break each other.
    "$venv/bin/python" -m llama_cpp.server \
        --model "$model" --model_alias "$MODEL_ALIAS" \
        --host 127.0.0.1 --port "$port" \
        --n_ctx 2048 --n_threads 2 --verbose false \
        --interrupt_requests false \
        >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    local url="http://127.0.0.1:$port/v1"
    local waited=0
    until python3 - "$url" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/models", timeout=2).read()
EOF
    do
        if ! running; then
            tail -n 20 "$log_file" >&2 || true
            rm -f "$pid_file"
            die "the server exited while starting (log: $log_file)"
        fi
        if [ "$waited" -ge "$READY_TIMEOUT_S" ]; then
            stop >/dev/null
            die "the server was not ready after ${READY_TIMEOUT_S}s (log: $log_file)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    {
        echo "export HOEVEEL_TEST_OPENAI_URL=$url"
        echo "export HOEVEEL_TEST_OPENAI_MODEL=$MODEL_ALIAS"
    } >"$env_file"
    echo "llm-test-server: serving $model at $url (pid $(cat "$pid_file"))" >&2
    cat "$env_file"
}

stop() {
    if running; then
        local pid
        pid="$(cat "$pid_file")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$pid" 2>/dev/null || true
        echo "llm-test-server: stopped (pid $pid)" >&2
    fi
    rm -f "$pid_file" "$env_file"
}

url() {
    running || die "the server is not running: '$0 start' first"
    sed -n 's/^export HOEVEEL_TEST_OPENAI_URL=//p' "$env_file"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    url) url ;;
    stop) stop ;;
    *) die "usage: $0 install|start|url|stop" ;;
esac
