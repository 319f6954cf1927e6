/*
 * libFuzzer target: arbitrary directive text.  The first byte picks the
 * directive, the rest is its value; parsing must never crash, leak or
 * accept a line and then fail to evaluate it; the same bytes then go
 * through the tracker, as a request and as a reply.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pxeclass.h"

/* How many directives the library parses. */
static size_t
directive_count(void)
{
  size_t n = 0;

  while (pxc_directive_name(n))
    n++;
  return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct pxc_request req;
  struct pxc_config *cfg;
  struct pxc_tracker *trk = NULL;
  struct pxc_verdict v;
  char err[256], *value;

  if (size < 1)
    return 0;
  value = malloc(size);
  memcpy(value, data + 1, size - 1);
  value[size - 1] = '\0';
  cfg = pxc_config_new();
  if (pxc_config_add(cfg, pxc_directive_name(data[0] % directive_count()),
                     value, err, sizeof(err)) == 0) {
    if (pxc_config_finish(cfg, err, sizeof(err)) == 0 &&
        pxc_config_tracker_info(cfg, NULL) && !(trk = pxc_tracker_new(cfg)) &&
        errno != ENOMEM)
      abort(); /* a finished config that needs a tracker gets one */
    pxc_classify(cfg, data, size, &req);
    pxc_evaluate(cfg, trk, &req, 0, &v);
    for (size_t i = 0; i < pxc_rule_count(cfg); i++)
      (void)pxc_rule_matches(cfg, i, &v);
    pxc_tracker_record(trk, &v);
    pxc_tracker_reply(trk, data, size, 1);
    pxc_tracker_free(trk);
  } else if (strlen(err) == 0 || strlen(err) >= sizeof(err)) {
    abort(); /* an error must come with a message */
  }
  pxc_config_free(cfg);
  free(value);
  return 0;
}
