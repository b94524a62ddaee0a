#!/bin/bash
# `make lint` passes on this tree, and tests/lint.sh really rejects what
# STYLE.md bans: each check runs it on a scratch tree holding one bad file.
set -u
. "$TEMPER_SRCDIR/tests/lib/tap.sh"

lint=$TEMPER_SRCDIR/tests/lint.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-lint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0

# lint_file DIR/FILE CONTENT: run lint.sh on a new tree holding only that
# file; sets $rc and $err (stderr).
lint_file() {
    n=$((n + 1))
    tree=$tmp/t$n
    mkdir -p "$tree/$(dirname "$1")"
    printf '%s\n' "$2" >"$tree/$1"
    err=$(sh "$lint" "$tree" 2>&1 >/dev/null)
    rc=$?
}

# expect_flag NAME FILE CONTENT WHAT: lint exits 1 naming WHAT and FILE.
expect_flag() {
    lint_file "$2" "$3"
    if [ "$rc" -eq 1 ] && printf '%s' "$err" | grep -q "^lint: $4: $2:[0-9]"; then
        tap_ok "$1"
    else
        tap_not_ok "$1"
        tap_diag "lint exit $rc, stderr:" "$err"
    fi
}

# expect_clean NAME FILE CONTENT: lint exits 0.
expect_clean() {
    lint_file "$2" "$3"
    if [ "$rc" -eq 0 ]; then
        tap_ok "$1"
    else
        tap_not_ok "$1"
        tap_diag "lint exit $rc, stderr:" "$err"
    fi
}

out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TEMPER_BUILDDIR" lint 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
    tap_ok "make lint passes on the tree"
else
    tap_not_ok "make lint passes on the tree"
    tap_diag "$out"
fi

expect_clean "a clean file passes" core/good.c '#include <stdio.h>
static int f(char *d, size_t n, const char *s)
{
    return snprintf(d, n, "%s", s);
}'

for fn in sprintf vsprintf strcpy strcat strncpy strtok atoi atol atoll gets system popen \
    alloca; do
    expect_flag "$fn() is rejected" sdk/bad_$fn.c "static void f(void)
{
    x = $fn (a, b);
}" "banned function"
done

expect_clean "names that only contain a banned one, strings and comments pass" core/ok.c \
    'static int my_strcpy(char *d);
static int f(void)
{
    /* never strcpy(a, b) */
    // nor sprintf(a, "x")
    log_it("do not call system(\"x\") or atoi(s)");
    return my_strcpy(buf) + strcpy_s(a) + xatoi(b);
}'

expect_flag "a banned call in a header is rejected" include/temper/bad.h \
    'static inline void f(char *d) { strcat(d, "x"); }' "banned function"

if command -v "${CC:-gcc}" >/dev/null 2>&1; then
    expect_flag "a variable length array is rejected" plugins/x_y/x_y.c \
        'int f(int n);
int f(int n)
{
    char buf[n];
    buf[0] = 0;
    return buf[0];
}' VLA
else
    tap_skip "a variable length array is rejected" "no C compiler for the VLA pass"
fi

expect_flag "#if 0 blocks are rejected" core/dead.c '#if 0
int dead;
#endif' "#if 0 block"

expect_flag "a TODO without an issue reference is rejected" core/todo.c \
    'int x; /* TODO make this faster */' "TODO without an issue reference"
expect_clean "a TODO with an issue reference passes" core/todo.c 'int x; /* TODO(#12) faster */'

expect_flag "tab indentation is rejected" core/tabs.c "$(printf 'int f(void)\n{\n\treturn 0;\n}')" "tab indentation"

expect_flag "abort() in a plugin is rejected" plugins/suite_x/suite_x.c \
    'static void f(void) { abort(); }' "assert/abort/exit in a plugin"
expect_clean "abort() outside plugins/ is left to review" core/die.c \
    'static void f(void) { abort(); }'

mkdir -p "$tmp/empty"
sh "$lint" "$tmp/empty" >/dev/null 2>&1
tap_check "a tree without sources is an error (exit 2)" test $? -eq 2

tap_done
