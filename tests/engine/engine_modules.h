/* temper — conf block of the engine test modules (shared with the test). */
#ifndef TEMPER_TESTS_ENGINE_MODULES_H
#define TEMPER_TESTS_ENGINE_MODULES_H
#include <stdbool.h>

struct et_conf {
    bool fail;          /* fail with an error */
    bool block;         /* give a BLOCK verdict (guard) */
    char *fail_case;    /* suite: name of a case that fails */
    char *out;          /* publish: where to write what it got */
    long long sleep_ms; /* builder: take this long (worker and lease tests) */
};

#endif
