/* temper — JSON helpers on json-c (filled in by the SDK JSON work). */
#ifndef TEMPER_JSON_H
#define TEMPER_JSON_H
#include <temper/rc.h>
#endif
