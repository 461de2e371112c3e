#!/usr/bin/env bash
# Kiln's TornadoVM checks on a GPU, for a machine that has one. It does not install TornadoVM: it
# needs TORNADOVM_HOME pointing to an installed TornadoVM 5.2.0 SDK for JDK 25, built with the PTX
# and/or OpenCL backend (docs/backends/tornado.md), and a JDK 25 (JAVA_HOME, or the usual
# folders).
#
#   scripts/tornado-gpu-check.sh [backend:device]
#
# backend:device is as `bin/kiln devices` lists it (default: TornadoVM's default device). The script
#   1. builds Kiln with the tornado profile (package, nothing installed) and lists the devices with
#      their default kernel layout;
#   2. runs every test on that device, the TornadoVM decoder tests once per layout (cpu, then gpu:
#      logits against the interpreter at every position and step, F32, F16, Q8_0, Q4_0, the
#      conformance models, bailouts as errors); skipped with SKIP_TESTS=1;
#   3. benchmarks each shape of SHAPES with the TornadoVM decoder in the gpu layout, in the cpu layout,
#      and the Java backend on this machine's CPUs, and writes them side by side as one markdown table,
#      tornado-gpu-check.md (each run's own report: tornado-gpu-check-*.md).
# SHAPES (default "stories110m:F32,Q8_0 llama3.2-1b:F16,Q8_0") is a list of --random shape:types;
# llama3.2-1b is Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads / 8 kv heads, vocab 128256,
# tied embeddings), so its figures compare with GPULlama3.java's on the same card. BENCH_ARGS adds
# `kiln bench` options (default "--prompt 128 --decode 64 --batches 1,4 --repeats 3").
# Everything it prints is also written to tornado-gpu-check.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
device="${1:-}"
shapes="${SHAPES:-stories110m:F32,Q8_0 llama3.2-1b:F16,Q8_0}"
bench_args="${BENCH_ARGS:---prompt 128 --decode 64 --batches 1,4 --repeats 3}"
: "${TORNADOVM_HOME:?set TORNADOVM_HOME to an installed TornadoVM 5.2.0 (JDK 25) SDK}"
if [ ! -f "$TORNADOVM_HOME/tornado-argfile" ]; then
  echo "TORNADOVM_HOME=$TORNADOVM_HOME has no tornado-argfile: not a TornadoVM SDK" >&2
  exit 1
fi
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] \
      && "$candidate/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
    export JAVA_HOME="$candidate"
    break
  fi
done
cd "$root"
exec > >(tee tornado-gpu-check.log) 2>&1

echo "== build (tornado profile) and devices"
./mvnw -q -B -DskipTests clean package
bin/kiln devices
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  echo "== tests on device '${device:-default}' (the TornadoVM tests once per layout)"
  conformance=()
  if [ -d ../shared/conformance ]; then conformance=(-Dkiln.conformance=../shared/conformance); fi
  ./mvnw -B verify -Dkiln.tornado.device="$device" "${conformance[@]}" | grep -E "Tests run:|tornado-test|FAIL|BUILD|ERROR"
fi

device_option=()
if [ -n "$device" ]; then device_option=(--device "$device"); fi
table=tornado-gpu-check.md
{
  echo "## Kiln on '${device:-default}': TornadoVM gpu layout, cpu layout, Java backend"
  echo
  echo "- $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown), bench: $bench_args"
  if command -v nvidia-smi >/dev/null; then
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1)"
  fi
  echo "- CPU (Java backend): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads"
  echo
  echo "| shape | type | backend | prefill tok/s | decode b1 tok/s | decode b4 tok/s |"
  echo "|---|---|---|---:|---:|---:|"
} > "$table"

# The rows of one `kiln bench --markdown` report as rows of the combined table.
rows() {
  local report="$1" shape="$2" backend="$3"
  awk -F'|' -v shape="$shape" -v backend="$backend" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    /^\| type / { for (i = 2; i < NF; i++) col[trim($i)] = i; header = 1; next }
    header && /^\|---/ { next }
    header && /^\| / {
      b4 = ("decode b4 tok/s" in col) ? trim($(col["decode b4 tok/s"])) : "-"
      printf "| %s | %s | %s | %s | %s | %s |\n", shape, trim($2), backend, trim($(col["prefill tok/s"])),
        trim($(col["decode b1 tok/s"])), b4
    }
    header && !/^\|/ { header = 0 }' "$report"
}

for entry in $shapes; do
  shape="${entry%%:*}"
  types="${entry#*:}"
  for run in gpu cpu java; do
    report="tornado-gpu-check-$shape-$run.md"
    echo "== benchmark: $shape ($types), $run"
    if [ "$run" = java ]; then
      # shellcheck disable=SC2086
      bin/kiln bench --random "$shape" --types "$types" --interpreter-steps 0 $bench_args --markdown "$report"
      label="Java backend (CPU)"
    else
      # shellcheck disable=SC2086
      bin/kiln bench --random "$shape" --types "$types" --backend tornado "${device_option[@]}" --layout "$run" \
        --interpreter-steps 0 $bench_args --markdown "$report"
      label="TornadoVM, $run layout"
    fi
    rows "$report" "$shape" "$label" >> "$table"
  done
done
echo
cat "$table"
echo "== done: tornado-gpu-check.log, $table, tornado-gpu-check-*.md"
