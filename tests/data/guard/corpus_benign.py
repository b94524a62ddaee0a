"""Benign cases of the guard corpus: everyday commits (refactors, added error
handling, dependency bumps, docs, tests).  None may be blocked; most must
pass without any finding."""
import random

from corpus_lib import BOT, DEV, DEV2, MAINT, case, commit

# ---------------------------------------------------------------------------
# C refactors that keep the logic.

READ_C = """int load_file(const char *path, struct blob *out)
{
    int rc;
    FILE *f = fopen(path, "rb");

    if (!f)
        return -errno;
    rc = blob_read(out, f);
    if (rc < 0) {
        fclose(f);
        return rc;
    }
    fclose(f);
    return 0;
}
"""
case("benign-c-rename-variable", "pass", base={"src/load.c": READ_C},
     commits=[commit(DEV, "load: name the result 'ret' like elsewhere",
                     {"src/load.c": READ_C.replace("int rc;", "int ret;")
                      .replace("rc = blob_read", "ret = blob_read")
                      .replace("if (rc < 0)", "if (ret < 0)")
                      .replace("return rc;", "return ret;")})])

SWAP_C = """static int handle(struct req *r)
{
    int rc = parse_request(r);
    if (rc < 0) {
        return reply_error(r, rc);
    }
    return dispatch(r);
}
"""
case("benign-c-swapped-branches", "pass", base={"src/handle.c": SWAP_C},
     commits=[commit(DEV2, "handle: put the common path first",
                     {"src/handle.c": SWAP_C.replace(
                         "    if (rc < 0) {\n        return reply_error(r, rc);\n    }\n"
                         "    return dispatch(r);\n",
                         "    if (rc >= 0) {\n        return dispatch(r);\n    }\n"
                         "    return reply_error(r, rc);\n")})])

GUARD_C = """void flush_queue(struct queue *q)
{
    if (q->len > 0) {
        write_all(q->fd, q->buf, q->len);
        q->len = 0;
    }
}
"""
case("benign-c-guard-clause", "pass", base={"src/queue.c": GUARD_C},
     commits=[commit(DEV, "queue: early return",
                     {"src/queue.c": GUARD_C.replace(
                         "    if (q->len > 0) {\n        write_all(q->fd, q->buf, q->len);\n"
                         "        q->len = 0;\n    }\n",
                         "    if (q->len <= 0)\n        return;\n"
                         "    write_all(q->fd, q->buf, q->len);\n    q->len = 0;\n")})])

OPEN_C = """int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
    log_fd = fd;
    return 0;
}
"""
case("benign-c-add-error-handling", "pass", base={"src/log.c": OPEN_C},
     commits=[commit(DEV2, "log: report open failures",
                     {"src/log.c": OPEN_C.replace(
                         "    log_fd = fd;\n",
                         "    if (fd < 0) {\n        perror(path);\n        return -1;\n    }\n"
                         "    log_fd = fd;\n")})])

CLEAN_C = """int convert(const char *in, const char *out)
{
    char *buf = malloc(BUFSZ);
    if (!buf)
        return -1;
    if (read_all(in, buf) < 0) {
        free(buf);
        return -1;
    }
    if (write_all(out, buf) < 0) {
        free(buf);
        return -1;
    }
    free(buf);
    return 0;
}
"""
CLEAN_C2 = """int convert(const char *in, const char *out)
{
    int rc = -1;
    char *buf = malloc(BUFSZ);
    if (!buf)
        return -1;
    if (read_all(in, buf) < 0)
        goto out;
    if (write_all(out, buf) < 0)
        goto out;
    rc = 0;
out:
    free(buf);
    return rc;
}
"""
case("benign-c-single-cleanup", "pass", base={"src/convert.c": CLEAN_C},
     commits=[commit(DEV, "convert: one cleanup path", {"src/convert.c": CLEAN_C2})])

NEW_C = """#include "util.h"
"""
NEW_C2 = NEW_C + """
char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        return NULL;
    if (snprintf(p, n, "%s/%s", dir, name) >= (int)n) {
        free(p);
        return NULL;
    }
    return p;
}
"""
case("benign-c-new-function", "pass", base={"src/util.c": NEW_C},
     commits=[commit(DEV2, "util: add join_path()", {"src/util.c": NEW_C2})])

TESTV = """static const struct vec vectors[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
};
"""
case("benign-c-test-vectors", "pass", base={"tests/test_sha256.c": TESTV},
     commits=[commit(DEV, "tests: more SHA-256 vectors",
                     {"tests/test_sha256.c": TESTV.replace(
                         "};\n",
                         "    { \"abc\", \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" },\n"
                         "    { \"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq\",\n"
                         "      \"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1\" },\n};\n")})])

# ---------------------------------------------------------------------------
# Go, Python, JavaScript.

GO_READ = """package store

func (s *Store) Load(path string) ([]byte, error) {
\tf, err := os.Open(path)
\tif err != nil {
\t\treturn nil, err
\t}
\tdata, err := io.ReadAll(f)
\tif err != nil {
\t\tf.Close()
\t\treturn nil, err
\t}
\tf.Close()
\treturn data, nil
}
"""
GO_READ2 = """package store

func (s *Store) Load(path string) ([]byte, error) {
\tf, err := os.Open(path)
\tif err != nil {
\t\treturn nil, fmt.Errorf("open %s: %w", path, err)
\t}
\tdefer f.Close()
\tdata, err := io.ReadAll(f)
\tif err != nil {
\t\treturn nil, fmt.Errorf("read %s: %w", path, err)
\t}
\treturn data, nil
}
"""
case("benign-go-defer-and-wrap", "pass", base={"store/load.go": GO_READ},
     commits=[commit(DEV2, "store: wrap errors, defer Close", {"store/load.go": GO_READ2})])

PY_READ = '''def read_manifest(path):
    f = open(path, encoding="utf-8")
    data = f.read()
    f.close()
    return json.loads(data)
'''
PY_READ2 = '''def read_manifest(path):
    """Return the parsed manifest at path."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)
'''
case("benign-python-with-open", "pass", base={"tool/manifest.py": PY_READ},
     commits=[commit(DEV, "manifest: use a context manager", {"tool/manifest.py": PY_READ2})])

PY_ERR = '''def parse_port(value):
    port = int(value)
    return port
'''
PY_ERR2 = '''def parse_port(value):
    try:
        port = int(value)
    except ValueError as exc:
        log.warning("bad port %r", value)
        raise ConfigError(f"port must be a number: {value}") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"port out of range: {port}")
    return port
'''
case("benign-python-validation", "pass", base={"tool/config.py": PY_ERR},
     commits=[commit(DEV2, "config: validate ports", {"tool/config.py": PY_ERR2})])

JS_PARSE = """export function parseHeader(line) {
  const m = /^([A-Za-z-]+):\\s*(.*)$/.exec(line);
  return m ? { name: m[1], value: m[2] } : null;
}
"""
JS_PARSE2 = JS_PARSE + """
export function decodeBasic(value) {
  const m = /^Basic\\s+(.+)$/.exec(value);
  if (!m) {
    return null;
  }
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), pass: text.slice(i + 1) };
}
"""
case("benign-js-regex-exec-buffer", "pass", base={"lib/headers.js": JS_PARSE},
     commits=[commit(DEV, "headers: decode Basic credentials", {"lib/headers.js": JS_PARSE2})])

JS_LOAD = """async function loadPlugins(dir) {
  const names = await fs.readdir(dir);
  return names.map((n) => require(path.join(dir, n)));
}
"""
JS_LOAD2 = """async function loadPlugins(dir) {
  const names = await fs.readdir(dir);
  const plugins = [];
  for (const n of names) {
    try {
      plugins.push(require(path.join(dir, n)));
    } catch (err) {
      logger.error(`plugin ${n} failed to load`, err);
      throw err;
    }
  }
  return plugins;
}
"""
case("benign-js-error-logged", "pass", base={"lib/plugins.js": JS_LOAD},
     commits=[commit(DEV2, "plugins: name the plugin that failed", {"lib/plugins.js": JS_LOAD2})])

# ---------------------------------------------------------------------------
# Build, CI, release by known maintainers.

CI_YML = """name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v3
      - uses: actions/setup-python@v4
        with:
          python-version: '3.11'
      - run: make check
"""
case("benign-ci-bump-actions", "pass", base={".github/workflows/ci.yml": CI_YML},
     commits=[commit(DEV, "ci: bump actions/checkout to v4",
                     {".github/workflows/ci.yml": CI_YML.replace("checkout@v3", "checkout@v4")
                      .replace("setup-python@v4", "setup-python@v5")},
                     verified=True)])

PUBLISH = """name: publish
on:
  release:
    types: [published]
jobs:
  pypi:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python -m build
"""
case("benign-ci-publish-with-secret", "pass", base={".github/workflows/publish.yml": PUBLISH},
     commits=[commit(DEV2, "publish: upload to PyPI",
                     {".github/workflows/publish.yml": PUBLISH +
                      "      - uses: pypa/gh-action-pypi-publish@release/v1\n"
                      "        with:\n          password: ${{ secrets.PYPI_API_TOKEN }}\n"},
                     verified=True)])

CONF_AC = """AC_INIT([xz], [5.4.5])
AC_CONFIG_MACRO_DIR([m4])
AC_PROG_CC
AC_OUTPUT
"""
case("benign-configure-version-bump", "pass",
     base={"configure.ac": CONF_AC, "NEWS": "5.4.5 (2023-11-01)\n\n  * Bug fixes.\n"},
     commits=[commit(MAINT, "Bump version and soname for 5.4.6.",
                     {"configure.ac": CONF_AC.replace("5.4.5", "5.4.6"),
                      "NEWS": "5.4.6 (2024-01-26)\n\n  * Fixed a bug in the CLMUL CRC code.\n\n"
                              "5.4.5 (2023-11-01)\n\n  * Bug fixes.\n"})])

CMAKE = """cmake_minimum_required(VERSION 3.16)
project(imgtool C)
add_executable(imgtool src/main.c)
enable_testing()
"""
case("benign-cmake-add-test", "pass",
     base={"CMakeLists.txt": CMAKE, "src/main.c": "int main(void) { return 0; }\n"},
     commits=[commit(DEV, "tests: add a smoke test",
                     {"CMakeLists.txt": CMAKE + "add_executable(test_smoke tests/test_smoke.c)\n"
                      "add_test(NAME smoke COMMAND test_smoke)\n",
                      "tests/test_smoke.c": "#include <assert.h>\n\nint main(void)\n{\n"
                                            "    assert(1 + 1 == 2);\n    return 0;\n}\n"})])

BUILD_SH = """#!/bin/sh
set -e
cd $(dirname $0)
for f in src/*.c; do
    cc -c $f -o build/$(basename $f .c).o
done
"""
case("benign-shell-quoting", "pass", base={"build.sh": BUILD_SH},
     commits=[commit(DEV2, "build.sh: quote paths",
                     {"build.sh": BUILD_SH.replace("cd $(dirname $0)", 'cd "$(dirname "$0")"')
                      .replace("cc -c $f -o build/$(basename $f .c).o",
                               'cc -c "$f" -o "build/$(basename "$f" .c).o"')})])

DETECT_SH = """#!/bin/sh
# Verify release signatures when gpg is around.
if command -v gpg >/dev/null 2>&1; then
    gpg --verify "$1.asc" "$1"
fi
"""
case("benign-shell-command-v", "pass", base={"scripts/check-sig.sh": "#!/bin/sh\n"},
     commits=[commit(MAINT, "scripts: add check-sig.sh", {"scripts/check-sig.sh": DETECT_SH})])

MAKEFILE = """all: prog

prog: main.o
\t$(CC) -o $@ $^

clean:
\trm -f prog *.o
"""
case("benign-makefile-install", "pass", base={"Makefile": MAKEFILE},
     commits=[commit(DEV, "Makefile: add install",
                     {"Makefile": MAKEFILE + "\ninstall: prog\n\tinstall -D -m 0755 prog $(DESTDIR)/usr/bin/prog\n"})])

# ---------------------------------------------------------------------------
# Docs, data, dependencies.

README = """# imgtool

Convert images.
"""
case("benign-readme-install-curl-sh", "pass", base={"README.md": README},
     commits=[commit(DEV2, "README: install instructions",
                     {"README.md": README + "\n## Install\n\n    curl -fsSL https://imgtool.example.org/install.sh | sh\n"})])


def png(seed, n):
    rnd = random.Random(seed)
    return b"\x89PNG\r\n\x1a\n" + bytes(rnd.randrange(256) for _ in range(n))


case("benign-test-image-no-build-change", "pass",
     base={"tests/test_decode.c": "int main(void) { return 0; }\n"},
     commits=[commit(DEV, "tests: add a PNG with a tEXt chunk",
                     {"tests/data/text-chunk.png": png(7, 300),
                      "tests/test_decode.c": "/* decodes tests/data/text-chunk.png */\n"
                                             "int main(void) { return 0; }\n"})])

LOCK = """{
  "name": "web",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/ms": {
      "version": "2.1.2",
      "integrity": "sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w=="
    }
  }
}
"""
case("benign-lockfile-bump", "pass", base={"package-lock.json": LOCK},
     commits=[commit(BOT, "Bump ms from 2.1.2 to 2.1.3",
                     {"package-lock.json": LOCK.replace("2.1.2", "2.1.3").replace(
                         "sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w==",
                         "6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==")},
                     verified=True, committer=("GitHub", "noreply@github.com"))])

GOMOD = """module example.org/imgtool

go 1.21

require golang.org/x/image v0.14.0
"""
case("benign-go-mod-bump", "pass", base={"go.mod": GOMOD, "go.sum": "golang.org/x/image v0.14.0 h1:tNgSxAFe3jC4uYqvZdTr84SZoM1KfwdC9SKIFrLjFn4=\n"},
     commits=[commit(BOT, "build(deps): bump golang.org/x/image from 0.14.0 to 0.18.0",
                     {"go.mod": GOMOD.replace("v0.14.0", "v0.18.0"),
                      "go.sum": "golang.org/x/image v0.18.0 h1:jGzIakQa/ZXI1I0Fxvaa9W7yP25TqT6cHIHn+6CqvSQ=\n"},
                     verified=True, committer=("GitHub", "noreply@github.com"))])

case("benign-docs-typo", "pass",
     base={"docs/usage.rst": "Usage\n=====\n\nRun ``imgtool --hepl`` for help.\n"},
     commits=[commit(DEV, "docs: fix a typo",
                     {"docs/usage.rst": "Usage\n=====\n\nRun ``imgtool --help`` for help.\n"})])

PYLOG = '''def main(argv):
    args = parse(argv)
    run(args)
'''
case("benign-python-logging", "pass", base={"tool/cli.py": PYLOG},
     commits=[commit(DEV2, "cli: log the configuration",
                     {"tool/cli.py": PYLOG.replace("    run(args)\n",
                                                   "    log.info(\"config: %s\", args)\n    run(args)\n")})])

# ---------------------------------------------------------------------------
# More everyday changes.

CACHE_PY = '''def drop_cache(path):
    os.unlink(path)
'''
case("benign-python-specific-except", "pass", base={"tool/cache.py": CACHE_PY},
     commits=[commit(DEV, "cache: a missing cache is fine",
                     {"tool/cache.py": '''def drop_cache(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
'''})])

RESET_C = """void parser_reset(struct parser *p)
{
    p->depth = 0;
}
"""
case("benign-c-free-and-null", "pass", base={"src/parser.c": RESET_C},
     commits=[commit(DEV2, "parser: release the token buffer on reset",
                     {"src/parser.c": RESET_C.replace(
                         "    p->depth = 0;\n",
                         "    free(p->tok);\n    p->tok = NULL;\n    p->tok_len = 0;\n    p->depth = 0;\n")})])

MATRIX = """name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ./configure && make check
"""
case("benign-ci-os-matrix", "pass", base={".github/workflows/ci.yml": MATRIX},
     commits=[commit(DEV2, "ci: test on macOS too",
                     {".github/workflows/ci.yml": MATRIX.replace(
                         "    runs-on: ubuntu-latest\n",
                         "    strategy:\n      matrix:\n        os: [ubuntu-latest, macos-latest]\n"
                         "    runs-on: ${{ matrix.os }}\n")},
                     verified=True)])

CLEANUP = """#!/bin/sh
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make DESTDIR="$tmp" install
tar -C "$tmp" -czf dist.tar.gz .
"""
case("benign-shell-cleanup-or-true", "warn", rules=["failure-swallowed"],
     base={"scripts/dist.sh": CLEANUP},
     commits=[commit(DEV, "dist: do not fail when the tree is already gone",
                     {"scripts/dist.sh": CLEANUP.replace("trap 'rm -rf \"$tmp\"' EXIT\n",
                                                          "trap 'rm -rf \"$tmp\" || true' EXIT\n")})])

FETCHJS = """export function refresh(store) {
  return fetch('/api/items').then((r) => r.json()).then((items) => store.set(items));
}
"""
case("benign-js-catch-logged", "pass", base={"web/refresh.js": FETCHJS},
     commits=[commit(DEV2, "refresh: report network errors",
                     {"web/refresh.js": FETCHJS.replace(
                         ".then((items) => store.set(items));\n",
                         ".then((items) => store.set(items))\n    .catch((err) => {\n"
                         "      console.warn('refresh failed', err);\n      store.setError(err);\n    });\n")})])

GOTO_C = """int write_index(struct index *ix, const char *path)
{
    int rc = -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < ix->n; i++) {
        fprintf(f, "%s %s\\n", ix->v[i].name, ix->v[i].digest);
    }
    rc = 0;
    fclose(f);
    return rc;
}
"""
case("benign-c-goto-on-error", "pass", base={"src/index.c": GOTO_C},
     commits=[commit(DEV, "index: stop at the first write error",
                     {"src/index.c": GOTO_C.replace(
                         "        fprintf(f, \"%s %s\\n\", ix->v[i].name, ix->v[i].digest);\n",
                         "        if (fprintf(f, \"%s %s\\n\", ix->v[i].name, ix->v[i].digest) < 0)\n"
                         "            goto out;\n")
                      .replace("    rc = 0;\n    fclose(f);\n", "    rc = 0;\nout:\n    fclose(f);\n")})])

SWITCH_C = """static int weight(enum kind k)
{
    switch (k) {
    case KIND_FILE:
        return 1;
    default:
        return 0;
    }
}
"""
case("benign-c-switch-case", "pass", base={"src/weight.c": SWITCH_C},
     commits=[commit(DEV2, "weight: directories weigh more",
                     {"src/weight.c": SWITCH_C.replace(
                         "    default:\n", "    case KIND_DIR:\n        return 4;\n    default:\n")})])

VEND = """#!/bin/sh
# Print the versions of the vendored libraries.
for d in vendor/*/; do
    echo "$(basename "$d") $(cat "$d/VERSION")"
done
"""
case("benign-shell-new-script", "pass", base={"README": "tools\n"},
     commits=[commit(MAINT, "Add scripts/vendored.sh", {"scripts/vendored.sh": VEND})])
