/*
 * Loading the real captures of tests/captures/ for the unit tests, through
 * the same capture reader the CLI uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "suites.h"

struct loader {
  struct loaded *out;
  size_t max, count;
  bool ipv6; /* the family kept */
};

/* Copy one datagram out of the capture reader. */
static void
keep_packet(void *ctx, const struct captured *pkt)
{
  struct loader *l = ctx;
  struct loaded *dst;

  if (l->count == l->max || pkt->ipv6 != l->ipv6)
    return;
  dst = &l->out[l->count++];
  dst->data = malloc(pkt->len ? pkt->len : 1);
  ck_assert_ptr_nonnull(dst->data);
  memcpy(dst->data, pkt->data, pkt->len);
  dst->len = pkt->len;
  dst->time = pkt->time;
  dst->src_port = pkt->src_port;
  dst->dst_port = pkt->dst_port;
  dst->request = pkt->len > 0 && pkt->data[0] == 1 &&
                 (pkt->dst_port == 67 || pkt->dst_port == 4011);
  if (l->ipv6) /* a client message to a server (not ADVERTISE, REPLY,
                  RECONFIGURE or RELAY-REPL) */
    dst->request = pkt->len > 0 && pkt->dst_port == 547 && pkt->data[0] != 2 &&
                   pkt->data[0] != 7 && pkt->data[0] != 10 &&
                   pkt->data[0] != 13;
  dst->src_mac_len = pkt->src_mac_len;
  memcpy(dst->src_mac, pkt->src_mac, sizeof(dst->src_mac));
}

/* The datagrams of the family IPV6 of tests/captures/NAME/dhcp.pcap. */
static size_t
load_family(const char *name, struct loaded *out, size_t max, bool ipv6)
{
  struct loader l = {out, max, 0, ipv6};
  char path[512], err[512];

  snprintf(path, sizeof(path), "%s/%s/dhcp.pcap", PXC_CAPTURES_DIR, name);
  if (capture_each(path, keep_packet, &l, err, sizeof(err)) < 0)
    ck_abort_msg("cannot read capture: %s", err);
  return l.count;
}

size_t
load_capture(const char *name, struct loaded *out, size_t max)
{
  return load_family(name, out, max, false);
}

size_t
load_capture6(const char *name, struct loaded *out, size_t max)
{
  return load_family(name, out, max, true);
}

void
free_loaded(struct loaded *pkts, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(pkts[i].data);
}
