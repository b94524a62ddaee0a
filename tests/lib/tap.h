/* temper — a tiny TAP producer for unit tests (automake's tap-driver reads it).
 *
 *   TEST("name") { CHECK(x); CHECK_INT_EQ(a, b); CHECK_STR_EQ(s, "v"); }
 *   return tap_done();
 *
 * Each CHECK prints one "ok N - ..." / "not ok N - ..." line; the plan is
 * printed at the end.  tap_done() returns the exit status. */
#ifndef TEMPER_TESTS_TAP_H
#define TEMPER_TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;
static const char *tap_current = "";

static inline void tap_set_test(const char *name)
{
    tap_current = name;
}

static inline int tap_ok(int ok, const char *file, int line, const char *what)
{
    tap_count++;
    if (!ok) {
        tap_failed++;
    }
    printf("%sok %d - %s: %s\n", ok ? "" : "not ", tap_count, tap_current, what);
    if (!ok) {
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return ok;
}

static inline void tap_diag(const char *msg)
{
    printf("# %s\n", msg);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#define TEST(name) for (int tap_once_ = (tap_set_test(name), 1); tap_once_; tap_once_ = 0)

#define CHECK(cond) tap_ok(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_INT_EQ(a, b)                                                      \
    do {                                                                        \
        long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);             \
        if (!tap_ok(tap_a_ == tap_b_, __FILE__, __LINE__, #a " == " #b)) {      \
            printf("#   got %lld, expected %lld\n", tap_a_, tap_b_);            \
        }                                                                       \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                      \
    do {                                                                        \
        const char *tap_a_ = (a), *tap_b_ = (b);                                \
        int tap_eq_ = (tap_a_ && tap_b_) ? strcmp(tap_a_, tap_b_) == 0          \
                                         : tap_a_ == tap_b_;                    \
        if (!tap_ok(tap_eq_, __FILE__, __LINE__, #a " == " #b)) {               \
            printf("#   got \"%s\", expected \"%s\"\n", tap_a_ ? tap_a_ : "(null)", \
                   tap_b_ ? tap_b_ : "(null)");                                 \
        }                                                                       \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                         \
    do {                                                                        \
        const char *tap_h_ = (hay), *tap_n_ = (needle);                         \
        if (!tap_ok(tap_h_ && strstr(tap_h_, tap_n_) != NULL, __FILE__, __LINE__, \
                    #hay " contains " #needle)) {                               \
            printf("#   \"%s\" lacks \"%s\"\n", tap_h_ ? tap_h_ : "(null)", tap_n_); \
        }                                                                       \
    } while (0)

#endif
