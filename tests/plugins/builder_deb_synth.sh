#!/bin/sh
# builder_deb on hand-made packages (tests/plugins/mkdeb.py) served by a
# loopback mirror: dependency resolution (alternatives, versions, Provides,
# Multi-Arch, Essential, the error chain), hostile packages (refused or
# neutralised, nothing written outside the image root), a .deb whose hash
# does not match the index, a corrupt cached file, several platforms.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
PYTHON3=${PYTHON3:-python3}
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
if [ ! -f "$TEMPER_PLUGINS/builder_deb/.libs/builder_deb.so" ]; then
    echo "1..0 # SKIP no shared plugin modules (static build)"; exit 0
fi
for tool in sqlite3 skopeo; do
    command -v $tool >/dev/null || { echo "Bail out! $tool missing (apt-get install -y $tool)"; exit 1; }
done
T=$(mktemp -d /tmp/temper-debsynth-XXXXXX)
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; rm -rf "$T"' EXIT
M=$T/mirror
mkdir -p "$M/pool" "$T/outside" "$T/images"
deb() { out=$M/pool/$1_$2_$3.deb; "$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" deb "$out" "$@"; }

# resolution
deb top 1.0 all Depends=mid;          deb mid 1.0 all "Depends=libfoo (>= 2)"
deb libfoo 1.0 all
deb top2 1.0 all Depends=mid2;        deb mid2 1.0 all "Depends=libnone (>= 2)"
deb alt 1.0 all "Depends=missing-pkg | altb, altc | altd"
deb altb 1.0 all f:usr/share/altb:b;  deb altc 1.0 all;  deb altd 1.0 all
deb lib 1.0 all;                      deb lib 2.0 all
deb needold 1.0 all "Depends=lib (<< 2)"; deb neednew 1.0 all "Depends=lib (>= 1.5)"
deb virtuser 1.0 all Depends=virt;    deb impl 1.0 all Provides=virt
deb vuser 1.0 all "Depends=vvirt (>= 3)"; deb vimpl 1.0 all "Provides=vvirt (= 3.1)"
deb mauser 1.0 all Depends=maok:any;  deb maok 1.0 all Multi-Arch=allowed
deb mabad 1.0 all Depends=manot:any;  deb manot 1.0 all
deb euser 1.0 all Depends=ess;        deb ess 1.0 all Essential=yes f:usr/share/ess:e
deb both 1.0 amd64 f:usr/lib/arch:amd64; deb both 1.0 arm64 f:usr/lib/arch:arm64
# hostile
deb dotdot 1.0 all f:../../escape:x
deb abspath 1.0 all f:/etc/evil:x
deb abslink 1.0 all "l:evil:$T/outside" f:evil/pwned:x
deb chain 1.0 all l:a:b l:b:../../../../../../../../../../$T/outside f:a/pwned2:x
deb hardout 1.0 all h:stolen:/etc/passwd
deb hardout2 1.0 all l:lnk:/etc h:stolen2:lnk/passwd
deb devnode 1.0 all c:dev/mem
deb badhash 1.0 all f:usr/share/bad:x
deb suid 1.0 all s:usr/bin/suid:x f:etc/passwd:mine:x:1:1::/:/x
"$PYTHON3" "$TEMPER_SRCDIR/tests/plugins/mkdeb.py" index "$M" test amd64 arm64 --bad-sha badhash
deb_serve "$M" || { echo "Bail out! cannot start the mirror's HTTP server"; exit 1; }

deb_ini "$T/p.ini" "$T" "$DEB_URL" "allow_unsigned = yes" 'essential = ${DEB_ESSENTIAL:-no}'
img() { printf '[image]\nname = %s\ndistribution = debian:test\npackages = %s\n' "$1" "$2" \
    > "$T/images/$1.ini"; }
build() { "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "$T/p.ini" "$@" 2>"$T/err"; }
pkgs() { sqlite3 "$T/state.db" "select group_concat(p, ' ') from (select name || '=' || version
    as p from build_packages where build_id = (select max(build_id) from build_packages)
    order by name)"; }
installs() { # IMAGE PACKAGES EXPECTED
    img "$1" "$2"
    build "$1" -o "$T/out-$1" >/dev/null; rc=$?
    got=$(pkgs)
    [ $rc -eq 0 ] && [ "$got" = "$3" ]; ok $? "$1: installs $3 (got: $got)"
}
refused() { # IMAGE PACKAGES MESSAGE
    img "$1" "$2"
    build "$1" -o "$T/out-$1" >/dev/null; rc=$?
    [ $rc -eq 1 ] && grep -qF -- "$3" "$T/err"; ok $? "$1: refused with '$3'"
    [ -z "$(ls -A "$T/outside")" ] && [ ! -e "$T/escape" ] && [ ! -e /etc/evil ]
    ok $? "$1: nothing written outside the image root"
}

installs alt alt "alt=1.0 altb=1.0 altc=1.0"
installs old needold "lib=1.0 needold=1.0"
installs new neednew "lib=2.0 neednew=1.0"
installs pin lib=1.0 "lib=1.0"
installs virt virtuser "impl=1.0 virtuser=1.0"
installs vvirt vuser "vimpl=1.0 vuser=1.0"
installs ma mauser "maok=1.0 mauser=1.0"
installs ess euser "euser=1.0"
DEB_ESSENTIAL=yes installs ess2 euser "ess=1.0 euser=1.0"
refused chain1 top "top -> mid -> libfoo (>= 2): no version satisfies it (the index has 1.0)"
refused chain2 top2 "top2 -> mid2 -> libnone (>= 2): not in the index"
refused mabad mabad "mabad -> manot:any: manot is not Multi-Arch: allowed"
refused dotdot dotdot "entry '../../escape': path has a '..' component"
refused abspath abspath "entry '/etc/evil': absolute path"
refused hardout hardout "hardlink target is absolute"
refused hardout2 hardout2 "hardlink target"
refused devnode devnode "device nodes are not allowed"
refused badhash badhash "does not have the SHA256 of the index (" 

# absolute symlinks and chains pointing out: neutralised inside the root
installs abslink abslink "abslink=1.0"
installs chain chain "chain=1.0"
[ -z "$(ls -A "$T/outside")" ]; ok $? "symlinks out of the root wrote nothing outside"

# hardening of what the packages ship: setuid cleared, passwd entries kept
installs suid suid "suid=1.0"
layer=$(skopeo inspect "oci:$T/out-suid:latest" | sed -n 's/.*"\(sha256:[0-9a-f]*\)".*/\1/p' | tail -n 1)
tar -tvzf "$T/out-suid/blobs/sha256/${layer#sha256:}" > "$T/list" 2>/dev/null
grep -q -- '-rwxr-xr-x .* usr/bin/suid$' "$T/list"; ok $? "setuid bit cleared in the layer"
tar -xzOf "$T/out-suid/blobs/sha256/${layer#sha256:}" etc/passwd > "$T/passwd" 2>/dev/null
grep -q '^mine:' "$T/passwd" && grep -q '^nonroot:x:65532' "$T/passwd"
ok $? "passwd: the package's entries kept, nonroot appended"

# a corrupt .deb in the cache is discarded and fetched again
sha=$(sha256sum "$M/pool/altb_1.0_all.deb" | cut -d' ' -f1)
printf 'garbage' > "$T/cache/builder_deb/debs/$sha.deb"
rm -rf "$T/cache/builder_deb/layers"
build alt -o "$T/out-alt2" >/dev/null; rc=$?
[ $rc -eq 0 ] && grep -q "does not match the index" "$T/err"; ok $? "corrupt cached .deb discarded"
[ "$(sha256sum "$T/cache/builder_deb/debs/$sha.deb" | cut -d' ' -f1)" = "$sha" ]
ok $? "and downloaded again"

# several platforms make an index
img multi both
d=$(build multi -o "$T/out-multi" --platform amd64,arm64); ok $? "two platforms build"
skopeo inspect --raw "oci:$T/out-multi:latest" > "$T/raw" 2>&1
grep -q 'image.index.v1+json' "$T/raw" && grep -q '"architecture":"arm64"' "$T/raw" &&
    grep -q '"architecture":"amd64"' "$T/raw"
ok $? "an image index over amd64 and arm64"
[ "$(sqlite3 "$T/state.db" "select count(*) from build_packages where build_id = (select max(build_id) from build_packages)")" = 2 ]
ok $? "both platforms' packages recorded"
echo "1..$n"
exit $fail
