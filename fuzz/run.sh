#!/usr/bin/env bash
# fuzz/run.sh - `make fuzz`: build the libFuzzer targets (clang-19, ASan +
# UBSan, coverage) in build-fuzz and run each for a set time.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60, all)
#   FUZZ_JOBS=2 fuzz/run.sh 600 http                 (parallel workers)
# Each target starts from its committed seeds (fuzz/corpus/<name>) plus
# what earlier runs found (build-fuzz/corpus/<name>, kept between runs);
# new inputs that found new coverage stay there. A crash, leak or timeout
# leaves its input in build-fuzz/artifacts/ and fails the run. One summary
# line per target: executions, speed, corpus size, new coverage, verdict.
. "$(dirname "$0")/../tools/common.sh"
SECONDS_PER=${1:-60}
shift || true
OUT=${FUZZ_BUILD:-$CLOCHE_ROOT/build-fuzz}
ALL="wasi_state wasi_abi vfs_model net_policy http record snapshot"
TARGETS=${*:-$ALL}

apt_install "clang-$LLVM_VER" "libclang-rt-$LLVM_VER-dev"

# The wasm side and wasmtime come from the normal build's cache.
BUILD_DIR=$CLOCHE_ROOT/${BUILD:-build}
bash "$CLOCHE_ROOT/tools/build.sh" "$BUILD_DIR" >/dev/null
get() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt"; }
mkdir -p "$OUT"
cmake -S "$CLOCHE_ROOT" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="clang-$LLVM_VER" -DCLOCHE_FUZZ=ON -DCLOCHE_WERROR=OFF \
  -DCLOCHE_WASMTIME_DIR="$(get CLOCHE_WASMTIME_DIR)" \
  -DCLOCHE_GUEST_DIR="$(get CLOCHE_GUEST_DIR)" \
  -DCLOCHE_NATIVE_PYTHON="$(get CLOCHE_NATIVE_PYTHON)" >"$OUT/cmake.log" 2>&1 ||
  { tail -n 30 "$OUT/cmake.log"; exit 1; }
cmake --build "$OUT" -j "$JOBS" $(for t in $TARGETS; do echo --target fuzz_$t; done) \
  >"$OUT/build.log" 2>&1 || { grep -E "error|FAILED" "$OUT/build.log" | head -n 30; exit 1; }

mkdir -p "$OUT/artifacts"
# wasmtime traps with signals: ASan must leave SIGSEGV/SIGBUS to it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0:detect_leaks=1}
status=0
for t in $TARGETS; do
  corpus="$OUT/corpus/$t"
  mkdir -p "$corpus" "$OUT/seeds/$t"
  cp -n "$CLOCHE_ROOT/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  if [ "$t" = wasi_state ]; then  # valid blobs from the unit tests
    CLOCHE_STATE_SEED_DIR="$OUT/seeds/$t" "$BUILD_DIR/test_wasi_state" \
      >/dev/null 2>&1 || true
  fi
  extra=(-max_len=8192)
  case "$t" in
    snapshot) extra=(-max_len=2000000 -rss_limit_mb=4096 -timeout=30)
              export CLOCHE_FUZZ_SEED_DIR="$OUT/seeds/$t" ;;
    record|http) extra=(-max_len=16384) ;;
  esac
  log="$OUT/fuzz_$t.log"
  before=$(ls "$corpus" | wc -l)
  par=()
  [ "${FUZZ_JOBS:-1}" -gt 1 ] && par=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  set +e
  (cd "$OUT" && "$OUT/fuzz_$t" "${extra[@]}" "${par[@]}" \
    -max_total_time="$SECONDS_PER" -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/${t}-" "$corpus" "$OUT/seeds/$t") \
    >"$log" 2>&1
  rc=$?
  set -e
  if [ ${#par[@]} -gt 0 ]; then cat "$OUT"/fuzz-*.log >>"$log" 2>/dev/null; rm -f "$OUT"/fuzz-*.log; fi
  execs=$( (grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" || true) |
    awk '{s+=$2} END {print s+0}')
  speed=$( (grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" || true) |
    awk '{s+=$2} END {print s+0}')
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n 1 | awk '{print $2}')
  after=$(ls "$corpus" | wc -l)
  verdict=ok
  if [ $rc -ne 0 ] || grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|deadly signal' "$log"; then
    verdict="FAILED (see $log, $OUT/artifacts/)"
    status=1
  fi
  printf '== fuzz %-11s %9s execs %6s/s  cov %-6s corpus %4s (+%s)  %s\n' \
    "$t" "$execs" "$speed" "${cov:-?}" "$after" "$((after - before))" "$verdict"
done
exit $status
