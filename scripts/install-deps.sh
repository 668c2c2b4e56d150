#!/usr/bin/env bash
# Installs everything the project needs on a Debian bookworm machine, as root:
#   - Debian packages (compilers, gRPC, Protobuf, Abseil, RE2, SQLite, ...),
#   - a Python virtual environment in .venv holding the pinned torch wheel (libtorch for the
#     C++ build) and the reference implementations the tests compare against.
# Idempotent: installs only what is missing, so running it again is cheap.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${STAR_VENV:-$root/.venv}"

log() { printf '[install-deps %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libre2-dev libgtest-dev libgmock-dev libbenchmark-dev
  # Declarations for c10d's ProcessGroupGloo.hpp: the torch wheel ships no gloo headers (gloo
  # itself is compiled into libtorch_cpu; only the headers are used, never libgloo).
  libgloo-dev
  libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev
  # The coordinator's allocator (CMakeLists.txt).
  libjemalloc-dev
  # clang with libFuzzer and the sanitizer runtimes, for the fuzz targets (scripts/fuzz.sh).
  clang libclang-rt-14-dev
  # dpkg-source, to unpack the Debian source of Abseil that scripts/tsan.sh builds for TSan.
  dpkg-dev xz-utils
  python3 python3-venv python3-dev
  prometheus yamllint openssl procps
)

# kubectl renders deploy/'s Kustomize overlays in the tests. A kubectl already on the machine
# (often the Kubernetes project's package, which conflicts with Debian's) is used as it is;
# Debian's kubernetes-client is installed only where there is none.
if ! command -v kubectl >/dev/null 2>&1; then
  packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  log "apt-get update"
  apt-get update -qq
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages: all present"
fi

# The venv is keyed by the requirements file: a changed pin reinstalls, an unchanged one is a no-op.
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$root/scripts/requirements.txt" | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "Python environment $venv: up to date"
else
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating virtual environment $venv"
    python3 -m venv "$venv"
  fi
  log "installing Python packages (torch is a large download)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/scripts/requirements.txt"
  echo "$want" >"$stamp"
fi
log "torch $("$venv/bin/python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')"
