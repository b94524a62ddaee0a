# temper — for shell tests: an Alpine-format repository made from Debian's
# busybox-static and musl (tests/lib/apk_from_deb.py), served on loopback,
# and a small program built with musl-gcc the way Alpine links it.
#
#   . "$TEMPER_SRCDIR/tests/lib/apk_from_deb.sh"
#   afd_need_tools           # skips (or bails out under CI=true) without them
#   afd_repo_start DIR       # sets KEY, OTHERKEY, PORT, REPO (.../main) and
#                            # AFD_SRV (kill "$AFD_SRV" on EXIT)
#   afd_hello DIR            # DIR/hello: prints "hello from alpine, <the first
#                            # line of /usr/share/hello/greeting.txt>",
#                            # NEEDED libc.musl-x86_64.so.1
. "$TEMPER_SRCDIR/tests/lib/apk_repo.sh"

afd_need_tools() {
    [ "$(uname -m)" = x86_64 ] || tap_skip_all "the test's musl package is built for x86_64"
    afd_missing=
    for f in /bin/busybox /usr/bin/musl-gcc /usr/bin/patchelf /usr/bin/openssl; do
        [ -x "$f" ] || afd_missing="$afd_missing $f"
    done
    if [ -n "$afd_missing" ]; then
        [ "${CI:-}" = true ] && { echo "Bail out! missing:$afd_missing (busybox-static musl-tools patchelf openssl)"; exit 1; }
        tap_skip_all "missing:$afd_missing (apt-get install -y busybox-static musl-tools patchelf)"
    fi
}

afd_repo_start() {
    "${PYTHON3:-python3}" "$TEMPER_SRCDIR/tests/lib/apk_from_deb.py" "$1/apk" x86_64 >"$1/apk.facts" ||
        { echo "Bail out! cannot make the Alpine repository"; exit 1; }
    KEY=$(awk '$1 == "key" { print $2 }' "$1/apk.facts")
    OTHERKEY=$(awk '$1 == "otherkey" { print $2 }' "$1/apk.facts")
    apk_repo_serve "$1/apk/repo" "$1/apk.port"
    AFD_SRV=$apk_srv
    PORT=$apk_port
    REPO=http://127.0.0.1:$PORT/main
}

afd_hello() {
    cat > "$1/.hello.c" <<'C'
#include <stdio.h>
#include <string.h>

int main(void)
{
    char g[64] = "none";
    FILE *f = fopen("/usr/share/hello/greeting.txt", "r");
    if (f) {
        if (!fgets(g, sizeof g, f)) {
            g[0] = '\0';
        }
        fclose(f);
    }
    g[strcspn(g, "\n")] = '\0';
    printf("hello from alpine, %s\n", g);
    return 0;
}
C
    musl-gcc -O2 -o "$1/hello" "$1/.hello.c" &&
        patchelf --replace-needed libc.so libc.musl-x86_64.so.1 "$1/hello" &&
        rm -f "$1/.hello.c" ||
        { echo "Bail out! cannot compile the test program with musl-gcc"; exit 1; }
}
