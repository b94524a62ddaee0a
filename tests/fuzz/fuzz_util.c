/* temper — shared helpers of the fuzz targets (fuzz.h). */
#include "config.h"
#include "fuzz.h"
#include "sdk/host.h"
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base_dir[4096];
static char scratch_file[4200];
static char scratch_dir[4200];
static FILE *devnull;
static pid_t owner;

static int chmod_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_D || type == FTW_DNR) {
        (void)chmod(path, 0700);
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    (void)remove(path);
    return 0;
}

/* rm -rf path, also through directories extracted without permissions. */
static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return;
    }
    (void)nftw(path, chmod_one, 16, FTW_PHYS);
    (void)nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH);
}

static void cleanup(void)
{
    if (owner == getpid() && base_dir[0]) {
        remove_tree(base_dir);
    }
}

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    abort();
}

void fuzz_init(void)
{
    if (base_dir[0]) {
        return;
    }
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(base_dir, sizeof base_dir, "%s/temper-fuzz.XXXXXX",
                     tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof base_dir || !mkdtemp(base_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    n = snprintf(scratch_file, sizeof scratch_file, "%s/input", base_dir);
    int m = snprintf(scratch_dir, sizeof scratch_dir, "%s/dir", base_dir);
    if (n < 0 || m < 0 || (size_t)n >= sizeof scratch_file || (size_t)m >= sizeof scratch_dir) {
        abort();
    }
    owner = getpid();
    atexit(cleanup);
    if (!getenv("TEMPER_FUZZ_VERBOSE")) {
        devnull = fopen("/dev/null", "w");
        if (devnull) {
            temper_log_set_stream(devnull);
        }
    }
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) {
        abort();
    }
    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
    fuzz_init();
    int fd = open(scratch_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("fuzz: scratch file");
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            perror("fuzz: write");
            abort();
        }
        off += (size_t)w;
    }
    close(fd);
    return scratch_file;
}

const char *fuzz_dir_new(void)
{
    fuzz_init();
    remove_tree(scratch_dir);
    if (mkdir(scratch_dir, 0700) != 0) {
        perror("fuzz: mkdir");
        abort();
    }
    return scratch_dir;
}

void fuzz_dir_clean(void)
{
    remove_tree(scratch_dir);
}

void fuzz_split2(const uint8_t *data, size_t size, char **a, char **b)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t na = nul ? (size_t)(nul - data) : size;
    *a = fuzz_cstr(data, na);
    *b = nul ? fuzz_cstr(nul + 1, size - na - 1) : fuzz_cstr(data, 0);
}

void fuzz_dir_check_contained(void)
{
    DIR *d = opendir(base_dir);
    FUZZ_ASSERT(d);
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        FUZZ_ASSERT(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                    strcmp(e->d_name, "input") == 0 || strcmp(e->d_name, "dir") == 0);
    }
    closedir(d);
}
