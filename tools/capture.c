/*
 * DHCP packets out of a capture file (libpcap): Ethernet (with 802.1Q
 * tags), Linux cooked v1/v2 and raw IPv4 link types; IPv4/UDP to or from
 * the DHCP server ports 67 and 4011.  Each link and network header is
 * length-checked before it is read; a truncated frame yields what it
 * holds, and the classifier flags the rest.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_UDP_NUM 17
#define PORT_BOOTPS 67
#define PORT_PXE 4011

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static uint16_t
be16(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the IPv4 header in an Ethernet frame, or -1. */
static long
ethernet_ip_offset(const uint8_t *frame, size_t len)
{
  size_t off = 12;

  while (off + 2 <= len) {
    uint16_t type = be16(frame + off);
    if (type == ETHERTYPE_IPV4)
      return (long)(off + 2);
    if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ)
      return -1;
    off += 4;
  }
  return -1;
}

/* Offset of the IPv4 header for link type LINK, or -1 if not IPv4. */
static long
ip_offset(int link, const uint8_t *frame, size_t len)
{
  switch (link) {
  case DLT_EN10MB:
    return ethernet_ip_offset(frame, len);
  case DLT_LINUX_SLL: /* 16-byte header, protocol last */
    return len >= 16 && be16(frame + 14) == ETHERTYPE_IPV4 ? 16 : -1;
  case DLT_LINUX_SLL2: /* 20-byte header, protocol first */
    return len >= 20 && be16(frame) == ETHERTYPE_IPV4 ? 20 : -1;
  case DLT_RAW:
  case DLT_IPV4:
    return 0;
  default:
    return -1;
  }
}

/* Fill PKT from the IPv4/UDP datagram at IP (LEN bytes captured). */
static bool
parse_udp(const uint8_t *ip, size_t len, struct captured *pkt)
{
  size_t ihl, udp_len;

  if (len < 20 || (ip[0] >> 4) != 4)
    return false;
  ihl = (size_t)(ip[0] & 0x0f) * 4;
  if (ihl < 20 || len < ihl + 8 || ip[9] != IPPROTO_UDP_NUM)
    return false;
  if ((be16(ip + 6) & 0x3fff) != 0) /* a fragment: not reassembled */
    return false;
  memcpy(pkt->src_ip, ip + 12, 4);
  memcpy(pkt->dst_ip, ip + 16, 4);
  pkt->src_port = be16(ip + ihl);
  pkt->dst_port = be16(ip + ihl + 2);
  udp_len = be16(ip + ihl + 4);
  pkt->data = ip + ihl + 8;
  pkt->len = len - ihl - 8;
  if (udp_len >= 8 && udp_len - 8 < pkt->len)
    pkt->len = udp_len - 8;
  return true;
}

/* True for the ports DHCP servers (and PXE boot servers) use. */
static bool
is_server_port(uint16_t port)
{
  return port == PORT_BOOTPS || port == PORT_PXE;
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
  while ((rc = pcap_next_ex(pc, &hdr, &frame)) == 1) {
    struct captured pkt = {0};
    long off = ip_offset(link, frame, hdr->caplen);
    index++;
    if (off < 0 || !parse_udp(frame + off, hdr->caplen - (size_t)off, &pkt))
      continue;
    if (!is_server_port(pkt.dst_port) && !is_server_port(pkt.src_port))
      continue;
    pkt.index = index;
    pkt.time = hdr->ts;
    pkt.truncated = hdr->caplen < hdr->len;
    fn(ctx, &pkt);
  }
  if (rc == -1) {
    snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
    pcap_close(pc);
    return -1;
  }
  pcap_close(pc);
  return 0;
}
