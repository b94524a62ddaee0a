#!/bin/sh
# Includes: a team pipeline includes a shared one and overrides its keys;
# globs; duplicates within one file; cycles; depth; misplaced includes.
. "${TEMPER_SRCDIR:?}/tests/pipeline/lib.sh"
need_modules

validate "$FIX" team.ini
ok $rc "a team pipeline that includes a shared one validates"
grep -q '^team.ini: ok: store conftest, chain \[guard.check builder.main suite.smoke\]' "$TMP/out"
ok $? "its [pipeline] stages override the shared ones; conf.d/*.ini sections are there"
! has 'count'; ok $? "the shared count = 99 (out of range) is overridden, not a duplicate"

validate "$FIX" shared.ini
[ $rc -eq 2 ] && has '^shared.ini:11: \[guard "check"\] count: .99. is out of range 1\.\.10$'
ok $? "the shared file alone has the bad value (so the override above was real)"

validate "$FIX" team-dup.ini
[ $rc -eq 2 ] && has '^team-dup.ini:5: \[guard "check"\] count: duplicate key \(first set at line 4\)$'
ok $? "a key repeated within one file is a duplicate even when it overrides an include"

validate "$FIX" cycle-a.ini
[ $rc -eq 2 ] && has '^cycle-b.ini:2: include cycle: cycle-a.ini -> cycle-b.ini -> cycle-a.ini$'
ok $? "an include cycle is reported at the include that closes it"

printf 'include = self.ini\n[core]\nstore = conftest:x.db\n' >"$TMP/self.ini"
validate "$TMP" self.ini
[ $rc -eq 2 ] && has '^self.ini:1: include cycle: self.ini -> self.ini$'
ok $? "a file including itself"

# a chain of 18 files: deeper than 16 includes
i=0
while [ $i -lt 18 ]; do
    printf 'include = d%d.ini\n' $((i + 1)) >"$TMP/d$i.ini"
    i=$((i + 1))
done
printf '[core]\nstore = conftest:x.db\n' >"$TMP/d18.ini"
printf 'include = d1.ini\n[core]\nstore = conftest:x.db\n' >"$TMP/d0.ini"
validate "$TMP" d0.ini
[ $rc -eq 2 ] && has '^d16.ini:1: include: nested deeper than 16 levels$'
ok $? "includes nested deeper than 16 levels"
[ "$(wc -l <"$TMP/err")" -eq 1 ]; ok $? "one line for it"

validate "$FIX" late-include.ini
[ $rc -eq 2 ] && has "^late-include.ini:3: \[core\] include: unknown key .*; an include must come before the first section$"
ok $? "an include after a section is a key of that section, with a hint"

validate "$FIX" missing-include.ini
[ $rc -eq 2 ] && has '^missing-include.ini:1: include: does-not-exist.ini: cannot open: No such file or directory$'
ok $? "a missing include is reported at its line"

mkdir "$TMP/sub"
printf 'include = sub/inner.ini\n[core]\nstore = conftest:x.db\n' >"$TMP/outer.ini"
printf 'include = leaf.ini\n' >"$TMP/sub/inner.ini"
printf '[guard "g"]\nplugin = conftest\ntarget = t\ncount = 0\n' >"$TMP/sub/leaf.ini"
validate "$TMP" outer.ini
has '^sub/leaf.ini:4: \[guard "g"\] count: .0. is out of range 1\.\.10$'
ok $? "include paths are relative to the including file"

printf '[core]\nstore = conftest:x.db\n[pipeline]\nstages = guard.g\n[guard "g"]\nplugin = conftest\ntarget = t\nextra = a\nextra = b\nlevel = low\n' >"$TMP/m1.ini"
printf 'include = m1.ini\n[guard "g"]\nextra = c\nlevel = high\nlevel = low\n' >"$TMP/m2.ini"
validate "$TMP" m2.ini
[ $rc -eq 2 ] && has '^m2.ini:5: \[guard "g"\] level: duplicate key \(first set at line 4\)$' &&
    ! has 'extra'
ok $? "a repeatable key may repeat; others may not"

printf 'include = ${CONFTEST_INC:-nothere}.ini\n[core]\nstore = conftest:x.db\n' >"$TMP/envinc.ini"
printf '[guard "g"]\nplugin = conftest\ntarget = t\ncount = 77\n' >"$TMP/picked.ini"
CONFTEST_INC=picked validate "$TMP" envinc.ini
has "^picked.ini:4: \[guard \"g\"\] count: .77. is out of range"
ok $? "\${VAR} expands in include paths"

never_called; ok $? "no plugin code ran"
done_testing
