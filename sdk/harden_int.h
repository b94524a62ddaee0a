/* temper — internals of the hardening step (sdk/harden*.c, not installed). */
#ifndef TEMPER_SDK_HARDEN_INT_H
#define TEMPER_SDK_HARDEN_INT_H

#include <temper/harden.h>

struct temper_harden {
    struct temper_stage *st;
    struct temper_harden_conf c;
    bool dev;                   /* variant "dev" */
    struct temper_harden_stats stats;
};

#endif
