#!/usr/bin/env bash
# Runs the concurrency tests (CTest label "concurrency": the coordinator, its shard queue, round
# scheduler, state store and metrics registry) under ThreadSanitizer.
#
# ThreadSanitizer only understands locks it can see. The coordinator locks absl::Mutex, and so
# does gRPC inside; Debian's Abseil is not built for TSan, so every access guarded by an
# absl::Mutex would be reported as a race. This script therefore builds Abseil itself, from the
# Debian source package of the libabsl-dev version installed (same patches, same options, same
# library names), with -fsanitize=thread, and runs the tests with those libraries in front of
# Debian's (LD_LIBRARY_PATH): the project's code, gRPC and Abseil are then all seen.
#
# The Abseil source comes from Debian's archive (apt-get source, with a private apt state, so the
# machine's apt configuration is not touched); it is built once per version under
# build/tsan-abseil. STAR_DEBIAN_MIRROR (default http://deb.debian.org) names the archive.
#   scripts/tsan.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { echo "[tsan $(date +%H:%M:%S)] $*"; }

scripts/install-deps.sh
abseil=$root/build/tsan-abseil
# The source package's version (a binary-only rebuild adds "+bN" to the binary's).
version=$(dpkg-query -W -f='${source:Version}' libabsl-dev)
if [[ "$(cat "$abseil/install/.version" 2>/dev/null)" != "$version" ]]; then
  rm -rf "$abseil"
  mkdir -p "$abseil/apt/lists/partial" "$abseil/apt/cache/archives/partial" "$abseil/src"
  mirror=${STAR_DEBIAN_MIRROR:-http://deb.debian.org}
  cat >"$abseil/apt/sources.list" <<EOF
deb-src $mirror/debian bookworm main
deb-src $mirror/debian bookworm-updates main
deb-src $mirror/debian-security bookworm-security main
EOF
  apt_options=(-o "Dir::Etc::SourceList=$abseil/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o "Dir::State::Lists=$abseil/apt/lists" -o "Dir::Cache=$abseil/apt/cache"
               -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
  log "fetching the Debian source of Abseil $version"
  apt-get "${apt_options[@]}" update
  if ! (cd "$abseil/src" && apt-get "${apt_options[@]}" source "abseil=$version" >/dev/null); then
    echo "tsan: cannot fetch the source of abseil $version from $mirror (the archive keeps only" \
         "current versions: upgrade libabsl-dev, or set STAR_DEBIAN_MIRROR to an archive that" \
         "has it; STAR_TSAN=0 scripts/test.sh skips this stage)" >&2
    exit 1
  fi
  source_dir=$(find "$abseil/src" -mindepth 1 -maxdepth 1 -type d -name 'abseil-*' | head -1)
  log "building Abseil with -fsanitize=thread (as Debian does: C++17, shared libraries)"
  start=$(date +%s)
  cmake -S "$source_dir" -B "$abseil/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DABSL_PROPAGATE_CXX_STD=ON \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_INSTALL_PREFIX="$abseil/install" \
    >"$abseil/configure.log" 2>&1 || { cat "$abseil/configure.log"; exit 1; }
  cmake --build "$abseil/build" -j "$(nproc)" >"$abseil/build.log" 2>&1 ||
    { tail -50 "$abseil/build.log"; exit 1; }
  cmake --install "$abseil/build" >/dev/null
  # The libraries must stand in for Debian's: same names (SONAMEs).
  for lib in synchronization base status; do
    want=$(objdump -p "/usr/lib/x86_64-linux-gnu/libabsl_$lib.so" | awk '/SONAME/ {print $2}')
    [[ -e "$abseil/install/lib/$want" ]] ||
      { echo "tsan: the built Abseil has no $want (Debian's name); cannot stand in" >&2; exit 1; }
  done
  echo "$version" >"$abseil/install/.version"
  log "Abseil built in $(( $(date +%s) - start ))s"
fi

scripts/build.sh tsan
log "running the concurrency tests under ThreadSanitizer"
# GCC 12's TSan runtime cannot map its shadow memory when the kernel randomises mmap with more
# than 28 bits; without address randomisation it can. Used only where needed and allowed.
runner=()
if [[ $(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) -gt 28 ]] &&
   setarch "$(uname -m)" -R true 2>/dev/null; then
  runner=(setarch "$(uname -m)" -R)
fi
"${runner[@]}" ctest --preset tsan
