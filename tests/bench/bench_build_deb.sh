#!/bin/sh
# `make bench-build`: the python3-minimal image built by temper's builder_deb
# (cold package cache, then a warm rebuild with nothing changed) next to
# mmdebstrap --variant=extract writing a tarball of the same packages, both
# from the same loopback mirror (this machine's apt lists + apt-get
# download), in the same run.  Prints both times, the ratio and temper's
# peak RSS.  Needs: mmdebstrap (apt-get install -y mmdebstrap), /usr/bin/time.
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_SRCDIR:?}"
export TEMPER_NO_INSTALLED_PLUGINS=1
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: apt-get install -y mmdebstrap"; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install -y time"; exit 1; }
T=$(mktemp -d /tmp/temper-bench-XXXXXX)
. "$TEMPER_SRCDIR/tests/plugins/deb_mirror.sh"
trap 'deb_stop; rm -rf "$T"' EXIT
deb_real_mirror "$T/mirror" python3-minimal || exit 1
deb_serve "$T/mirror" || exit 1
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
deb_ini "$T/p.ini" "$T" "$DEB_URL" "keyring = $KEYRING"
[core]
store = sqlite:$T/state.db
workdir = $T/work
cache_dir = $T/cache
images = images/*.ini
[pipeline]
stages = builder.deb
[builder "deb"]
plugin = deb
mirror = $DEB_URL
keyring = $KEYRING
INI
printf '[image]\nname = python\ndistribution = debian:%s\npackages = python3-minimal\n' \
    "$DEB_SUITE" > "$T/images/python.ini"

now() { date +%s.%N; }
tb() { # LABEL OUT: time a temper build, keep peak RSS
    t0=$(now)
    /usr/bin/time -v "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" build -c "$T/p.ini" python \
        -o "$2" > "$T/digest" 2> "$T/time.$1" || { cat "$T/time.$1"; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc
}
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time.$1"; }

cold=$(tb cold "$T/out1")
warm=$(tb warm "$T/out2")
# the packages temper installed, for mmdebstrap
pkgs=$(sqlite3 "$T/state.db" "select group_concat(name, ',') from build_packages where build_id = (select max(build_id) from build_packages)")
t0=$(now)
mmdebstrap --quiet --variant=extract --include="$pkgs" --keyring="$KEYRING" \
    "$DEB_SUITE" "$T/mm.tar" "deb $DEB_URL $DEB_SUITE main" > "$T/mm.log" 2>&1 ||
    { cat "$T/mm.log"; exit 1; }
t1=$(now)
mm=$(echo "$t1 - $t0" | bc)
echo "packages:        $pkgs"
printf 'temper cold:     %.2f s (peak RSS %s KiB)\n' "$cold" "$(rss cold)"
printf 'temper warm:     %.2f s (peak RSS %s KiB)\n' "$warm" "$(rss warm)"
printf 'mmdebstrap:      %.2f s (--variant=extract, tarball)\n' "$mm"
printf 'ratio mmdebstrap / temper cold: %.2f\n' "$(echo "$mm / $cold" | bc -l)"
