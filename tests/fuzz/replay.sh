#!/bin/sh
# temper — `make check`: every fuzz target's replay program (a plain build of
# the target without libFuzzer, tests/fuzz/replay_main.c) over its seed
# corpus (tests/fuzz/corpus.sh) and its regression inputs
# (tests/fuzz/regress/NAME: inputs that once crashed, hung, leaked or broke a
# property).  One TAP line per target: it fails when the target crashes,
# reports a sanitizer error or a violated property, or finds no input.
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
targets="ini deb822 debindex release apkindex apkfile version http oci dsse patch guard github layer deb registry"
work=$(mktemp -d "${TMPDIR:-/tmp}/temper-replay.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
for t in $targets; do
    corpus="$work/$t"
    if ! sh "$TEMPER_SRCDIR/tests/fuzz/corpus.sh" "$TEMPER_SRCDIR" "$t" "$corpus" \
        >"$work/$t.log" 2>&1; then
        tap_not_ok "$t: cannot assemble the seed corpus"
        sed 's/^/# /' "$work/$t.log"
        continue
    fi
    set -- "$corpus"
    [ -d "$TEMPER_SRCDIR/tests/fuzz/regress/$t" ] && set -- "$@" "$TEMPER_SRCDIR/tests/fuzz/regress/$t"
    if TMPDIR=$work "$TEMPER_BUILDDIR/tests/fuzz/replay_$t" "$@" >"$work/$t.log" 2>&1; then
        tap_ok "$t: $(tail -n 1 "$work/$t.log" | sed 's/^replay: //') replayed"
    else
        tap_not_ok "$t: replay failed"
        tail -n 30 "$work/$t.log" | sed 's/^/# /'
    fi
done
tap_done
