/* temper — publish_registry internals. */
#ifndef TEMPER_PREG_H
#define TEMPER_PREG_H

#include <temper/temper.h>
#include <temper/oci.h>
#include <temper/registry.h>

struct preg_conf {
    char *repository;
    struct temper_strlist tags;
    bool plain_http;
    char *ca_file;
    char *credentials_file;
    char *docker_config;
    char *username;
    char *password;
    unsigned long long chunk_size;
    unsigned long long monolithic_max;
    char *mount_from;
    long long retries;
    long long stall_timeout;        /* ms */
    bool referrers;
};

#endif
