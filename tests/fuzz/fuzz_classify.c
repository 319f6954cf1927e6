/*
 * libFuzzer target: parse, classify and evaluate one arbitrary packet
 * against a config that uses every rule kind and the chain tracker (a
 * small table, so eviction runs too), feed the same bytes to the tracker
 * as a server reply, then render it all; and the same bytes as a DHCPv6
 * message (pxc_classify6(), relays and all), judged, recorded, fed back
 * as a DHCPv6 reply (pxc_tracker_reply6(), as sent and as a REPLY to
 * itself) and rendered too.
 * Any read outside the input, any undefined behaviour or any crash is a
 * finding; so is a request that breaks its own invariants (counts within
 * their arrays, features only in PXC_FEATURE_FIRST..LAST, views inside
 * the request, nothing of option 175 in a DHCPv6 request).
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

/* Abort unless REQ keeps the invariants a reader of it relies on. */
static void
check_request(const struct pxc_request *req)
{
  const uint8_t *lo = (const uint8_t *)req, *hi = lo + sizeof(*req);
  struct pxc_bytes vc = pxc_vendor_class(req);

  if (req->arch_count > PXC_MAX_ARCH ||
      req->user_class_count > PXC_MAX_USER_CLASS ||
      (unsigned)req->fw_class >= PXC_CLASS_COUNT)
    abort();
  for (unsigned code = 0; code < 256; code++)
    if (pxc_has_feature(req, (uint8_t)code) &&
        (code < PXC_FEATURE_FIRST || code > PXC_FEATURE_LAST))
      abort();
  if (vc.data && (vc.data < lo || vc.data + vc.len > hi))
    abort();
  if (req->duid_len > PXC_DUID_MAX || req->relay_depth > PXC_RELAY_MAX ||
      (req->hlen > sizeof(req->chaddr) && !(req->errors & PXC_ERR_HLEN)) ||
      (unsigned)req->ip_family >= PXC_IP_FAMILY_COUNT ||
      (unsigned)req->mac_source >= PXC_MAC_SOURCE_COUNT)
    abort();
  if (req->ip_family == PXC_IPV6 &&
      (req->ipxe.present || req->ipxe.has_version || req->ipxe.has_busid))
    abort(); /* DHCPv6 has no option 175: nothing of it is made up */
  for (size_t i = 0; i < req->user_class_count; i++) {
    struct pxc_bytes uc = pxc_user_class(req, i);
    if (!uc.data || uc.data < lo || uc.data + uc.len > hi ||
        uc.data + uc.len > req->user_class_text + req->user_class_len)
      abort();
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct pxc_request req;
  struct pxc_verdict v = {.own = PXC_OWN_UNKNOWN, .req = &req};
  char text[1024];
  uint8_t *copy = malloc(size ? size : 1);
  static struct pxc_tracker *trk;
  static time_t now;
  struct pxc_config *c = fuzz_config();

  if (!trk)
    trk = pxc_tracker_new(c);

  /* an exact-size copy, so ASan sees any read past the end */
  memcpy(copy, data, size);
  pxc_classify(c, copy, size, &req);
  check_request(&req);
  now += size % 7; /* a clock that moves at the input's pace */
  pxc_evaluate(c, trk, &req, now, &v);
  for (size_t i = 0; i < pxc_rule_count(c); i++)
    (void)pxc_rule_matches(c, i, &v);
  pxc_tracker_record(trk, &v);
  pxc_tracker_reply(trk, copy, size, now);
  pxc_format_chain(trk, &v, text, sizeof(text));
  pxc_format_loop_warning(c, trk, &v, text, sizeof(text));
  pxc_format_summary(&v, text, sizeof(text));
  pxc_format_mac(&req, text, sizeof(text));
  pxc_format_uuid(&req, text, sizeof(text));
  pxc_format_busid(&req, text, sizeof(text));
  pxc_format_features(&req, text, sizeof(text));

  pxc_classify6(c, copy, size, &req);
  check_request(&req);
  pxc_evaluate(c, trk, &req, now, &v);
  for (size_t i = 0; i < pxc_rule_count(c); i++)
    (void)pxc_rule_matches(c, i, &v);
  pxc_tracker_record(trk, &v);
  pxc_tracker_reply6(trk, copy, size, now);
  if (size > 0 && copy[0] != 13) {
    /* the same bytes as the REPLY to the request just recorded: same xid
       and client DUID, so the hand-out rules run */
    copy[0] = 7;
    pxc_tracker_reply6(trk, copy, size, now);
  }
  pxc_format_chain(trk, &v, text, sizeof(text));
  pxc_format_summary(&v, text, sizeof(text));
  pxc_format_mac(&req, text, sizeof(text));
  pxc_format_uuid(&req, text, sizeof(text));
  free(copy);
  return 0;
}
