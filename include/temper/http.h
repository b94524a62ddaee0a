/* temper — HTTP client on libcurl (filled in by the SDK HTTP work). */
#ifndef TEMPER_HTTP_H
#define TEMPER_HTTP_H
#include <temper/rc.h>
#endif
