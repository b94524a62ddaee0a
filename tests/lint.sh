#!/bin/sh
# make lint: reject the banned functions and constructs of STYLE.md (B7, B10).
#   tests/lint.sh SRCDIR [BUILDDIR]
# BUILDDIR (absolute) is where config.h lives for the VLA check; exit 0 clean,
# 1 when something is reported (one "lint: what: file:line: text" line each),
# 2 when there is nothing to check.
top=${1:-.}
builddir=${2:-}
cd "$top" || exit 2
files=$(find core sdk plugins include tests -name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || { echo "lint: no sources found under $top" >&2; exit 2; }
status=0
report() { # $1 = what, rest = grep output
    what=$1; shift
    if [ -n "$*" ]; then
        printf '%s\n' "$*" | sed "s|^|lint: $what: |" >&2
        status=1
    fi
}
# strip comments and string literals crudely before matching identifiers
scan() {
    pattern=$1
    for f in $files; do
        sed -e 's:"\([^"\\]\|\\.\)*"::g' -e 's://.*$::' -e 's:/\*.*\*/::g' "$f" |
            grep -nE "$pattern" | sed "s|^|$f:|"
    done
}
report "banned function" "$(scan '(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|atoll|gets|system|popen|alloca)[[:space:]]*\(')"
report "#if 0 block" "$(scan '^[[:space:]]*#[[:space:]]*if[[:space:]]+0([^0-9x]|$)')"
report "TODO without an issue reference" "$(for f in $files; do grep -nwE 'TODO|FIXME|XXX' "$f" | grep -vE '#[0-9]+' | sed "s|^|$f:|"; done)"
report "tab indentation" "$(for f in $files; do grep -nP '^\t' "$f" | sed "s|^|$f:|"; done)"
report "assert/abort/exit in a plugin" "$(for f in $(echo "$files" | grep '^plugins/'); do sed -e 's:"\([^"\\]\|\\.\)*"::g' "$f" | grep -nE '(^|[^_a-zA-Z0-9])(assert|abort|exit)[[:space:]]*\(' | sed "s|^|$f:|"; done)"
cc=${CC:-gcc}
if command -v "$cc" >/dev/null 2>&1; then
    # VLAs: let the compiler find them (it sees through macros and typedefs)
    extra=$(pkg-config --cflags json-c libcurl gnutls libarchive sqlite3 2>/dev/null)
    for f in $(echo "$files" | grep '\.c$' | grep -v '^tests/'); do
        # shellcheck disable=SC2086
        report "VLA" "$($cc -std=gnu11 -fsyntax-only -Werror=vla -Iinclude -I. -Isdk \
            ${builddir:+-I"$builddir"} $extra "$f" 2>&1 | grep -E 'variable length array')"
    done
fi
[ $status -eq 0 ] && echo "lint: $(echo "$files" | wc -w) files clean"
exit $status
