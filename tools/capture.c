/*
 * DHCP packets out of a capture file (libpcap): Ethernet (with 802.1Q
 * tags), Linux cooked v1/v2 and raw IP link types; IPv4/UDP to or from
 * the DHCP server ports 67 and 4011, IPv6/UDP to or from DHCPv6's 547
 * (relays talk 547 to 547).  Each link and network header is
 * length-checked before it is read; a truncated frame yields what it
 * holds, and the classifier flags the rest.  The same reader serves a
 * live capture of an interface (pxeclass watch), read-only.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6    0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_UDP_NUM 17
#define PORT_BOOTPS 67
#define PORT_PXE 4011
#define PORT_DHCP6_SERVER 547
#define IPV6_HEADER_LEN   40
#define DLT_IPV6_NUM      229

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static uint16_t
be16(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* True for the EtherTypes of IP. */
static bool
is_ip_type(uint16_t type)
{
  return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6;
}

/* Offset of the IP header in an Ethernet frame, or -1. */
static long
ethernet_ip_offset(const uint8_t *frame, size_t len)
{
  size_t off = 12;

  while (off + 2 <= len) {
    uint16_t type = be16(frame + off);
    if (is_ip_type(type))
      return (long)(off + 2);
    if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ)
      return -1;
    off += 4;
  }
  return -1;
}

/* Offset of the IP header for link type LINK, or -1 if not IP; the
   link-layer source address into PKT where the link type has one. */
static long
ip_offset(int link, const uint8_t *frame, size_t len, struct captured *pkt)
{
  switch (link) {
  case DLT_EN10MB:
    if (len >= 12) {
      memcpy(pkt->src_mac, frame + 6, 6);
      pkt->src_mac_len = 6;
    }
    return ethernet_ip_offset(frame, len);
  case DLT_LINUX_SLL: /* 16-byte header: address length at 4, address at
                         6, protocol last */
    if (len < 16 || !is_ip_type(be16(frame + 14)))
      return -1;
    if (be16(frame + 4) <= 8) {
      pkt->src_mac_len = (uint8_t)be16(frame + 4);
      memcpy(pkt->src_mac, frame + 6, pkt->src_mac_len);
    }
    return 16;
  case DLT_LINUX_SLL2: /* 20-byte header: protocol first, address length
                          at 11, address at 12 */
    if (len < 20 || !is_ip_type(be16(frame)))
      return -1;
    if (frame[11] <= 8) {
      pkt->src_mac_len = frame[11];
      memcpy(pkt->src_mac, frame + 12, pkt->src_mac_len);
    }
    return 20;
  case DLT_RAW:
  case DLT_IPV4:
  case DLT_IPV6_NUM:
    return 0;
  default:
    return -1;
  }
}

/* Fill PKT's ports and payload from the UDP header at UDP (LEN bytes
   captured, at least 8). */
static void
parse_udp(const uint8_t *udp, size_t len, struct captured *pkt)
{
  size_t udp_len = be16(udp + 4);

  pkt->src_port = be16(udp);
  pkt->dst_port = be16(udp + 2);
  pkt->data = udp + 8;
  pkt->len = len - 8;
  if (udp_len >= 8 && udp_len - 8 < pkt->len)
    pkt->len = udp_len - 8;
}

/* Fill PKT from the IPv4/UDP datagram at IP (LEN bytes captured). */
static bool
parse_ipv4(const uint8_t *ip, size_t len, struct captured *pkt)
{
  size_t ihl;

  if (len < 20)
    return false;
  ihl = (size_t)(ip[0] & 0x0f) * 4;
  if (ihl < 20 || len < ihl + 8 || ip[9] != IPPROTO_UDP_NUM)
    return false;
  if ((be16(ip + 6) & 0x3fff) != 0) /* a fragment: not reassembled */
    return false;
  memcpy(pkt->src_ip, ip + 12, 4);
  memcpy(pkt->dst_ip, ip + 16, 4);
  parse_udp(ip + ihl, len - ihl, pkt);
  return true;
}

/* IPv6 extension headers a UDP datagram may follow (RFC 8200 §4):
   hop-by-hop, routing, destination options; each (length + 1) * 8
   bytes, the next header first.  A fragment (44) is not reassembled. */
static bool
is_skipped_extension(uint8_t next)
{
  return next == 0 || next == 43 || next == 60;
}

/* Fill PKT from the IPv6/UDP datagram at IP (LEN bytes captured). */
static bool
parse_ipv6(const uint8_t *ip, size_t len, struct captured *pkt)
{
  size_t off = IPV6_HEADER_LEN;
  uint8_t next;

  if (len < IPV6_HEADER_LEN)
    return false;
  next = ip[6];
  for (unsigned n = 0; is_skipped_extension(next) && n < 8; n++) {
    if (len < off + 8)
      return false;
    next = ip[off];
    off += ((size_t)ip[off + 1] + 1) * 8;
  }
  if (next != IPPROTO_UDP_NUM || len < off + 8)
    return false;
  memcpy(pkt->src_ip, ip + 8, 16);
  memcpy(pkt->dst_ip, ip + 24, 16);
  pkt->ipv6 = true;
  parse_udp(ip + off, len - off, pkt);
  return true;
}

/* Fill PKT from the IP/UDP datagram at IP (LEN bytes captured). */
static bool
parse_ip(const uint8_t *ip, size_t len, struct captured *pkt)
{
  if (len < 1)
    return false;
  if ((ip[0] >> 4) == 4)
    return parse_ipv4(ip, len, pkt);
  if ((ip[0] >> 4) == 6)
    return parse_ipv6(ip, len, pkt);
  return false;
}

/* True for the ports DHCP servers (and PXE boot servers) use: DHCPv4's
   for IPv4, DHCPv6's for IPv6. */
static bool
is_server_port(const struct captured *pkt, uint16_t port)
{
  if (pkt->ipv6)
    return port == PORT_DHCP6_SERVER;
  return port == PORT_BOOTPS || port == PORT_PXE;
}

/* Hand FN the DHCP datagram in FRAME (the INDEX-th of the capture, of
   link type LINK), if it holds one: what file and live capture share. */
static void
capture_frame(int link, const struct pcap_pkthdr *hdr, const uint8_t *frame,
              unsigned long index, capture_fn *fn, void *ctx)
{
  struct captured pkt = {0};
  long off = ip_offset(link, frame, hdr->caplen, &pkt);

  if (off < 0 || !parse_ip(frame + off, hdr->caplen - (size_t)off, &pkt))
    return;
  if (!is_server_port(&pkt, pkt.dst_port) &&
      !is_server_port(&pkt, pkt.src_port))
    return;
  pkt.index = index;
  pkt.time = hdr->ts;
  pkt.truncated = hdr->caplen < hdr->len;
  fn(ctx, &pkt);
}

int
capture_each(const char *path, capture_fn *fn, void *ctx, char *err,
             size_t errlen)
{
  char pcap_err[PCAP_ERRBUF_SIZE];
  struct pcap_pkthdr *hdr;
  const uint8_t *frame;
  unsigned long index = 0;
  pcap_t *pc;
  int link, rc;

  pc = pcap_open_offline(path, pcap_err);
  if (!pc) {
    snprintf(err, errlen, "%s: %s", path, pcap_err);
    return -1;
  }
  link = pcap_datalink(pc);
  while ((rc = pcap_next_ex(pc, &hdr, &frame)) == 1)
    capture_frame(link, hdr, frame, ++index, fn, ctx);
  if (rc == -1) {
    snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
    pcap_close(pc);
    return -1;
  }
  pcap_close(pc);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Live capture                                                        */

/* What the kernel hands up: DHCPv4 (server, client and PXE boot server
   ports) and DHCPv6 (client and server ports), untagged or under one or
   two VLAN tags (802.1Q, 802.1ad).  Each "vlan" moves the offsets of all
   that follows it, so the tagged cases nest. */
#define DHCP_PORTS                                                             \
  "(udp and (port 67 or port 68 or port 4011 or port 546 or port 547))"
static const char live_filter[] =
    DHCP_PORTS " or (vlan and (" DHCP_PORTS " or (vlan and " DHCP_PORTS ")))";

/* Whole DHCP packets; a jumbo frame's tail is cut (and flagged). */
#define LIVE_SNAPLEN 9216

struct live_capture {
  pcap_t *pc;
  int link;
  unsigned long frames; /* frames the filter passed, numbering them */
};

/* The libpcap callback of capture_live_read(): ARG carries FN and CTX. */
struct live_read {
  struct live_capture *lc;
  capture_fn *fn;
  void *ctx;
};

static void
live_frame(u_char *arg, const struct pcap_pkthdr *hdr, const u_char *frame)
{
  struct live_read *rd = (struct live_read *)arg;

  capture_frame(rd->lc->link, hdr, frame, ++rd->lc->frames, rd->fn, rd->ctx);
}

/* Set up PC (created, not active) as watch needs it: not promiscuous
   (the interface's own traffic, or a bridge's), immediate delivery, and
   after activation the DHCP filter, inbound and outbound, non-blocking.
   Nothing here can send: libpcap sends only through pcap_inject() and
   pcap_sendpacket(), which pxeclass never calls. */
static int
live_setup(pcap_t *pc, const char *iface, char *err, size_t errlen)
{
  struct bpf_program prog;
  char pcap_err[PCAP_ERRBUF_SIZE];
  int rc;

  if (pcap_set_snaplen(pc, LIVE_SNAPLEN) != 0 || pcap_set_promisc(pc, 0) != 0 ||
      pcap_set_immediate_mode(pc, 1) != 0) {
    snprintf(err, errlen, "%s: cannot set up the capture", iface);
    return -1;
  }
  rc = pcap_activate(pc);
  if (rc < 0) {
    snprintf(err, errlen, "%s: %s", iface,
             rc == PCAP_ERROR_PERM_DENIED
                 ? "no capture rights (needs CAP_NET_RAW)"
                 : pcap_geterr(pc));
    return -1;
  }
  if (pcap_compile(pc, &prog, live_filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
      pcap_setfilter(pc, &prog) != 0) {
    snprintf(err, errlen, "%s: filter: %s", iface, pcap_geterr(pc));
    return -1;
  }
  pcap_freecode(&prog);
  if (pcap_setnonblock(pc, 1, pcap_err) != 0) {
    snprintf(err, errlen, "%s: %s", iface, pcap_err);
    return -1;
  }
  return 0;
}

struct live_capture *
capture_live_open(const char *iface, char *err, size_t errlen)
{
  char pcap_err[PCAP_ERRBUF_SIZE];
  struct live_capture *lc = calloc(1, sizeof(*lc));

  if (!lc) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  lc->pc = pcap_create(iface, pcap_err);
  if (!lc->pc) {
    snprintf(err, errlen, "%s: %s", iface, pcap_err);
    free(lc);
    return NULL;
  }
  if (live_setup(lc->pc, iface, err, errlen) != 0) {
    capture_live_close(lc);
    return NULL;
  }
  lc->link = pcap_datalink(lc->pc);
  return lc;
}

int
capture_live_fd(const struct live_capture *lc)
{
  return pcap_get_selectable_fd(lc->pc);
}

int
capture_live_read(struct live_capture *lc, capture_fn *fn, void *ctx, char *err,
                  size_t errlen)
{
  struct live_read rd = {lc, fn, ctx};
  int n = pcap_dispatch(lc->pc, -1, live_frame, (u_char *)&rd);

  if (n == PCAP_ERROR) {
    snprintf(err, errlen, "%s", pcap_geterr(lc->pc));
    return -1;
  }
  return n < 0 ? 0 : n;
}

unsigned long
capture_live_dropped(struct live_capture *lc)
{
  struct pcap_stat st;

  if (pcap_stats(lc->pc, &st) != 0)
    return 0;
  return st.ps_drop;
}

void
capture_live_close(struct live_capture *lc)
{
  if (!lc)
    return;
  pcap_close(lc->pc);
  free(lc);
}
