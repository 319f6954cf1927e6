/*
 * Configs for the unit tests (declared in builder.h): kept apart from the
 * packet builder so that a runner without the config half links.
 */
#include <string.h>

#include <check.h>

#include "builder.h"
#include "pxeclass.h"

struct pxc_config *
config_of(const char *const *lines)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  for (; *lines; lines++) {
    char name[64];
    const char *eq = strchr(*lines, '=');
    ck_assert_ptr_nonnull(eq);
    ck_assert_uint_lt((size_t)(eq - *lines), sizeof(name));
    memcpy(name, *lines, (size_t)(eq - *lines));
    name[eq - *lines] = '\0';
    ck_assert_msg(pxc_config_add(cfg, name, eq + 1, err, sizeof(err)) == 0,
                  "%s: %s", *lines, err);
  }
  ck_assert_msg(pxc_config_finish(cfg, err, sizeof(err)) == 0, "%s", err);
  return cfg;
}
