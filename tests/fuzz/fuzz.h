/* temper — shared helpers of the fuzz targets (tests/fuzz/README.md).
 *
 * Each target defines LLVMFuzzerTestOneInput().  It is linked twice: with
 * libFuzzer (configure --enable-fuzzing, CC=clang) into tests/fuzz/fuzz_NAME,
 * and with replay_main.c into tests/fuzz/replay_NAME, a plain program that
 * runs the seed and regression inputs in every `make check`.
 *
 * A target must never leak, crash or hang on any input; where the code under
 * test promises a property (a round trip, an antisymmetric order, a writer
 * whose output its parser accepts), the target checks it with FUZZ_ASSERT,
 * which aborts with a message, so that libFuzzer and the replay both report
 * it. */
#ifndef TEMPER_TESTS_FUZZ_H
#define TEMPER_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once per process: send the SDK's log lines to /dev/null unless
 * TEMPER_FUZZ_VERBOSE is set (errors are the normal outcome on random
 * input; writing them would slow the fuzzer down tenfold). */
void fuzz_init(void);

/* A new NUL-terminated copy of data (free()); aborts on ENOMEM. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* Write data to this process's scratch file and return its path (borrowed;
 * the file is rewritten by the next call and removed at exit). */
const char *fuzz_file(const uint8_t *data, size_t size);

/* A new empty scratch directory for this input (path borrowed until
 * fuzz_dir_clean()); fuzz_dir_clean() removes it with everything in it. */
const char *fuzz_dir_new(void);
void fuzz_dir_clean(void);
/* Abort unless the scratch base holds nothing but the scratch file and the
 * scratch directory (an extractor wrote outside its root). */
void fuzz_dir_check_contained(void);

/* Split data at the first NUL byte: *a gets the part before it, *b the part
 * after (both new NUL-terminated strings; *b is "" without a NUL). */
void fuzz_split2(const uint8_t *data, size_t size, char **a, char **b);

void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));
#define FUZZ_ASSERT(cond) \
    do { \
        if (!(cond)) { \
            fuzz_fail(__FILE__, __LINE__, #cond); \
        } \
    } while (0)

#endif
