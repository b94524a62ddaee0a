#!/bin/sh
# Image definitions: [image] keys, and [upstream] / [build] / [test "..."]
# validated against the tracker, builder and suite plugins' tables.
. "${TEMPER_SRCDIR:?}/tests/pipeline/lib.sh"
need_modules

validate "$FIX" good.ini
ok $rc "images using every core key and the plugins' tables validate"

validate "$FIX" images-bad.ini
[ $rc -eq 2 ]; ok $? "broken images: exit 2"
check() { # LINE-ERE DESCRIPTION
    has "$1"; ok $? "$2"
}
check "^images-bad/a.ini:3: \[image\] support_until: '2027-02-29' is not a date" "a date that does not exist"
check '^images-bad/a.ini:4: \[image\] env: expected KEY=VALUE$' "env needs KEY=VALUE"
check "^images-bad/a.ini:5: \[image\] variants: 'debug' is not one of: runtime, dev$" "unknown variant"
check "^images-bad/a.ini:5: \[image\] variants: 'runtime' is listed twice$" "variant listed twice"
check '^images-bad/a.ini:6: \[image\] workdir: must be an absolute path$' "relative workdir"
check "^images-bad/a.ini:7: \[image\] base: no image named 'ghost'" "base names an unknown image"
check '^images-bad/a.ini:10: \[upstream\] tracker: no \[tracker "nosuch"\] section in images-bad.ini$' "unknown tracker"
check "^images-bad/a.ini:14: \[build\] level: '12' is out of range 1\.\.9$" "builder image option out of range"
check '^images-bad/a.ini:15: \[build\] speed: unknown key \(valid keys: builder, arch, compress, level\)$' "unknown builder image key"
check '^images-bad/a.ini:17: \[test "t"\] command: required key is missing$' "suite case option required"
check '^images-bad/a.ini:21: \[test "u"\] suite: no \[suite "nosuch"\] section' "unknown suite"
check "^images-bad/b.ini:2: \[image\] name: image 'dup' is already defined in images-bad/a.ini:1$" "image names are unique"
check "^images-bad/b.ini:3: \[image\] distribution: 'debian' is not NAME:RELEASE" "distribution form"
check '^images-bad/b.ini:5: \[upstream\] repo: required key is missing$' "tracker watch option required"
check "^images-bad/b.ini:7: \[upstream\] mode: 'weekly' is not one of: releases, tags$" "tracker watch enum"
check '^images-bad/c.ini: no \[image\] section$' "a file without [image]"
check '^images-bad/c.ini:1: unknown section in an image definition' "unknown image section"
check "^images-bad/d.ini:3: \[image\] base: a cycle of bases: x1 -> x2 -> x1$" "a cycle of bases, named"
check "^images-bad/e.ini:5: plugin tracker_conftestbadwatch has a bad watch option table: option 'repo' is declared twice$" "a tracker's broken watch table is refused"
[ "$(wc -l <"$TMP/err")" -eq 20 ]; ok $? "twenty problems, nothing else"
LC_ALL=C sort -t: -k1,1 -k2,2n -s "$TMP/err" | cmp -s - "$TMP/err"; ok $? "sorted by file and line"

# several builders: [build] must say which
cat >"$TMP/two.ini" <<'INI'
[core]
store = conftest:x.db
images = img/*.ini
[pipeline]
stages = builder.a, builder.b
[builder "a"]
plugin = conftest
[builder "b"]
plugin = conftest
INI
mkdir "$TMP/img"
printf '[image]\nname = one\n[build]\nlevel = 3\n' >"$TMP/img/one.ini"
printf '[image]\nname = two\n[build]\nbuilder = b\nlevel = 30\n' >"$TMP/img/two.ini"
validate "$TMP" two.ini
has '^img/one.ini:3: \[build\] builder: the pipeline has 2 builder stages; name the one'
ok $? "with two builders [build] must name one"
has "^img/two.ini:5: \[build\] level: '30' is out of range 1\.\.9$"
ok $? "the named builder's table is used"

# no builder: [build] keys cannot be checked
printf '[core]\nstore = conftest:x.db\nimages = img/one.ini\n' >"$TMP/none.ini"
validate "$TMP" none.ini
has '^img/one.ini:3: \[build\]: the pipeline has no builder stage'
ok $? "[build] without a builder stage"

printf '[core]\nstore = conftest:x.db\nimages = nothing/*.ini\n' >"$TMP/empty.ini"
validate "$TMP" empty.ini
[ $rc -eq 0 ] && has "^empty.ini:3: warning: \[core\] images: 'nothing/\*.ini' matches no file$"
ok $? "an images glob that matches nothing is a warning"

never_called; ok $? "no plugin code ran"
done_testing
