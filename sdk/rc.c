/* temper — rc and enum strings. */
#include <temper/plugin.h>
#include <temper/guard.h>
#include <string.h>

const char *temper_rc_str(int rc)
{
    switch (rc) {
    case TEMPER_OK: return "success";
    case TEMPER_ENOMEM: return "out of memory";
    case TEMPER_EINVAL: return "invalid argument or configuration";
    case TEMPER_EIO: return "input/output error";
    case TEMPER_ENET: return "network error";
    case TEMPER_ECRYPTO: return "cryptographic check failed";
    case TEMPER_EFORMAT: return "malformed data";
    case TEMPER_EABI: return "plugin ABI mismatch";
    case TEMPER_ENOTFOUND: return "not found";
    case TEMPER_ELIMIT: return "limit exceeded";
    case TEMPER_ESTATE: return "state conflict";
    case TEMPER_ENOTSUP: return "not supported";
    case TEMPER_ETIMEOUT: return "timed out";
    case TEMPER_ECANCEL: return "cancelled";
    case TEMPER_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

static const char *const kind_names[] = {
    NULL, "tracker", "guard", "builder", "suite", "attest", "signer", "publish", "store",
};

const char *temper_kind_str(int kind)
{
    if (kind < 1 || kind > TEMPER_KIND_MAX) {
        return NULL;
    }
    return kind_names[kind];
}

int temper_kind_from_str(const char *name)
{
    if (!name) {
        return 0;
    }
    for (int k = 1; k <= TEMPER_KIND_MAX; k++) {
        if (strcmp(kind_names[k], name) == 0) {
            return k;
        }
    }
    return 0;
}

static const char *const sev_names[] = { "info", "low", "medium", "high", "critical" };

const char *temper_severity_str(int sev)
{
    if (sev < 0 || sev > TEMPER_SEV_CRITICAL) {
        return NULL;
    }
    return sev_names[sev];
}

int temper_severity_from_str(const char *s)
{
    if (!s) {
        return -1;
    }
    for (int i = 0; i <= TEMPER_SEV_CRITICAL; i++) {
        if (strcmp(sev_names[i], s) == 0) {
            return i;
        }
    }
    return -1;
}
