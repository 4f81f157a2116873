#!/usr/bin/env bash
# The lasting defences, run by scripts/test.sh after the plain tests:
#   1. the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   2. every libFuzzer harness for GSNN_FUZZ_SECONDS (default 30) on its seed corpus,
#   3. the Predictor's concurrency test under ThreadSanitizer.
# Both builds use clang at -O1 with only the targets they need
# (build-asan/ and build-tsan/, or under $GSNN_SANITIZE_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
root=${GSNN_SANITIZE_DIR:-.}
seconds=${GSNN_FUZZ_SECONDS:-30}
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DGSNN_BUILD_BENCH=OFF -DGSNN_BUILD_EXAMPLES=OFF)
# LibTorch and its dependencies are not instrumented: container-overflow and
# leak reports from inside them are not ours.
export ASAN_OPTIONS=detect_container_overflow=0:detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer: unit tests and fuzzers"
asan="$root/build-asan"
cmake -S . -B "$asan" "${common[@]}" -DGSNN_SANITIZE=address,undefined -DGSNN_BUILD_FUZZERS=ON
cmake --build "$asan" -j "$(nproc)" --target gsnn_tests csv_fuzzer experiment_fuzzer model_fuzzer \
  idx_fuzzer expression_fuzzer
"$asan/tests/gsnn_tests" --gtest_brief=1

for fuzzer in csv experiment model idx expression; do
  corpus=$(mktemp -d)
  cp fuzz/corpus/"$fuzzer"/* "$corpus"/
  echo "== fuzzing $fuzzer for ${seconds}s"
  # A crashing input is kept as $asan/fuzz/<fuzzer>-crash-<hash> (turn it into a regression test).
  "$asan/fuzz/${fuzzer}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$asan/fuzz/${fuzzer}-" "$corpus" > "$asan/fuzz/$fuzzer.log" 2>&1 ||
    { tail -40 "$asan/fuzz/$fuzzer.log"; exit 1; }
  grep "stat::number_of_executed_units\|stat::new_units_added" "$asan/fuzz/$fuzzer.log"
  rm -rf "$corpus"
done

echo "== ThreadSanitizer: the Predictor from many threads"
tsan="$root/build-tsan"
cmake -S . -B "$tsan" "${common[@]}" -DGSNN_SANITIZE=thread
cmake --build "$tsan" -j "$(nproc)" --target gsnn_tests
TSAN_OPTIONS=halt_on_error=1 "$tsan/tests/gsnn_tests" --gtest_filter='SavedModel.PredictorIsThreadSafe:HybridFiles.PredictsFromSeveralThreads'
echo "sanitizers and fuzzers: all passed"
