/* Fuzz target: .deb packages (ar archive, control and data tars) read by
 * temper_deb_extract (include/temper/deb.h): once for the control data only,
 * once extracted into a scratch root.  Nothing may appear outside the
 * root. */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/buf.h>
#include <temper/deb.h>

static void run(const char *deb, const char *root)
{
    struct temper_oci_extract_opts x;
    struct temper_deb_extract_opts o;
    struct temper_buf control, md5sums;
    memset(&x, 0, sizeof x);
    memset(&o, 0, sizeof o);
    x.size = sizeof x;
    x.strip_setuid = true;
    x.max_bytes = 32u << 20;
    x.max_entries = 5000;
    temper_buf_init(&control, 1u << 20);
    temper_buf_init(&md5sums, 1u << 20);
    o.size = sizeof o;
    o.extract = &x;
    o.control = &control;
    o.md5sums = &md5sums;
    int rc = temper_deb_extract(NULL, deb, root, &o);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT(control.len <= (1u << 20) && md5sums.len <= (1u << 20));
    temper_buf_cleanup(&control);
    temper_buf_cleanup(&md5sums);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *deb = fuzz_file(data, size);
    run(deb, NULL);
    run(deb, fuzz_dir_new());
    fuzz_dir_check_contained();
    fuzz_dir_clean();
    return 0;
}
