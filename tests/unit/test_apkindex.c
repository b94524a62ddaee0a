/* temper — Alpine: the real v3.17 APKINDEX, the apko RSA-SHA256 signed index
 * (verifies with its key; any flipped byte does not), a SHA-1 signed index
 * made here with a fresh key, a real .apk's control part, the plain apk-tools
 * test repository, and hostile tarballs (traversal, links, bad signatures). */
#include "config.h"
#include <temper/pkgindex.h>
#include "tests/unit/pkgindex_tests.h"

#include <archive.h>
#include <archive_entry.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPINE_KEY "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"

static const char *sample(const char *name)
{
    return pt_path("samples/alpine", name);
}

/* ---- building test tarballs ---------------------------------------------------- */

struct blob {
    unsigned char *p;
    size_t n;
};

static void blob_add(struct blob *b, const void *p, size_t n)
{
    unsigned char *np = realloc(b->p, b->n + n + 1);
    if (np) {
        memcpy(np + b->n, p, n);
        b->p = np;
        b->n += n;
    }
}

/* One gzip member holding `len` bytes. */
static struct blob gz(const void *data, size_t len)
{
    struct blob out = { malloc(len + 4096), 0 };
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_raw(a);
    archive_write_open_memory(a, out.p, len + 4096, &out.n);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_write_header(a, e);
    archive_write_data(a, data, len);
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    return out;
}

/* A ustar header and padded data, no end-of-archive blocks (abuild-sign). */
static struct blob sig_tar(const char *name, const void *data, size_t len)
{
    struct blob t = { calloc(1, 512 + ((len + 511) & ~(size_t)511)), 0 };
    unsigned char *h = t.p;
    size_t nl = strlen(name);
    memcpy(h, name, nl < 100 ? nl : 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)len);
    memcpy(h + 136, "00000000000", 12);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) {
        sum += h[i];
    }
    snprintf((char *)h + 148, 8, "%06o", sum);
    memcpy(h + 512, data, len);
    t.n = 512 + ((len + 511) & ~(size_t)511);
    return t;
}

struct entry {
    const char *name;
    const char *text;      /* NULL: a symlink to "APKINDEX" */
};

/* A complete gzip'd tar of `n` entries (apk index). */
static struct blob index_tgz(const struct entry *ents, size_t n)
{
    struct blob out = { malloc(1 << 20), 0 };
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_ustar(a);
    archive_write_open_memory(a, out.p, 1 << 20, &out.n);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_perm(e, 0644);
        if (ents[i].text) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)strlen(ents[i].text));
        } else {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, "APKINDEX");
        }
        archive_write_header(a, e);
        if (ents[i].text) {
            archive_write_data(a, ents[i].text, strlen(ents[i].text));
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

/* ---- tests ------------------------------------------------------------------------ */

static const struct temper_apkprov *provider(const struct temper_apkindex *idx,
                                             const char *name, const char *pkg)
{
    for (const struct temper_apkprov *p = temper_apkindex_providers(idx, name); p;
         p = p->next) {
        if (strcmp(p->pkg->name, pkg) == 0) {
            return p;
        }
    }
    return NULL;
}

static void test_alpine317(void)
{
    TEST("real Alpine 3.17 APKINDEX") {
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load(st, sample("apko_alpine-317_APKINDEX.tar.gz"), NULL,
                                          &idx), TEMPER_OK);
        CHECK(idx != NULL);
        if (!idx) {
            break;
        }
        const struct temper_apksig *sig = temper_apkindex_signature(idx);
        CHECK_INT_EQ(sig->type, TEMPER_APKSIG_RSA_SHA1);
        CHECK_STR_EQ(sig->key_name, ALPINE_KEY);
        CHECK_INT_EQ(sig->sig_len, 512);
        CHECK_INT_EQ(sig->signed_len, 661049 - 666);
        CHECK(sig->signed_data && sig->signed_data[0] == 0x1f && sig->signed_data[1] == 0x8b);
        CHECK_STR_CONTAINS(temper_apkindex_description(idx), "v3.17");
        size_t n = temper_apkindex_count(idx);
        CHECK(n > 5000);
        const struct temper_apkpkg *p = temper_apkindex_find(idx, "musl");
        CHECK(p && strcmp(p->arch, "aarch64") == 0 && strcmp(p->origin, "musl") == 0);
        CHECK(p && strncmp(p->checksum, "Q1", 2) == 0 && strlen(p->checksum) == 30);
        CHECK(p && p->size > 0 && p->installed_size > 0 && p->build_time > 1600000000LL);
        CHECK(p && p->license && p->maintainer && p->commit && p->url && p->description);
        CHECK(provider(idx, "so:libc.musl-aarch64.so.1", "musl") != NULL);
        const struct temper_apkprov *pv = provider(idx, "cmd:sh", "busybox-binsh");
        CHECK(pv && pv->version && strncmp(pv->version, "1.", 2) == 0);
        CHECK(temper_apkindex_find(idx, "no-such-package") == NULL);
        CHECK(temper_apkindex_at(idx, n) == NULL);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            const struct temper_apkpkg *q = temper_apkindex_at(idx, i);
            struct temper_deps *d = NULL;
            if (q->depends) {
                bad += temper_apk_deps_parse(st, q->depends, &d) != TEMPER_OK;
                temper_deps_free(d);
            }
        }
        CHECK_INT_EQ(bad, 0);
        /* the Alpine key is not among the samples: the apko test key must fail */
        size_t kl = 0;
        unsigned char *key = pt_slurp(sample("apko_rsa256-signed_test-rsa256.rsa.pub"), &kl);
        key[kl] = '\0';
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, (char *)key), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(last_error(), ALPINE_KEY " does not verify");
        free(key);
        temper_apkindex_free(idx);
    }
}

/* The apko RSA-SHA256 fixture and its key, read once. */
static unsigned char *rsa_key, *rsa_raw;
static size_t rsa_len;

static void test_rsa256_verifies(void)
{
    TEST("RSA-SHA256 signed index verifies") {
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "rsa256", rsa_raw, rsa_len, NULL, &idx),
                     TEMPER_OK);
        const struct temper_apksig *sig = temper_apkindex_signature(idx);
        CHECK(sig && sig->type == TEMPER_APKSIG_RSA_SHA256);
        CHECK(sig && strcmp(sig->key_name, "test-rsa256.rsa.pub") == 0);
        CHECK(sig && sig->signed_len == rsa_len - 638);
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, (char *)rsa_key), TEMPER_OK);
        CHECK_INT_EQ(temper_apkindex_count(idx), 1);
        const struct temper_apkpkg *p = temper_apkindex_find(idx, "alpine-baselayout");
        CHECK(p && strcmp(p->version, "3.2.0-r23") == 0 && p->size == 11012);
        CHECK(p && strcmp(p->checksum, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=") == 0);
        CHECK(p && strcmp(p->depends, "alpine-baselayout-data=3.2.0-r23 /bin/sh "
                                      "so:libc.musl-aarch64.so.1") == 0);
        CHECK(provider(idx, "cmd:mkmntdirs", "alpine-baselayout") != NULL);
        CHECK(temper_apkindex_description(idx) && !*temper_apkindex_description(idx));
        /* every byte of the signed data matters */
        struct temper_apksig copy = *sig;
        unsigned char *flip = malloc(sig->signed_len);
        size_t fails = 0;
        for (size_t i = 0; flip && i < sig->signed_len; i += 37) {
            memcpy(flip, sig->signed_data, sig->signed_len);
            flip[i] ^= 0x01;
            copy.signed_data = flip;
            fails += temper_apksig_verify(st, &copy, (char *)rsa_key) == TEMPER_ECRYPTO;
            temper_stage_reset(st);
        }
        CHECK_INT_EQ(fails, (sig->signed_len + 36) / 37);
        free(flip);
        temper_apkindex_free(idx);
    }
}

static void test_rsa256_flipped(void)
{
    TEST("a flipped byte in the file does not verify") {
        /* the gzip MTIME of member 2 (the index still loads) and the signature */
        static const size_t at[] = { 638 + 5, 200 };
        for (size_t i = 0; i < 2; i++) {
            unsigned char *bad = malloc(rsa_len);
            memcpy(bad, rsa_raw, rsa_len);
            bad[at[i]] ^= 0x20;
            struct temper_apkindex *idx = NULL;
            int rc = temper_apkindex_load_mem(st, "flipped", bad, rsa_len, NULL, &idx);
            if (rc == TEMPER_OK) {
                CHECK_INT_EQ(temper_apkindex_verify(st, idx, (char *)rsa_key), TEMPER_ECRYPTO);
                CHECK_STR_CONTAINS(last_error(), "does not verify");
            } else {
                CHECK(rc < 0); /* a damaged signature member is refused outright */
                last_error();
            }
            temper_apkindex_free(idx);
            free(bad);
        }
    }
}

static void test_rsa256_misc(void)
{
    TEST("unusable keys") {
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "rsa256", rsa_raw, rsa_len, NULL, &idx),
                     TEMPER_OK);
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                                     "-----END PUBLIC KEY-----\n"),
                     TEMPER_EINVAL);
        CHECK_STR_CONTAINS(last_error(), "cannot read the public key");
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, ""), TEMPER_EINVAL);
        last_error();
        CHECK_INT_EQ(temper_apkindex_verify(st, NULL, (char *)rsa_key), TEMPER_EINVAL);
        last_error();
        temper_apkindex_free(idx);
    }
    TEST("unsigned index") {
        /* member 2 alone is a complete unsigned APKINDEX.tar.gz */
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "unsigned", rsa_raw + 638, rsa_len - 638,
                                              NULL, &idx), TEMPER_OK);
        CHECK(idx && temper_apkindex_signature(idx)->type == TEMPER_APKSIG_NONE);
        CHECK_INT_EQ(temper_apkindex_count(idx), 1);
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, (char *)rsa_key), TEMPER_ECRYPTO);
        CHECK_STR_CONTAINS(last_error(), "not signed");
        temper_apkindex_free(idx);
    }
    TEST("truncated index") {
        struct temper_apkindex *idx = NULL;
        CHECK(temper_apkindex_load_mem(st, "cut", rsa_raw, rsa_len - 100, NULL, &idx) < 0);
        CHECK_STR_CONTAINS(last_error(), "cut");
        CHECK(idx == NULL);
    }
}

static void test_rsa256(void)
{
    size_t kl = 0;
    rsa_key = pt_slurp(sample("apko_rsa256-signed_test-rsa256.rsa.pub"), &kl);
    rsa_raw = pt_slurp(sample("apko_rsa256-signed_APKINDEX.tar.gz"), &rsa_len);
    if (rsa_key) {
        rsa_key[kl] = '\0';
    }
    test_rsa256_verifies();
    test_rsa256_flipped();
    test_rsa256_misc();
    free(rsa_key);
    free(rsa_raw);
}

/* Sign `data` with a fresh RSA key the way abuild-sign does (SHA-1). */
static struct blob sha1_signed(gnutls_privkey_t pk, const char *keyname, const struct blob *data)
{
    gnutls_datum_t d = { data->p, (unsigned)data->n }, s = { NULL, 0 };
    gnutls_privkey_sign_data(pk, GNUTLS_DIG_SHA1, 0, &d, &s);
    char name[128];
    snprintf(name, sizeof name, ".SIGN.RSA.%s", keyname);
    struct blob t = sig_tar(name, s.data, s.size);
    struct blob out = gz(t.p, t.n);
    blob_add(&out, data->p, data->n);
    gnutls_free(s.data);
    free(t.p);
    return out;
}

static void test_sha1(void)
{
    gnutls_privkey_t pk = NULL;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t pem = { NULL, 0 };
    int ok = gnutls_privkey_init(&pk) >= 0 &&
             gnutls_privkey_generate(pk, GNUTLS_PK_RSA, 2048, 0) >= 0 &&
             gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import_privkey(pub, pk, 0, 0) >= 0 &&
             gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem) >= 0;
    char *key = ok ? calloc(1, pem.size + 1) : NULL;
    if (key) {
        memcpy(key, pem.data, pem.size);
    }
    size_t len = 0;
    unsigned char *raw = pt_slurp(sample("apko_rsa256-signed_APKINDEX.tar.gz"), &len);
    struct blob body = { raw + 638, len - 638 };
    TEST("RSA-SHA1 signed index (abuild-sign layout, fresh key)") {
        CHECK(ok && key);
        if (!key) {
            break;
        }
        struct blob file = sha1_signed(pk, "me@example.org-1234.rsa.pub", &body);
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "sha1", file.p, file.n, NULL, &idx),
                     TEMPER_OK);
        const struct temper_apksig *sig = temper_apkindex_signature(idx);
        CHECK(sig && sig->type == TEMPER_APKSIG_RSA_SHA1 && sig->sig_len == 256);
        CHECK(sig && strcmp(sig->key_name, "me@example.org-1234.rsa.pub") == 0);
        CHECK(sig && sig->signed_len == body.n);
        CHECK_INT_EQ(temper_apkindex_verify(st, idx, key), TEMPER_OK);
        temper_apkindex_free(idx);
        file.p[file.n - 20] ^= 0x04; /* inside the gzip trailer of the index member */
        idx = NULL;
        int rc = temper_apkindex_load_mem(st, "sha1-flipped", file.p, file.n, NULL, &idx);
        CHECK(rc != TEMPER_OK || temper_apkindex_verify(st, idx, key) == TEMPER_ECRYPTO);
        last_error();
        temper_apkindex_free(idx);
        free(file.p);

        struct blob evil = sha1_signed(pk, "../../etc/evil.rsa.pub", &body);
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "evilkey", evil.p, evil.n, NULL, &idx),
                     TEMPER_EFORMAT);
        CHECK_STR_CONTAINS(last_error(), "bad signing key name");
        free(evil.p);
    }
    free(raw);
    free(key);
    gnutls_free(pem.data);
    gnutls_pubkey_deinit(pub);
    gnutls_privkey_deinit(pk);
}

static void tarball_bad(const char *what, const struct entry *ents, size_t n,
                        const char *phrase)
{
    struct blob t = index_tgz(ents, n);
    TEST(what) {
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "APKINDEX.tar.gz", t.p, t.n, NULL, &idx),
                     TEMPER_EFORMAT);
        CHECK(idx == NULL);
        CHECK_STR_CONTAINS(last_error(), phrase);
    }
    free(t.p);
}

static void test_tarballs(void)
{
    static const char good[] = "C:Q1abc=\nP:a\nV:1-r0\nA:x86_64\nc:deadbeef\n\n";
    const struct entry ok[] = { { "DESCRIPTION", "test repo\n" }, { "APKINDEX", good },
                                { "extra.txt", "ignored" } };
    TEST("a made-up unsigned tarball") {
        struct blob t = index_tgz(ok, 3);
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "ok", t.p, t.n, NULL, &idx), TEMPER_OK);
        CHECK_STR_EQ(temper_apkindex_description(idx), "test repo");
        const struct temper_apkpkg *p = temper_apkindex_find(idx, "a");
        CHECK(p && strcmp(p->checksum, "Q1abc=") == 0 && strcmp(p->commit, "deadbeef") == 0);
        temper_apkindex_free(idx);
        free(t.p);
    }
    const struct entry trav[] = { { "../APKINDEX", good } };
    tarball_bad("path traversal in the index tarball", trav, 1,
                "unsafe path \"../APKINDEX\" in the index tarball");
    const struct entry abs[] = { { "/APKINDEX", good } };
    tarball_bad("absolute path in the index tarball", abs, 1, "unsafe path");
    const struct entry deep[] = { { "x/../../APKINDEX", good } };
    tarball_bad("nested traversal in the index tarball", deep, 1, "unsafe path");
    const struct entry link[] = { { "APKINDEX", NULL } };
    tarball_bad("symlink in the index tarball", link, 1, "link entry \"APKINDEX\"");
    const struct entry two[] = { { "APKINDEX", good }, { "./APKINDEX", good } };
    tarball_bad("two APKINDEX entries", two, 2, "two APKINDEX entries");
    const struct entry none[] = { { "DESCRIPTION", "x" } };
    tarball_bad("no APKINDEX", none, 1, "no APKINDEX entry");
    const struct entry sign[] = { { ".SIGN.RSA.k.rsa.pub", "xx" }, { "APKINDEX", good } };
    tarball_bad("signature entry in the index member", sign, 2,
                "the signature gzip member holds more than the signature entry");
    const struct entry nop[] = { { "APKINDEX", "V:1\nA:x\n\n" } };
    tarball_bad("record without P:", nop, 1, "APKINDEX.tar.gz/APKINDEX:1: record without P:");
    const struct entry num[] = { { "APKINDEX", "P:a\nV:1\n\nP:b\nV:2\nS:12k\n\n" } };
    tarball_bad("bad size", num, 1, "APKINDEX.tar.gz/APKINDEX:6: bad number in S:");
    const struct entry dup[] = { { "APKINDEX", "P:a\nV:1\nP:b\n\n" } };
    tarball_bad("duplicate P:", dup, 1, "APKINDEX:3: duplicate field P");
    const struct entry cont[] = { { "APKINDEX", "P:a\nV:1\n more\n\n" } };
    tarball_bad("continuation line", cont, 1, "APKINDEX:3: continuation line");
    const struct entry longn[] = { { "APKINDEX", "P:a\nVV:1\n\n" } };
    tarball_bad("two-letter field", longn, 1, "APKINDEX:2: line is not \"X:value\"");
    const struct entry prov[] = { { "APKINDEX", "P:a\nV:1\np:b>=2\n\n" } };
    tarball_bad("bad provides", prov, 1, "APKINDEX:1: bad provides of a");
    TEST("tar bomb in the index tarball") {
        char *big = malloc(2 << 20);
        if (big) {
            memset(big, 'a', (2 << 20) - 1);
            big[(2 << 20) - 1] = '\0';
        }
        const struct entry bomb[] = { { "junk", big ? big : "" }, { "APKINDEX", good } };
        struct blob t = index_tgz(bomb, 2);
        struct temper_pkgindex_limits lim = { 0 };
        lim.max_input = 1 << 20;
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load_mem(st, "bomb", t.p, t.n, &lim, &idx), TEMPER_ELIMIT);
        CHECK_STR_CONTAINS(last_error(), "bomb: tar entries larger than 1048576 bytes");
        free(t.p);
        free(big);
    }
}

static void test_plain_repo(void)
{
    TEST("apk-tools test repository (plain text)") {
        struct temper_apkindex *idx = NULL;
        CHECK_INT_EQ(temper_apkindex_load(st, sample("apk-tools-master_test_solver_basic.repo"),
                                          NULL, &idx), TEMPER_OK);
        CHECK_INT_EQ(temper_apkindex_count(idx), 6);
        const struct temper_apkpkg *a = temper_apkindex_find(idx, "a");
        CHECK(a && strcmp(a->version, "1") == 0 && strcmp(a->depends, "b") == 0);
        CHECK(a && a->next_same_name && strcmp(a->next_same_name->version, "2") == 0);
        CHECK(a && a->next_same_name && !a->next_same_name->next_same_name);
        CHECK(a && a->line == 1 && a->next_same_name && a->next_same_name->line == 8);
        const struct temper_apkpkg *b = temper_apkindex_find(idx, "badarch");
        CHECK(b && strcmp(b->arch, "badarch") == 0 && strcmp(b->origin, "badarch") == 0);
        CHECK(temper_apkindex_signature(idx)->type == TEMPER_APKSIG_NONE);
        CHECK(temper_apkindex_description(idx) == NULL);
        temper_apkindex_free(idx);
    }
}

static void test_apkfile(void)
{
    TEST("a real .apk's control part") {
        struct temper_apkfile *f = NULL;
        CHECK_INT_EQ(temper_apkfile_load(st, sample("apko_alpine-316_alpine-baselayout-3.2.0-"
                                                    "r23.apk"), NULL, &f), TEMPER_OK);
        CHECK(f && f->pkg);
        if (!f || !f->pkg) {
            break;
        }
        CHECK_STR_EQ(f->pkg->name, "alpine-baselayout");
        CHECK_STR_EQ(f->pkg->version, "3.2.0-r23");
        CHECK_STR_EQ(f->pkg->arch, "aarch64");
        CHECK_STR_EQ(f->pkg->checksum, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="); /* = its index entry */
        CHECK_STR_EQ(f->pkg->depends, "alpine-baselayout-data=3.2.0-r23 /bin/sh "
                                      "so:libc.musl-aarch64.so.1");
        CHECK_STR_EQ(f->pkg->provides, "cmd:mkmntdirs=3.2.0-r23");
        CHECK_INT_EQ(f->pkg->installed_size, 339968);
        CHECK_INT_EQ(f->pkg->build_time, 1662926906LL);
        CHECK_STR_EQ(f->pkg->license, "GPL-2.0-only");
        CHECK_STR_EQ(f->datahash,
                     "1a3a8e47d2287da6d505d973412cee1ad64bcc17bc5995069e4e932055ecb0c4");
        CHECK_STR_EQ(f->data_sha256, f->datahash);
        CHECK(f->data_ok);
        CHECK_INT_EQ(f->sig.type, TEMPER_APKSIG_RSA_SHA1);
        CHECK_STR_EQ(f->sig.key_name, ALPINE_KEY);
        CHECK_INT_EQ(f->sig.signed_len, 1563);
        temper_apkfile_free(f);
        temper_apkfile_free(NULL);
    }
    TEST("not an .apk") {
        struct temper_apkfile *f = NULL;
        CHECK(temper_apkfile_load(st, sample("apk-tools-master_test_solver_basic.repo"), NULL,
                                  &f) < 0);
        CHECK(f == NULL);
        CHECK_STR_CONTAINS(last_error(), "no valid control gzip member");
    }
}

/* The fuzzy-match lines of apk-tools' test/unit/version.data: "a ~ b" (a
 * matches ~b), "a !~ b" (it does not), "a <~ b" / "a >~ b" (it does not, and
 * a sorts before / after b). */
static void test_fuzzy_vectors(void)
{
    FILE *f = fopen(sample("apk-tools-master_test_unit_version.data"), "r");
    char line[256];
    int n = 0;
    TEST("apk fuzzy matches (apk-tools version.data)") {
        CHECK(f != NULL);
        while (f && fgets(line, sizeof line, f)) {
            char a[100], op[4], b[100];
            if (sscanf(line, "%99s %3s %99s", a, op, b) != 3 || !strchr(op, '~')) {
                continue;
            }
            struct temper_dep d = { .name = "x", .version = b, .op = TEMPER_DEP_FUZZY };
            bool m = temper_dep_version_ok(TEMPER_VSCHEME_APK, &d, a);
            int c = temper_version_cmp(TEMPER_VSCHEME_APK, a, b);
            bool ok = strcmp(op, "~") == 0 ? m
                      : strcmp(op, "!~") == 0 ? !m
                      : strcmp(op, "<~") == 0 ? !m && c < 0
                      : strcmp(op, ">~") == 0 ? !m && c > 0 : false;
            if (!tap_ok(ok, __FILE__, __LINE__, "fuzzy vector")) {
                printf("#   %s", line);
            }
            n++;
        }
        CHECK(n >= 16);
    }
    if (f) {
        fclose(f);
    }
}

int main(void)
{
    st = temper_stage_new(NULL, "test");
    if (!st) {
        return 1;
    }
    test_alpine317();
    test_rsa256();
    test_sha1();
    test_tarballs();
    test_plain_repo();
    test_apkfile();
    test_fuzzy_vectors();
    temper_stage_free(st);
    return tap_done();
}
