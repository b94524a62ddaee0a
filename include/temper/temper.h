/* temper — umbrella header for plugin authors. */
#ifndef TEMPER_TEMPER_H
#define TEMPER_TEMPER_H
#include <temper/rc.h>
#include <temper/log.h>
#include <temper/option.h>
#include <temper/artifact.h>
#include <temper/plugin.h>
#include <temper/tracker.h>
#include <temper/guard.h>
#include <temper/builder.h>
#include <temper/suite.h>
#include <temper/attest.h>
#include <temper/signer.h>
#include <temper/publish.h>
#include <temper/store.h>
#include <temper/buf.h>
#include <temper/version.h>
#include <temper/hash.h>
#include <temper/json.h>
#include <temper/http.h>
#include <temper/dsse.h>
#include <temper/oci.h>
#include <temper/pkgindex.h>
#include <temper/patch.h>
#endif
