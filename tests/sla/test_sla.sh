#!/bin/sh
# temper sla and temper status --html through the real binary, over a store
# filled by real pipeline runs (tests/sla/sla_seed: the engine with the real
# attest_openvex and store_sqlite plugins and a publish stage) at pinned
# times (TEMPER_NOW, Unix seconds).  The OSV records are hand-made (the
# shared samples hold no OSV data): a critical zlib issue fixed after 3
# days, a high openssl issue (severity from its CVSS v3 vector) fixed after
# 9 days against a 7-day window, a low tar issue whose fix appears in the
# feed later, and an image (web) that is never fixed; the base image's glibc
# issue comes from the Debian security tracker sample (urgency high).
: "${TEMPER_BIN:?}" "${TEMPER_PLUGINS:?}" "${TEMPER_BUILDDIR:?}" "${TEMPER_SRCDIR:?}" "${TEMPER_DATA:?}"
. "$TEMPER_SRCDIR/tests/lib/tap.sh"
export TEMPER_NO_INSTALLED_PLUGINS=1
PY=${PYTHON3:-python3}
seed_bin="$TEMPER_BUILDDIR/tests/sla/sla_seed"
engine="$TEMPER_BUILDDIR/tests/engine"
[ -e "$engine/publish_enginetest.la" ] || tap_skip_all "no shared test modules (static build)"
command -v "$PY" >/dev/null || tap_skip_all "python3 missing"

tmp=$(mktemp -d /tmp/temper-sla-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/images" "$tmp/osv"
T0=1735689600            # 2025-01-01T00:00:00Z
DAY=86400
at() { echo $((T0 + $1 * DAY)); }

cat > "$tmp/p.ini" <<INI
[core]
store = sqlite:$tmp/state.db
workdir = $tmp/work
cache_dir = $tmp/cache
images = images/*.ini

[pipeline]
stages = attest.vex, publish.local

[attest "vex"]
plugin = openvex
osv = $tmp/osv
debian_tracker = $TEMPER_DATA/attest/debian-tracker.json

[publish "local"]
plugin = enginetest
out = $tmp/published.txt
INI
for i in base app web; do
    printf '[image]\nname = %s\ndistribution = debian:bookworm\n' "$i" > "$tmp/images/$i.ini"
    [ "$i" = base ] || printf 'base = image:base\n' >> "$tmp/images/$i.ini"
done

osv() { # id package fixed-or-empty severity-json extra-json
    fix=""
    [ -n "$3" ] && fix=",{\"fixed\":\"$3\"}"
    cat > "$tmp/osv/$1.json" <<JSON
{"schema_version":"1.6.0","id":"$1","modified":"2024-06-02T00:00:00Z",$4 $5
 "affected":[{"package":{"ecosystem":"Debian:12","name":"$2"},
   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}$fix]}]}]}
JSON
}
osv CVE-2024-1000 zlib 1:1.2.13.dfsg-2 '"database_specific":{"severity":"CRITICAL"},' \
    '"published":"2024-06-01T00:00:00Z","summary":"<script>alert(1)</script> & heap overflow",'
osv DSA-9999-1 openssl 3.0.13-1~deb12u1 \
    '"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],' \
    '"aliases":["CVE-2024-2000"],'
osv CVE-2024-3000 tar "" '"database_specific":{"severity":"LOW"},' ''
# severities from CVSS v3 vectors: scope changed 10.0, and local 5.3
osv CVE-2024-4000 curl 8.5.0-2 \
    '"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],' ''
osv CVE-2024-5000 bash 5.2.15-2+b3 \
    '"severity":[{"type":"CVSS_V3","score":"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L"}],' ''

seed() { # day image packages...
    d=$1; shift
    TEMPER_NOW=$(at "$d") "$seed_bin" "$tmp/p.ini" "$@" > "$tmp/seed.out" 2>&1
}
temper() { # day args...
    d=$1; shift
    TEMPER_NOW=$(at "$d") "$TEMPER_BIN" --plugin-dir "$TEMPER_PLUGINS" --plugin-dir "$engine" "$@"
}
# jcheck FILE PYTHON-EXPRESSION (over j = the JSON document, it(v) = item of vuln v)
jcheck() {
    "$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
def it(v, image='app'):
    m = [x for x in j['items'] if x['vulnerability'] == v and x['image'] == image]
    return m[0] if len(m) == 1 else {}
sys.exit(0 if ($2) else 1)" "$1" || { tap_diag "failed: $2"; sed 's/^/# /' "$1" | head -80; return 1; }
}

OLD="zlib=1:1.2.13.dfsg-1 openssl=3.0.11-1~deb12u2 tar=1.34+dfsg-1.2"
seed 0 app $OLD; tap_check "day 0: app runs through attest and publish" test $? -eq 0
seed 0 web $OLD curl=8.5.0-1 bash=5.2.15-2+b2; tap_check "day 0: web too" test $? -eq 0
seed 0 base glibc=2.36-9+deb12u4; tap_check "day 0: base too" test $? -eq 0
[ -s "$tmp/published.txt" ]; tap_check "the publish stage ran" test $? -eq 0

# the tar fix appears in the feed before the day-3 run, which fixes zlib only
osv CVE-2024-3000 tar 1.34+dfsg-1.3 '"database_specific":{"severity":"LOW"},' ''
seed 3 app zlib=1:1.2.13.dfsg-2 openssl=3.0.11-1~deb12u2 tar=1.34+dfsg-1.2
tap_check "day 3: app rebuilt with the zlib fix" test $? -eq 0

temper 5 sla -c "$tmp/p.ini" --image app --json > "$tmp/d5.json"
tap_check "day 5: no breach yet, exit 0" test $? -eq 0
tap_check "three items for app" jcheck "$tmp/d5.json" "len(j['items']) == 3 and j['summary']['items'] == 3"
tap_check "zlib: critical, known from the OSV published date, fix seen on day 0" \
    jcheck "$tmp/d5.json" "it('CVE-2024-1000')['severity'] == 'critical' and it('CVE-2024-1000')['known'] == '2024-06-01T00:00:00Z' and it('CVE-2024-1000')['fix_available'] == '2025-01-01T00:00:00Z'"
tap_check "zlib: closed by the day-3 publication of 1:1.2.13.dfsg-2 (dpkg order)" \
    jcheck "$tmp/d5.json" "it('CVE-2024-1000')['state'] == 'closed' and it('CVE-2024-1000')['fixed_image_published'] == '2025-01-04T00:00:00Z' and it('CVE-2024-1000')['fixed_by_version'] == '1:1.2.13.dfsg-2' and it('CVE-2024-1000')['breach'] is False"
tap_check "the OSV summary is carried (as data)" \
    jcheck "$tmp/d5.json" "it('CVE-2024-1000')['summary'].startswith('<script>')"
tap_check "openssl: named by its CVE alias, high from the CVSS vector, open, deadline day 7" \
    jcheck "$tmp/d5.json" "it('CVE-2024-2000')['severity'] == 'high' and it('CVE-2024-2000')['state'] == 'open' and it('CVE-2024-2000')['deadline'] == '2025-01-08T00:00:00Z' and it('CVE-2024-2000')['known'] == '2025-01-01T00:00:00Z' and it('CVE-2024-2000')['window_seconds'] == 604800"
tap_check "tar: low (no window by default), fix first seen on day 3" \
    jcheck "$tmp/d5.json" "it('CVE-2024-3000')['severity'] == 'low' and it('CVE-2024-3000')['fix_available'] == '2025-01-04T00:00:00Z' and it('CVE-2024-3000')['deadline'] is None and it('CVE-2024-3000')['fixed_version'] == '1.34+dfsg-1.3'"
tap_check "windows default to 7 days for critical and high, none otherwise" \
    jcheck "$tmp/d5.json" "j['windows'] == {'critical': 604800, 'high': 604800, 'medium': None, 'low': None}"

temper 8 sla -c "$tmp/p.ini" --image app > "$tmp/d8.txt"
tap_check "day 8: openssl still open past its deadline, exit 3" test $? -eq 3
grep -q '^app .*CVE-2024-2000 .*openssl .*high .*open .*2025-01-08T00:00:00Z BREACH$' "$tmp/d8.txt"
tap_check "the text report marks the breach" test $? -eq 0
grep -q '^3 item(s): 2 open, 1 closed, 1 breach(es)$' "$tmp/d8.txt"
tap_check "and sums it up" test $? -eq 0

seed 9 app zlib=1:1.2.13.dfsg-2 openssl=3.0.13-1~deb12u1 tar=1.34+dfsg-1.3
tap_check "day 9: app rebuilt with the openssl and tar fixes" test $? -eq 0
temper 10 sla -c "$tmp/p.ini" --image app --json > "$tmp/d10.json"
tap_check "day 10: the late openssl fix stays a breach, exit 3" test $? -eq 3
tap_check "openssl closed 2 days late" \
    jcheck "$tmp/d10.json" "it('CVE-2024-2000')['state'] == 'closed' and it('CVE-2024-2000')['breach'] is True and it('CVE-2024-2000')['late_seconds'] == 2 * 86400 and [b['vulnerability'] for b in j['breaches']] == ['CVE-2024-2000']"
tap_check "every item of app is closed" \
    jcheck "$tmp/d10.json" "j['summary'] == {'items': 3, 'open': 0, 'closed': 3, 'breaches': 1}"
temper 10 sla -c "$tmp/p.ini" --json > "$tmp/all.json"
tap_check "all images: exit 3" test $? -eq 3
tap_check "web's unfixed critical and high items are open breaches" \
    jcheck "$tmp/all.json" "it('CVE-2024-1000', 'web')['breach'] and it('CVE-2024-2000', 'web')['state'] == 'open' and it('CVE-2024-4000', 'web')['breach'] and j['summary']['breaches'] == 5"
tap_check "CVSS v3: 10.0 (scope changed) is critical, 5.3 is medium (no window: no breach)" \
    jcheck "$tmp/all.json" "it('CVE-2024-4000', 'web')['severity'] == 'critical' and it('CVE-2024-5000', 'web')['severity'] == 'medium' and it('CVE-2024-5000', 'web')['breach'] is False"
tap_check "Debian tracker: urgency high, fixed_version of bookworm, an open breach on base" \
    jcheck "$tmp/all.json" "it('CVE-2023-1002', 'base')['severity'] == 'high' and it('CVE-2023-1002', 'base')['fixed_version'] == '2.36-9+deb12u7' and it('CVE-2023-1002', 'base')['breach'] and not it('CVE-2023-0002', 'base')"
tap_check "Debian tracker: an open issue without a fix has no clock" \
    jcheck "$tmp/all.json" "it('CVE-2023-1004', 'web')['severity'] == 'low' and it('CVE-2023-1004', 'web')['fix_available'] is None and it('CVE-2023-1004', 'web')['state'] == 'open'"
temper 10 sla -c "$tmp/p.ini" --image nope > /dev/null 2>&1
tap_check "an unknown --image is a usage error (exit 2)" test $? -eq 2

# a 30-day window: the same history holds no breach
sed 's/^\[core\]$/[sla]\ncritical = 30d\nhigh = 30d\n\n[core]/' "$tmp/p.ini" > "$tmp/p30.ini"
temper 10 sla -c "$tmp/p30.ini" > "$tmp/p30.txt"
tap_check "with [sla] critical = high = 30d: no breach, exit 0" test $? -eq 0
printf '[sla]\ncritical = soon\nmedium = 3d\n' > "$tmp/bad.ini"
cat "$tmp/p.ini" >> "$tmp/bad.ini"
temper 10 validate -c "$tmp/bad.ini" > /dev/null 2> "$tmp/bad.err"
tap_check "a bad [sla] window is a config error (exit 2)" test $? -eq 2
grep -q "bad.ini:2: \[sla\] critical" "$tmp/bad.err"
tap_check "named as FILE:LINE: [sla] critical" test $? -eq 0

# the status page; a review item with hostile text (as a guard would open it)
if command -v sqlite3 >/dev/null; then
    sqlite3 "$tmp/state.db" "insert into reviews (job_id, image, version, summary, findings, state, created_at) values (0, 'app', '2.0\"><b>', 'guard blocked <img src=x onerror=alert(1)>', '[]', 1, $(at 9)000)"
fi
temper 10 status -c "$tmp/p.ini" --html "$tmp/out/status.html" 2>/dev/null
tap_check "status into a missing directory fails (exit 1)" test $? -eq 1
mkdir "$tmp/out"
temper 10 status -c "$tmp/p.ini" --html "$tmp/out/status.html"
tap_check "status --html exits 0" test $? -eq 0
[ "$(ls "$tmp/out")" = status.html ]
tap_check "only the page is left (the temporary file was renamed)" test $? -eq 0
html() { "$PY" "$TEMPER_SRCDIR/tests/sla/check_html.py" "$tmp/out/status.html" "$@"; }
tap_check "the page is well-formed HTML" html wellformed
tap_check "self-contained: no script, no external resource" html selfcontained
tap_check "the hostile OSV summary is escaped" html escaped "<script>alert(1)</script> & heap overflow"
if command -v sqlite3 >/dev/null; then
    tap_check "a hostile review summary is escaped" html escaped "guard blocked <img src=x onerror=alert(1)>"
    tap_check "and so is a hostile version" html escaped '2.0"><b>'
else
    tap_skip "hostile review text" "sqlite3 missing"
    tap_skip "hostile version" "sqlite3 missing"
fi
tap_check "the SLA table highlights the 5 breaches" html breaches 5
tap_check "the image graph nests app and web under base" html graph
tap_check "images, graph, runs, reviews and SLA sections" html sections
grep -q "<td>app</td><td>debian:bookworm</td><td>-</td><td class=\"t\">2025-01-10T00:00:00Z</td><td><code>sha256:[0-9a-f]\{64\}</code>" "$tmp/out/status.html" && grep -q "attest.vex" "$tmp/out/status.html"
tap_check "images list the last build and its digest; runs list their stages" test $? -eq 0
tap_done
