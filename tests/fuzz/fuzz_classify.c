/*
 * libFuzzer target: parse, classify and evaluate one arbitrary packet
 * against a config that uses every rule kind and the chain tracker (a
 * small table, so eviction runs too), feed the same bytes to the tracker
 * as a server reply, then render it all.  Any read outside the input, any
 * undefined behaviour or any crash is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pxeclass.h"

static const char *const config_lines[][2] = {
    {"dhcp-pxe-class", "set:fw,pxe,http-boot,uboot,etherboot,gpxe"},
    {"dhcp-pxe-class", "set:own,ipxe-own"},
    {"dhcp-pxe-class", "set:vendor,ipxe-vendor,none,netboot"},
    {"dhcp-pxe-arch", "set:a,efi,bios,http,efi-arm64,0x19,65535"},
    {"dhcp-ipxe-feature", "set:f,https,http,66"},
    {"dhcp-ipxe-version", "set:v,>=1.21.1"},
    {"dhcp-ipxe-busid", "set:b,pci:1af4"},
    {"dhcp-ipxe-own", "user-class:CSTM,feature:https"},
    {"dhcp-ipxe-own", "version:>=2.0"},
    {"dhcp-ipxe-own", "chained,feature:http"},
    {"dhcp-chain-guard", "2,30,16,set:loop"},
};

static struct pxc_config *cfg;

/* Build the config once; the fuzzer calls the target millions of times. */
static struct pxc_config *
fuzz_config(void)
{
  char err[512];

  if (cfg)
    return cfg;
  cfg = pxc_config_new();
  for (size_t i = 0; i < sizeof(config_lines) / sizeof(config_lines[0]); i++)
    if (pxc_config_add(cfg, config_lines[i][0], config_lines[i][1], err,
                       sizeof(err)) < 0)
      abort();
  if (pxc_config_finish(cfg, err, sizeof(err)) < 0)
    abort();
  return cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct pxc_request req;
  static time_t now;
  struct pxc_config *c = fuzz_config();
  struct pxc_verdict v;
  char text[1024];
  uint8_t *copy = malloc(size ? size : 1);

  /* an exact-size copy, so ASan sees any read past the end */
  memcpy(copy, data, size);
  now += size % 7; /* a clock that moves at the input's pace */
  pxc_classify(c, copy, size, &req);
  pxc_evaluate(c, &req, now, &v);
  pxc_record_reply(c, copy, size, now);
  for (size_t i = 0; i < pxc_rule_count(c); i++)
    (void)pxc_rule_matches(c, i, &v);
  pxc_format_summary(&v, text, sizeof(text));
  pxc_format_mac(&req, text, sizeof(text));
  pxc_format_uuid(&req, text, sizeof(text));
  pxc_format_chain(c, &v, text, sizeof(text));
  free(copy);
  return 0;
}
