#!/usr/bin/env bash
# Kiln's TornadoVM checks on a GPU, for a machine that has one. It does not install TornadoVM: it
# needs TORNADOVM_HOME pointing to an installed TornadoVM 5.2.0 SDK for JDK 25, built with the PTX
# and/or OpenCL backend (README.md, "TornadoVM backend"), and a JDK 25 (JAVA_HOME, or the usual
# folders).
#
#   scripts/tornado-gpu-check.sh [backend:device]
#
# backend:device is as `bin/kiln devices` lists it (default: TornadoVM's default device). The script
#   1. builds Kiln with the tornado profile and lists the devices;
#   2. runs every test, the TornadoVM decoder tests included (logits against the interpreter at every
#      position and step, F32 and Q8_0, the conformance models, bailouts as errors) on that device;
#   3. benchmarks decode and prefill tokens/s of the 110M-parameter llama2.c shape on that device
#      next to the Java backend on this machine's CPUs, and the time of the first (compiling) run.
# Everything it prints is also written to tornado-gpu-check.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
device="${1:-}"
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
./mvnw -q -B -DskipTests clean install
bin/kiln devices
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi

echo "== tests on device '${device:-default}'"
conformance=()
if [ -d ../shared/conformance ]; then conformance=(-Dkiln.conformance=../shared/conformance); fi
./mvnw -B verify -Dkiln.tornado.device="$device" "${conformance[@]}" | grep -E "Tests run:|FAIL|BUILD|ERROR"

echo "== benchmark: TornadoVM on '${device:-default}', then the Java backend on the CPUs"
device_option=()
if [ -n "$device" ]; then device_option=(--device "$device"); fi
bin/kiln bench --random stories110m --types F32,Q8_0 --backend tornado "${device_option[@]}" --interpreter-steps 0 \
  --markdown tornado-gpu-bench.md
bin/kiln bench --random stories110m --types F32,Q8_0 --interpreter-steps 0 --markdown java-cpu-bench.md
echo "== done: tornado-gpu-check.log, tornado-gpu-bench.md, java-cpu-bench.md"
