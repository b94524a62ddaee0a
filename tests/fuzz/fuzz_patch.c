/* Fuzz target: `git format-patch` mboxes and bare diffs as the guard stages
 * read them (temper_patch_parse, include/temper/patch.h), with the totals and
 * line numbering the header promises. */
#include "config.h"
#include "fuzz.h"
#include <string.h>
#include <temper/patch.h>

static void check_hunk(const struct temper_patch_hunk *h, size_t *lines)
{
    long old_n = 0, new_n = 0;
    for (size_t i = 0; i < h->n_lines; i++) {
        const struct temper_patch_line *l = &h->lines[i];
        FUZZ_ASSERT(l->op == '+' || l->op == '-' || l->op == ' ');
        FUZZ_ASSERT(l->text && strlen(l->text) == l->len);
        old_n += l->op != '+';
        new_n += l->op != '-';
    }
    FUZZ_ASSERT(old_n == h->old_count && new_n == h->new_count);
    *lines += h->n_lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct temper_patch_set *ps = NULL;
    size_t files = 0, hunks = 0, lines = 0;
    fuzz_init();
    if (temper_patch_parse(NULL, "fuzz", data, size, NULL, &ps) != TEMPER_OK) {
        FUZZ_ASSERT(ps == NULL);
        return 0;
    }
    for (size_t c = 0; c < ps->n_commits; c++) {
        const struct temper_patch_commit *cm = ps->commits[c];
        FUZZ_ASSERT(cm->subject && cm->body);
        for (size_t f = 0; f < cm->n_files; f++) {
            const struct temper_patch_file *pf = cm->files[f];
            FUZZ_ASSERT(pf->path && temper_patch_status_str((int)pf->status));
            for (size_t h = 0; h < pf->n_hunks; h++) {
                check_hunk(pf->hunks[h], &lines);
            }
            hunks += pf->n_hunks;
        }
        files += cm->n_files;
    }
    FUZZ_ASSERT(files == ps->n_files && hunks == ps->n_hunks && lines == ps->n_lines);
    temper_patch_set_free(ps);
    return 0;
}
