#!/bin/sh
# temper — `make fuzz-smoke`: run each libFuzzer target for SECONDS from its
# seed corpus (tests/fuzz/corpus.sh) plus its regression inputs, with caps
# on input size (-max_len), memory (-rss_limit_mb) and time per input
# (-timeout).  Any crash, leak, sanitizer report, out-of-memory or timeout
# fails the run; the reproducer is kept in $FUZZ_ARTIFACTS (default
# <builddir>/tests/fuzz/artifacts) and its path printed.
#
#   sh smoke.sh SECONDS [TARGET...]
# Environment: TEMPER_SRCDIR, TEMPER_BUILDDIR (set by make), FUZZ_ARTIFACTS,
# FUZZ_TMPDIR (scratch space of the targets, default /dev/shm),
# FUZZ_CORPUS_DIR (keep the inputs found in FUZZ_CORPUS_DIR/TARGET, and start
# from them next time: long runs), FUZZ_FLAGS (extra libFuzzer flags).
set -u
seconds=${1:-25}
shift
targets=${*:-"ini deb822 debindex release apkindex apkfile version http oci dsse patch guard github layer deb registry"}
src=$TEMPER_SRCDIR
b=$TEMPER_BUILDDIR
art=${FUZZ_ARTIFACTS:-$b/tests/fuzz/artifacts}
work=$(mktemp -d "${TMPDIR:-/tmp}/temper-fuzz-smoke.XXXXXX") || exit 1
# the targets' scratch files (extracted layers, .debs): in memory when
# possible, a busy disk makes the archive targets ten times slower
scratch=$(mktemp -d "${FUZZ_TMPDIR:-/dev/shm}/temper-fuzz.XXXXXX" 2>/dev/null) ||
    scratch=$work
trap 'rm -rf "$work" "$scratch"' EXIT
mkdir -p "$art"

max_len() {
    case $1 in
    version) echo 512 ;;
    http | registry) echo 4096 ;;
    deb822 | debindex | ini) echo 16384 ;;
    release | patch | guard | github | oci | dsse) echo 32768 ;;
    *) echo 65536 ;;
    esac
}

dict() {
    case $1 in
    ini | http) echo "-dict=$src/tests/fuzz/dict/$1.dict" ;;
    registry) echo "-dict=$src/tests/fuzz/dict/http.dict" ;;
    oci | dsse | github) echo "-dict=$src/tests/fuzz/dict/json.dict" ;;
    patch | guard) echo "-dict=$src/tests/fuzz/dict/patch.dict" ;;
    deb822 | debindex | release | apkindex) echo "-dict=$src/tests/fuzz/dict/deb822.dict" ;;
    esac
}

failed=0
total=0
for t in $targets; do
    corpus=$work/corpus-$t
    sh "$src/tests/fuzz/corpus.sh" "$src" "$t" "$corpus" || { failed=$((failed + 1)); continue; }
    regress=
    [ -d "$src/tests/fuzz/regress/$t" ] && regress=$src/tests/fuzz/regress/$t
    log=$work/$t.log
    # the new inputs go to the first corpus dir; the seeds stay as they are
    new=$work/new-$t
    [ -n "${FUZZ_CORPUS_DIR:-}" ] && new=$FUZZ_CORPUS_DIR/$t
    mkdir -p "$new"
    # shellcheck disable=SC2046
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    TMPDIR=$scratch "$b/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
        -max_len="$(max_len "$t")" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$art/$t-" $(dict "$t") ${FUZZ_FLAGS:-} \
        "$new" "$corpus" $regress >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz %-9s ok      %10s execs %7s/s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-}"
    else
        failed=$((failed + 1))
        printf 'fuzz %-9s FAILED  (exit %d) %s execs; log follows\n' "$t" "$rc" "${execs:-?}"
        grep -E 'ERROR|SUMMARY|Test unit written|artifact|#[0-9]+ *(CRASH|DEADLY)|property violated|Timeout|out-of-memory' "$log" | head -n 40
        tail -n 60 "$log"
    fi
    total=$((total + 1))
done
echo "fuzz-smoke: $total targets, $failed failed (${seconds}s each)"
[ "$failed" -eq 0 ]
