/*
 * Unit tests of the DHCPv6 classifier (lib/classify6.c) on packets built
 * from each firmware's layout (shared/research/dhcpv6.md §2; the bytes of
 * EDK2 and iPXE as its f3 capture shows them):
 *   EDK2 PXEv6     NetworkPkg/UefiPxeBcDxe/PxeBcDhcp6.c,
 *                  PxeBcBuildDhcp6Options()
 *   EDK2 HTTPv6    NetworkPkg/HttpBootDxe/HttpBootDhcp6.c,
 *                  HttpBootBuildDhcp6Options()
 *   EDK2 Ip6Config NetworkPkg/Ip6Dxe/Ip6ConfigImpl.c (ORO {23} only)
 *   iPXE           src/net/udp/dhcpv6.c, dhcpv6_request_options_data[],
 *                  dhcpv6_tx()
 *   U-Boot         net/dhcpv6.c dhcp6_add_option()
 *   GRUB           rhboot grub-core/net/bootp.c (SOLICIT: IA_NA, DUID-LL, 8)
 * Relays (RFC 8415 §9.2, RFC 6939), malformed messages (each flagged, and
 * every truncation of every packet read without reading past it), and
 * the same iPXE and EDK2 clients over DHCPv4 and DHCPv6 agreeing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "pxeclass.h"
#include "suites.h"

/* A DHCPv6 message under construction. */
struct msg6 {
  uint8_t buf[2048];
  size_t len;
};

static struct msg6 m;
static struct pxc_request req;

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x77, 0x00, 0x01};
/* QEMU -uuid 00112233-4455-6677-8899-aabbccddeeff, as each sends it */
static const uint8_t duid_edk2[18] = {0x00, 0x04, 0x33, 0x22, 0x11, 0x00,
                                      0x55, 0x44, 0x77, 0x66, 0x88, 0x99,
                                      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t duid_ipxe[18] = {0x00, 0x04, 0x00, 0x11, 0x22, 0x33,
                                      0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const char uuid_text[] = "00112233-4455-6677-8899-aabbccddeeff";

/* Start a message of TYPE with transaction id XID (24 bits). */
static void
start6(uint8_t type, uint32_t xid)
{
  m.buf[0] = type;
  m.buf[1] = (uint8_t)(xid >> 16);
  m.buf[2] = (uint8_t)(xid >> 8);
  m.buf[3] = (uint8_t)xid;
  m.len = 4;
}

static void
put(const void *data, size_t len)
{
  ck_assert_uint_le(m.len + len, sizeof(m.buf));
  if (len) /* DATA may be NULL for an empty option */
    memcpy(m.buf + m.len, data, len);
  m.len += len;
}

static void
put16(unsigned v)
{
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(b, 2);
}

static void
put32(uint32_t v)
{
  put16(v >> 16);
  put16(v & 0xffff);
}

/* Option CODE with LEN bytes of DATA. */
static void
opt6(unsigned code, const void *data, size_t len)
{
  put16(code);
  put16((unsigned)len);
  put(data, len);
}

/* Option 16: ENTERPRISE and one entry TEXT. */
static void
vendor_class6(uint32_t enterprise, const char *text)
{
  put16(16);
  put16(4 + 2 + (unsigned)strlen(text));
  put32(enterprise);
  put16((unsigned)strlen(text));
  put(text, strlen(text));
}

/* Option 15 with one entry TEXT. */
static void
user_class6(const char *text)
{
  put16(15);
  put16(2 + (unsigned)strlen(text));
  put16((unsigned)strlen(text));
  put(text, strlen(text));
}

static void
elapsed6(void)
{
  static const uint8_t zero[2] = {0, 0};
  opt6(8, zero, 2);
}

/* IA_NA with IAID and T1 = T2 = T (EDK2: 0xffffffff, others 0). */
static void
ia_na6(uint32_t iaid, uint32_t t)
{
  put16(3);
  put16(12);
  put32(iaid);
  put32(t);
  put32(t);
}

/* Option 6 listing the N codes of CODES. */
static void
oro6(const uint16_t *codes, size_t n)
{
  put16(6);
  put16((unsigned)(2 * n));
  for (size_t i = 0; i < n; i++)
    put16(codes[i]);
}

static void
arch6(unsigned arch)
{
  put16(61);
  put16(2);
  put16(arch);
}

static void
nii6(uint8_t type, uint8_t major, uint8_t minor)
{
  uint8_t v[3] = {type, major, minor};
  opt6(62, v, 3);
}

/* EDK2 PXEv6 SOLICIT, options 1, 8, 3, 6, 62, 61, 16 (f3 packet 3). */
static void
build_edk2_pxe(void)
{
  static const uint16_t oro[] = {59, 60, 23, 16};
  start6(1, 0x640da6);
  opt6(1, duid_edk2, sizeof(duid_edk2));
  elapsed6();
  ia_na6(0x776c5fdf, 0xffffffff);
  oro6(oro, 4);
  nii6(1, 3, 0);
  arch6(7);
  vendor_class6(343, "PXEClient:Arch:00007:UNDI:003000");
}

/* EDK2 HTTP Boot over IPv6 (x64: arch 16), the same layout. */
static void
build_edk2_http(void)
{
  static const uint16_t oro[] = {59, 60, 23, 16};
  start6(1, 0x650da6);
  opt6(1, duid_edk2, sizeof(duid_edk2));
  elapsed6();
  ia_na6(0x12345678, 0xffffffff);
  oro6(oro, 4);
  nii6(1, 3, 0);
  arch6(16);
  vendor_class6(343, "HTTPClient:Arch:00016:UNDI:003000");
}

/* iPXE SOLICIT, options 1, 3, 6, 16, 61, 62, 15, 8 (f3 packet 13). */
static void
build_ipxe(void)
{
  static const uint16_t oro[] = {23, 24, 59, 60};
  start6(1, 0x5985f4);
  opt6(1, duid_ipxe, sizeof(duid_ipxe));
  ia_na6(0xaa6c8eb4, 0);
  oro6(oro, 4);
  vendor_class6(343, "PXEClient:Arch:00007:UNDI:003010");
  arch6(7);
  nii6(1, 3, 10);
  user_class6("iPXE");
  elapsed6();
}

/* A DUID-LL (type 3, hwtype 1) of MAC. */
static void
duid_ll6(void)
{
  uint8_t d[10] = {0, 3, 0, 1};
  memcpy(d + 4, mac, 6);
  opt6(1, d, sizeof(d));
}

/* U-Boot SOLICIT, options 1, 8, 3, 6, 61, 16, 62; arm64, enterprise 0. */
static void
build_uboot(unsigned arch)
{
  static const uint16_t oro[] = {59, 82};
  start6(1, 0x0a0b0c);
  duid_ll6();
  elapsed6();
  ia_na6(0x1234, 0);
  oro6(oro, 2);
  arch6(arch);
  vendor_class6(0, "U-Boot");
  nii6(1, 0, 0);
}

static const struct pxc_request *
classify6(void)
{
  pxc_classify6(NULL, m.buf, m.len, &req);
  return &req;
}

static const char *
text_of(char *(*fmt)(const struct pxc_request *, char *, size_t))
{
  static char text[256];
  return fmt(&req, text, sizeof(text));
}

/* ------------------------------------------------------------------ */
/* Each firmware                                                       */

START_TEST(edk2_pxe)
{
  build_edk2_pxe();
  classify6();
  ck_assert_int_eq(req.ip_family, PXC_IPV6);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  ck_assert_uint_eq(req.msg_type, 1);
  ck_assert_uint_eq(req.xid, 0x640da6);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_OPT93);
  ck_assert_uint_eq(req.arch, 7);
  ck_assert(req.has_undi && req.undi_major == 3 && req.undi_minor == 0);
  ck_assert(req.has_undi60 && req.undi60_major == 3);
  ck_assert(req.has_enterprise);
  ck_assert_uint_eq(req.enterprise, 343);
  ck_assert_uint_eq(pxc_vendor_class(&req).len, 32);
  ck_assert_uint_eq(req.duid_type, 4);
  ck_assert_uint_eq(req.duid_len, 18);
  ck_assert(memcmp(req.duid, duid_edk2, 18) == 0);
  /* EDK2's SMBIOS order turned round: the same UUID as option 97 */
  ck_assert_str_eq(text_of(pxc_format_uuid), uuid_text);
  ck_assert_uint_eq(req.warnings, PXC_WARN_UUID_EDK2);
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_int_eq(req.mac_source, PXC_MAC_NONE);
  ck_assert_str_eq(text_of(pxc_format_mac), "");
  ck_assert(!req.ipxe.present);
}
END_TEST

START_TEST(edk2_http)
{
  build_edk2_http();
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_HTTP_BOOT);
  ck_assert_uint_eq(req.arch, 16);
  ck_assert_uint_eq(req.arch60, 16);
  ck_assert_uint_eq(pxc_vendor_class(&req).len, 33);
  ck_assert_str_eq(text_of(pxc_format_uuid), uuid_text);
  ck_assert_uint_eq(req.errors, 0);
}
END_TEST

/* iPXE: class from the user class, although 16 says PXEClient; the DUID
   in RFC 4122 order, the same UUID; and nothing of option 175. */
START_TEST(ipxe)
{
  build_ipxe();
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.xid, 0x5985f4);
  ck_assert_uint_eq(req.iaid, 0xaa6c8eb4); /* crc32_le(0, MAC) */
  ck_assert_uint_eq(req.arch, 7);
  ck_assert(req.has_undi && req.undi_minor == 10);
  ck_assert_uint_eq(req.user_class_count, 1);
  ck_assert_uint_eq(pxc_user_class(&req, 0).len, 4);
  ck_assert(memcmp(pxc_user_class(&req, 0).data, "iPXE", 4) == 0);
  ck_assert_str_eq(text_of(pxc_format_uuid), uuid_text);
  ck_assert_uint_eq(req.errors | req.warnings, 0);
  ck_assert(!req.ipxe.present && !req.ipxe.has_version && !req.ipxe.has_busid);
  ck_assert_str_eq(text_of(pxc_format_version), "");
  ck_assert_str_eq(text_of(pxc_format_features), "");
  for (unsigned c = 0; c < 256; c++)
    ck_assert(!pxc_has_feature(&req, (uint8_t)c));
  ck_assert_str_eq(pxc_ip_family_name(req.ip_family), "ipv6");
}
END_TEST

START_TEST(uboot_arm64)
{
  build_uboot(0x16);
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 0x16);
  ck_assert_uint_eq(req.enterprise, 0);
  ck_assert_int_eq(req.mac_source, PXC_MAC_DUID_LL);
  ck_assert_str_eq(text_of(pxc_format_mac), "52:54:00:77:00:01");
  ck_assert_uint_eq(req.htype, 1);
  ck_assert(!req.has_uuid);
  ck_assert_uint_eq(req.errors, 0);
}
END_TEST

/* x86 U-Boot sends 61 = 0 (x86 BIOS): the U-Boot entry still tells. */
START_TEST(uboot_x86)
{
  build_uboot(0);
  ck_assert_int_eq(classify6()->fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 0);
}
END_TEST

/* EDK2's IP stack (Ip6Config): the PXE client's DUID, no class: none;
   EDK2's IA_NA lifetimes (T1 = T2 = ~0) say whose DUID-UUID it is, so
   the same UUID as its PXE stack's. */
START_TEST(edk2_ip6config)
{
  static const uint16_t oro[] = {23};
  start6(1, 0x630da6);
  opt6(1, duid_edk2, sizeof(duid_edk2));
  elapsed6();
  ia_na6(0x7f53775b, 0xffffffff);
  oro6(oro, 1);
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_NONE);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_NONE);
  ck_assert_str_eq(text_of(pxc_format_uuid), uuid_text);
  ck_assert_uint_eq(req.warnings, PXC_WARN_UUID_EDK2);
  ck_assert(req.has_iaid);
  ck_assert_uint_eq(req.iaid, 0x7f53775b);
  ck_assert_uint_eq(req.errors, 0);
  /* another client's DUID-UUID, with lifetimes 0: the RFC's order */
  start6(1, 0x630da6);
  opt6(1, duid_edk2, sizeof(duid_edk2));
  ia_na6(1, 0);
  classify6();
  ck_assert_str_eq(text_of(pxc_format_uuid),
                   "33221100-5544-7766-8899-aabbccddeeff");
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

/* GRUB net_bootp6 SOLICIT: 3, 1 (DUID-LL), 8; nothing else. */
START_TEST(grub_solicit)
{
  start6(1, 0x6a1b2c);
  ia_na6(0, 0);
  duid_ll6();
  elapsed6();
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_NONE);
  ck_assert_int_eq(req.mac_source, PXC_MAC_DUID_LL);
  ck_assert_str_eq(text_of(pxc_format_mac), "52:54:00:77:00:01");
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

/* A DUID-LLT (EDK2 without an SMBIOS UUID): its MAC, marked as such. */
START_TEST(duid_llt_mac)
{
  uint8_t d[14] = {0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d};
  memcpy(d + 8, mac, 6);
  start6(3, 1);
  opt6(1, d, sizeof(d));
  vendor_class6(343, "PXEClient:Arch:00007:UNDI:003000");
  classify6();
  ck_assert_int_eq(req.mac_source, PXC_MAC_DUID_LLT);
  ck_assert_str_eq(text_of(pxc_format_mac), "52:54:00:77:00:01");
  ck_assert_str_eq(pxc_mac_source_name(req.mac_source), "duid-llt");
  /* no 61: the Arch digits of 16 */
  ck_assert_int_eq(req.arch_source, PXC_ARCH_OPT60);
  ck_assert(req.warnings & PXC_WARN_ARCH_FROM_60);
}
END_TEST

/* A dhcp-ipxe-own user class makes an iPXE of its own (its user-class
   setting changes v6 too); without the config it reads as PXE. */
START_TEST(own_user_class)
{
  static const char *const lines[] = {"dhcp-ipxe-own=user-class:CSTM", NULL};
  struct pxc_config *cfg = config_of(lines);

  start6(1, 2);
  vendor_class6(343, "PXEClient:Arch:00007:UNDI:003010");
  arch6(7);
  user_class6("CSTM");
  pxc_classify6(cfg, m.buf, m.len, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_int_eq(classify6()->fw_class, PXC_CLASS_PXE);
  pxc_config_free(cfg);
}
END_TEST

/* Several instances of 16, with different enterprises, and entries: the
   entry that names a class is kept, with its own enterprise. */
START_TEST(vendor_class_instances)
{
  start6(1, 3);
  put16(16);
  put16(4 + 2 + 3 + 2 + 5);
  put32(9999);
  put16(3);
  put("abc", 3);
  put16(5);
  put("xyzzy", 5);
  vendor_class6(343, "HTTPClient:Arch:00016:UNDI:003000");
  arch6(16);
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_HTTP_BOOT);
  ck_assert_uint_eq(req.enterprise, 343);
  ck_assert_uint_eq(req.vendor_class_count, 3);
  ck_assert_uint_eq(pxc_vendor_class(&req).len, 33);
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

/* Every entry of every 15 is a user class. */
START_TEST(user_class_entries)
{
  start6(11, 4);
  put16(15);
  put16(2 + 4 + 2 + 4);
  put16(4);
  put("CSTM", 4);
  put16(4);
  put("abcd", 4);
  user_class6("iPXE");
  classify6();
  ck_assert_uint_eq(req.user_class_count, 3);
  ck_assert(memcmp(pxc_user_class(&req, 2).data, "iPXE", 4) == 0);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.msg_type, 11);
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_uint_eq(req.warnings, PXC_WARN_NO_ARCH); /* as over DHCPv4 */
}
END_TEST

/* Every value of 61, of every instance (with a PXEClient: HTTPClient
   would read 7 and 11 as their HTTP codes, http-arch-as-pxe). */
START_TEST(arch_every_value)
{
  start6(1, 5);
  put16(61);
  put16(4);
  put16(16);
  put16(7);
  arch6(11);
  vendor_class6(343, "PXEClient:Arch:00016:UNDI:003000");
  classify6();
  ck_assert_uint_eq(req.arch_count, 3);
  ck_assert_uint_eq(req.arch_list[0], 16);
  ck_assert_uint_eq(req.arch_list[1], 7);
  ck_assert_uint_eq(req.arch_list[2], 11);
  ck_assert_uint_eq(req.arch, 16);
}
END_TEST

/* The same class twice: the DHCPv6 tag loop of stock dnsmasq. */
START_TEST(class_repeated)
{
  start6(1, 6);
  put16(15);
  put16(12);
  put16(4);
  put("iPXE", 4);
  put16(4);
  put("iPXE", 4);
  classify6();
  ck_assert(req.warnings & PXC_WARN_CLASS_REPEATED);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  start6(1, 6);
  vendor_class6(343, "PXEClient:Arch:00007:UNDI:003000");
  vendor_class6(343, "PXEClient");
  classify6();
  ck_assert(req.warnings & PXC_WARN_CLASS_REPEATED);
  ck_assert_uint_eq(req.arch60, 7); /* the first entry kept */
  build_ipxe();
  ck_assert(!(classify6()->warnings & PXC_WARN_CLASS_REPEATED));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Relays                                                              */

/* Wrap the message built so far in a RELAY-FORW with hop count HOPS,
   link-address ending LINK, and the options of EXTRA (NULL: none) before
   the relay message. */
static void
relay_wrap(uint8_t hops, uint8_t link, const uint8_t *extra, size_t extra_len)
{
  static uint8_t inner[sizeof(m.buf)];
  size_t n = m.len;
  uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8};

  ck_assert_uint_le(n + 34 + 4 + extra_len, sizeof(m.buf));
  memcpy(inner, m.buf, n);
  m.len = 0;
  m.buf[m.len++] = 12;
  m.buf[m.len++] = hops;
  addr[15] = link;
  put(addr, 16);
  addr[0] = 0xfe;
  addr[1] = 0x80;
  put(addr, 16);
  if (extra)
    put(extra, extra_len);
  opt6(9, inner, n);
}

/* Relayed iPXE: the client's message, the relay's addresses and
   interface-id, the MAC from option 79. */
START_TEST(relayed_with_79)
{
  uint8_t extra[4 + 5 + 4 + 8] = {0,   18, 0,  5, 'e', 't', 'h', '0',
                                  '1', 0,  79, 0, 8,   0,   1};
  memcpy(extra + 15, mac, 6);
  build_ipxe();
  relay_wrap(0, 0x11, extra, sizeof(extra));
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.msg_type, 1);
  ck_assert_uint_eq(req.xid, 0x5985f4);
  ck_assert_uint_eq(req.relay_depth, 1);
  ck_assert_uint_eq(req.link_address[15], 0x11);
  ck_assert_uint_eq(req.peer_address[0], 0xfe);
  ck_assert_uint_eq(req.interface_id_len, 5);
  ck_assert(memcmp(req.interface_id, "eth01", 5) == 0);
  ck_assert_int_eq(req.mac_source, PXC_MAC_RELAY);
  ck_assert_str_eq(text_of(pxc_format_mac), "52:54:00:77:00:01");
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

/* Two relays, 79 from the outer one only (dnsmasq takes 79 from any
   level); the addresses and interface-id of the inner one. */
START_TEST(relayed_twice)
{
  uint8_t with79[4 + 8] = {0, 79, 0, 8, 0, 1};
  uint8_t iface[4 + 2] = {0, 18, 0, 2, 'i', '1'};

  memcpy(with79 + 6, mac, 6);
  build_uboot(0x16);
  relay_wrap(0, 0x21, iface, sizeof(iface));
  relay_wrap(1, 0x22, with79, sizeof(with79));
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.relay_depth, 2);
  ck_assert_uint_eq(req.link_address[15], 0x21);
  ck_assert_uint_eq(req.interface_id_len, 2);
  ck_assert_int_eq(req.mac_source, PXC_MAC_RELAY);
  ck_assert_uint_eq(req.errors, 0);
}
END_TEST

/* Without 79 no MAC from the relay: the DUID-LL's, else none. */
START_TEST(relayed_without_79)
{
  build_edk2_pxe();
  relay_wrap(0, 1, NULL, 0);
  classify6();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  ck_assert_int_eq(req.mac_source, PXC_MAC_NONE);
  ck_assert_uint_eq(req.hlen, 0);
  ck_assert_uint_eq(req.interface_id_len, 0);
}
END_TEST

/* PXC_RELAY_MAX relays are read; one more is not. */
START_TEST(relay_too_deep)
{
  build_ipxe();
  for (unsigned i = 0; i < PXC_RELAY_MAX; i++)
    relay_wrap((uint8_t)i, (uint8_t)i, NULL, 0);
  classify6();
  ck_assert_uint_eq(req.relay_depth, PXC_RELAY_MAX);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.errors, 0);
  relay_wrap(PXC_RELAY_MAX, 0, NULL, 0);
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_RELAY_DEPTH);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_NONE);
  ck_assert_uint_eq(req.msg_type, 12);
}
END_TEST

START_TEST(relay_without_message)
{
  uint8_t iface[4 + 2] = {0, 18, 0, 2, 'i', '1'};
  m.len = 0;
  relay_wrap(0, 1, NULL, 0);
  m.len -= 4; /* drop the empty option 9 */
  put(iface, sizeof(iface));
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_RELAY_MSG);
  ck_assert_uint_eq(req.relay_depth, 1);
  m.len = 33; /* a relay header cut short */
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Malformed                                                           */

/* An option whose length runs past the end: what came before counts. */
START_TEST(length_past_end)
{
  build_edk2_pxe();
  put16(15);
  put16(40);
  put16(4);
  put("iPXE", 4);
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_OPT_OVERRUN);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  ck_assert_uint_eq(req.user_class_count, 0);
}
END_TEST

/* An option header cut after its code. */
START_TEST(truncated_option)
{
  build_ipxe();
  put16(16);
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_OPT_OVERRUN);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  m.len = 3; /* not even the transaction id */
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
  ck_assert_uint_eq(req.msg_type, 1);
  pxc_classify6(NULL, NULL, 0, &req);
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
}
END_TEST

/* Empty class entries and lists, cut entries. */
START_TEST(zero_length_class)
{
  static const uint8_t empty_entry[] = {0, 0};
  static const uint8_t cut_entry[] = {0, 9, 'i', 'P'};
  static const uint8_t ent_only[] = {0, 0, 1, 0x57};
  static const uint8_t short_ent[] = {0, 0, 1};
  static const uint8_t ent_empty_entry[] = {0, 0, 1, 0x57, 0, 0};

  start6(1, 7);
  opt6(15, empty_entry, sizeof(empty_entry));
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_USER_CLASS);
  start6(1, 7);
  opt6(15, NULL, 0);
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_USER_CLASS);
  start6(1, 7);
  opt6(15, cut_entry, sizeof(cut_entry));
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_USER_CLASS);
  ck_assert_uint_eq(req.user_class_count, 0);
  start6(1, 7);
  opt6(16, ent_only, sizeof(ent_only));
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_VENDOR_CLASS);
  start6(1, 7);
  opt6(16, short_ent, sizeof(short_ent));
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_VENDOR_CLASS);
  start6(1, 7);
  opt6(16, ent_empty_entry, sizeof(ent_empty_entry));
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_VENDOR_CLASS);
  ck_assert(!req.has_vendor_class);
}
END_TEST

START_TEST(arch_odd_length)
{
  static const uint8_t odd[3] = {0, 7, 0};
  start6(1, 8);
  opt6(61, odd, 3);
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_ARCH);
  ck_assert_uint_eq(req.arch_count, 1);
  ck_assert_uint_eq(req.arch, 7);
  start6(1, 8);
  opt6(61, NULL, 0);
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_ARCH);
}
END_TEST

START_TEST(bad_duid_nii_79)
{
  uint8_t ll79[4 + 2] = {0, 79, 0, 2, 0, 1};
  start6(1, 9);
  opt6(1, duid_ipxe, 17); /* DUID-UUID a byte short */
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_DUID);
  ck_assert(!req.has_uuid);
  start6(1, 9);
  opt6(1, duid_ipxe, 1);
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_DUID);
  start6(1, 9);
  nii6(2, 3, 0);
  ck_assert_uint_eq(classify6()->errors, PXC_ERR_UNDI);
  build_uboot(0x16);
  relay_wrap(0, 1, ll79, sizeof(ll79));
  classify6();
  ck_assert_uint_eq(req.errors, PXC_ERR_LINK_LAYER);
  ck_assert_int_eq(req.mac_source, PXC_MAC_DUID_LL); /* the next best */
}
END_TEST

/* Every prefix of every packet, in an exact-size buffer (ASan sees a read
   past it): classified without a crash, its counts within bounds, and
   the whole packet's class once whole. */
START_TEST(every_truncation)
{
  static void (*const builds[])(void) = {build_edk2_pxe, build_edk2_http,
                                         build_ipxe};
  uint8_t extra[4 + 8] = {0, 79, 0, 8, 0, 1};

  memcpy(extra + 6, mac, 6);
  for (size_t k = 0; k < 2 * sizeof(builds) / sizeof(builds[0]); k++) {
    struct pxc_request whole;
    builds[k / 2]();
    if (k % 2)
      relay_wrap(0, 1, extra, sizeof(extra));
    pxc_classify6(NULL, m.buf, m.len, &whole);
    for (size_t len = 0; len <= m.len; len++) {
      uint8_t *copy = malloc(len ? len : 1);
      memcpy(copy, m.buf, len);
      pxc_classify6(NULL, copy, len, &req);
      free(copy);
      ck_assert_uint_le(req.arch_count, PXC_MAX_ARCH);
      ck_assert_uint_le(req.user_class_count, PXC_MAX_USER_CLASS);
      ck_assert_uint_le(req.duid_len, PXC_DUID_MAX);
    }
    ck_assert_uint_eq(req.errors, 0);
    ck_assert_int_eq(req.fw_class, whole.fw_class);
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* DHCPv4 and DHCPv6 of one client agree                               */

/* The DHCPv4 DISCOVER of the same iPXE (f3: 60, 77, 93, 94, 97 in
   uuid_mangle order, 175). */
static void
build_ipxe_v4(struct builder *b)
{
  static const uint8_t arch7[2] = {0, 7};
  static const uint8_t undi[3] = {1, 3, 10};
  static const uint8_t uuid97[17] = {0,    0x33, 0x22, 0x11, 0x00, 0x55,
                                     0x44, 0x77, 0x66, 0x88, 0x99, 0xaa,
                                     0xbb, 0xcc, 0xdd, 0xee, 0xff};
  static const uint8_t eb[] = {0xeb, 3, 1, 0, 0, 0x13, 1, 1};

  builder_request(b, mac, 0x11223344, 1);
  builder_string(b, 60, "PXEClient:Arch:00007:UNDI:003010");
  builder_string(b, 77, "iPXE");
  builder_option(b, 93, arch7, 2);
  builder_option(b, 94, undi, 3);
  builder_option(b, 97, uuid97, 17);
  builder_option(b, 175, eb, sizeof(eb));
  builder_end(b);
}

/* The requests agree on class, architecture, UNDI and UUID. */
static void
assert_same_client(const struct pxc_request *v4, const struct pxc_request *v6)
{
  ck_assert_int_eq(v4->ip_family, PXC_IPV4);
  ck_assert_int_eq(v6->ip_family, PXC_IPV6);
  ck_assert_int_eq(v4->fw_class, v6->fw_class);
  ck_assert_int_eq(v4->arch_source, v6->arch_source);
  ck_assert_uint_eq(v4->arch, v6->arch);
  ck_assert_uint_eq(v4->arch_count, v6->arch_count);
  ck_assert(memcmp(v4->arch_list, v6->arch_list, sizeof(v4->arch_list)) == 0);
  ck_assert_uint_eq(v4->undi_major, v6->undi_major);
  ck_assert_uint_eq(v4->undi_minor, v6->undi_minor);
  ck_assert(v4->has_uuid && v6->has_uuid);
  ck_assert(memcmp(v4->uuid, v6->uuid, 16) == 0);
}

START_TEST(ipxe_v4_v6_agree)
{
  static struct builder b;
  struct pxc_request v4;

  build_ipxe_v4(&b);
  pxc_classify(NULL, b.buf, b.len, &v4);
  build_ipxe();
  classify6();
  assert_same_client(&v4, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  /* what only option 175 says is there over DHCPv4 only */
  ck_assert(v4.ipxe.has_version && !req.ipxe.has_version);
}
END_TEST

START_TEST(edk2_v4_v6_agree)
{
  static struct builder b;
  static const uint8_t arch7[2] = {0, 7};
  static const uint8_t undi[3] = {1, 3, 0};
  static const uint8_t uuid97[17] = {0,    0x33, 0x22, 0x11, 0x00, 0x55,
                                     0x44, 0x77, 0x66, 0x88, 0x99, 0xaa,
                                     0xbb, 0xcc, 0xdd, 0xee, 0xff};
  struct pxc_request v4;

  builder_request(&b, mac, 0x55667788, 1);
  builder_string(&b, 60, "PXEClient:Arch:00007:UNDI:003000");
  builder_option(&b, 93, arch7, 2);
  builder_option(&b, 94, undi, 3);
  builder_option(&b, 97, uuid97, 17);
  builder_end(&b);
  pxc_classify(NULL, b.buf, b.len, &v4);
  build_edk2_pxe();
  classify6();
  assert_same_client(&v4, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  /* one program over both families: one fingerprint */
  ck_assert_uint_eq(v4.fingerprint, req.fingerprint);
}
END_TEST

START_TEST(summary_line6)
{
  struct pxc_verdict v = {.own = PXC_OWN_UNKNOWN, .req = &req};
  char text[256];

  build_ipxe();
  classify6();
  pxc_format_summary(&v, text, sizeof(text));
  ck_assert_str_eq(text, "class=ipxe family=ipv6 arch=7(efi-x64) "
                         "user-class=iPXE");
}
END_TEST

/* ------------------------------------------------------------------ */
/* The DHCPv6 captures (tests/captures/g*, OVMF and QEMU's iPXE ROM      */
/* against dnsmasq 2.90; tests/captures/README.md)                      */

#define CAPTURE_MAX 64

/* The class of each client message of capture NAME, in order ("pxe none
   …"), each checked as it goes: no error, and the one machine's UUID in
   canonical order, EDK2's turned round (uuid-edk2-order) where a class
   or its IA_NA lifetimes say EDK2; the exception is the REQUEST of
   EDK2's IP stack, which names no class and copies T1/T2 from the
   ADVERTISE: its DUID-UUID stays in the RFC's order, as sent. */
static const char *
capture_classes(const char *name)
{
  static char classes[512];
  static struct loaded pkts[CAPTURE_MAX];
  size_t n = load_capture6(name, pkts, CAPTURE_MAX), used = 0;
  char uuid[40];

  classes[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (!pkts[i].request)
      continue;
    pxc_classify6(NULL, pkts[i].data, pkts[i].len, &req);
    ck_assert_msg(req.errors == 0, "%s: message %zu: errors %x", name, i,
                  req.errors);
    ck_assert_str_eq(pxc_format_uuid(&req, uuid, sizeof(uuid)),
                     req.fw_class == PXC_CLASS_NONE && req.msg_type == 3 &&
                             !(req.warnings & PXC_WARN_UUID_EDK2)
                         ? "33221100-5544-7766-8899-aabbccddeeff"
                         : uuid_text);
    ck_assert_uint_eq(req.relay_depth, 0);
    ck_assert_int_eq(req.mac_source, PXC_MAC_NONE); /* DUID-UUID only */
    if (req.fw_class == PXC_CLASS_PXE || req.fw_class == PXC_CLASS_HTTP_BOOT)
      ck_assert(req.warnings & PXC_WARN_UUID_EDK2);
    used += (size_t)snprintf(classes + used, sizeof(classes) - used, "%s%s",
                             used ? " " : "", pxc_class_name(req.fw_class));
    ck_assert_uint_lt(used, sizeof(classes));
  }
  free_loaded(pkts, n);
  return classes;
}

/* g1: Ip6Config SOLICIT/REQUEST, PXEv6 SOLICIT/REQUEST, two RELEASEs,
   then Debian's ipxe.efi SOLICIT/REQUEST. */
START_TEST(capture_g1_pxev6)
{
  ck_assert_str_eq(capture_classes("g1-ovmf-pxev6"),
                   "none none pxe pxe none none ipxe ipxe");
  ck_assert_str_eq(capture_classes("g1b-ovmf-pxev6-authoritative"),
                   "none none pxe pxe none none ipxe ipxe");
}
END_TEST

/* g2: HTTPv6 SOLICIT, Ip6Config SOLICIT/REQUEST, HTTPv6 REQUEST, two
   RELEASEs, iPXE; g2b: no REQUEST follows the HTTPv6 SOLICIT. */
START_TEST(capture_g2_httpv6)
{
  ck_assert_str_eq(capture_classes("g2-ovmf-httpv6"),
                   "http-boot none none http-boot none none ipxe ipxe");
  ck_assert_str_eq(capture_classes("g2b-ovmf-httpv6-noecho"),
                   "http-boot none none");
}
END_TEST

START_TEST(capture_g3_ipxe_rom)
{
  ck_assert_str_eq(capture_classes("g3-seabios-ipxe-dualstack"), "ipxe ipxe");
  ck_assert_str_eq(capture_classes("g3b-seabios-ipxe-v6only"), "ipxe ipxe");
}
END_TEST

/* The first request of each family in capture NAME, classified. */
static void
first_of_each(const char *name, struct pxc_request *v4, struct pxc_request *v6)
{
  static struct loaded pkts[CAPTURE_MAX];
  size_t n = load_capture(name, pkts, CAPTURE_MAX), i;

  for (i = 0; i < n && !pkts[i].request; i++)
    ;
  ck_assert_uint_lt(i, n);
  pxc_classify(NULL, pkts[i].data, pkts[i].len, v4);
  free_loaded(pkts, n);
  n = load_capture6(name, pkts, CAPTURE_MAX);
  for (i = 0; i < n && !pkts[i].request; i++)
    ;
  ck_assert_uint_lt(i, n);
  pxc_classify6(NULL, pkts[i].data, pkts[i].len, v6);
  free_loaded(pkts, n);
}

/* One client over both families, from the wire: QEMU's BIOS iPXE ROM's
   DISCOVER and SOLICIT (g3), OVMF HTTP Boot's (g2). */
START_TEST(capture_v4_v6_agree)
{
  struct pxc_request v4, v6;

  first_of_each("g3-seabios-ipxe-dualstack", &v4, &v6);
  assert_same_client(&v4, &v6);
  ck_assert_int_eq(v6.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(v6.arch, 0);
  ck_assert(v6.undi_major == 2 && v6.undi_minor == 1);
  first_of_each("g2-ovmf-httpv6", &v4, &v6);
  assert_same_client(&v4, &v6);
  ck_assert_int_eq(v6.fw_class, PXC_CLASS_HTTP_BOOT);
  ck_assert_uint_eq(v6.arch, 16);
  ck_assert_uint_eq(v4.fingerprint, v6.fingerprint);
}
END_TEST

#ifndef PXC_SANITIZED
/* The thread body: classify M, or only return (the baseline). */
static void *
stack_thread6(void *arg)
{
  static struct pxc_request r;

  if (arg)
    pxc_classify6(NULL, m.buf, m.len, &r);
  return NULL;
}

/* pxc_classify6() within the same 2 KiB as pxc_classify(), on a relayed
   message with every option read. */
START_TEST(stack_within_2k6)
{
  uint8_t extra[4 + 8 + 6] = {0, 79, 0, 8, 0, 1};
  size_t base, used;

  memcpy(extra + 6, mac, 6);
  memcpy(extra + 12,
         "\0\x12\0\x02"
         "i1",
         6);
  build_ipxe();
  relay_wrap(0, 1, extra, sizeof(extra));
  relay_wrap(1, 2, NULL, 0);
  classify6(); /* lazy binding first, as stack_within_2k */
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.errors, 0);
  base = stack_touched(stack_thread6, NULL);
  used = stack_touched(stack_thread6, &m) - base;
  printf("stack: pxc_classify6 used %zu bytes\n", used);
  ck_assert_uint_le(used, 2048);
  ck_assert_uint_gt(used, 0);
}
END_TEST
#endif

Suite *
classify6_suite(void)
{
  Suite *s = suite_create("classify6");
  TCase *fw = tcase_create("firmware");
  TCase *relay = tcase_create("relay");
  TCase *bad = tcase_create("malformed");
  TCase *both = tcase_create("families");
  TCase *captures = tcase_create("captures");

  tcase_add_test(fw, edk2_pxe);
  tcase_add_test(fw, edk2_http);
  tcase_add_test(fw, ipxe);
  tcase_add_test(fw, uboot_arm64);
  tcase_add_test(fw, uboot_x86);
  tcase_add_test(fw, edk2_ip6config);
  tcase_add_test(fw, grub_solicit);
  tcase_add_test(fw, duid_llt_mac);
  tcase_add_test(fw, own_user_class);
  tcase_add_test(fw, vendor_class_instances);
  tcase_add_test(fw, user_class_entries);
  tcase_add_test(fw, arch_every_value);
  tcase_add_test(fw, class_repeated);
  tcase_add_test(relay, relayed_with_79);
  tcase_add_test(relay, relayed_twice);
  tcase_add_test(relay, relayed_without_79);
  tcase_add_test(relay, relay_too_deep);
  tcase_add_test(relay, relay_without_message);
  tcase_add_test(bad, length_past_end);
  tcase_add_test(bad, truncated_option);
  tcase_add_test(bad, zero_length_class);
  tcase_add_test(bad, arch_odd_length);
  tcase_add_test(bad, bad_duid_nii_79);
  tcase_add_test(bad, every_truncation);
  tcase_add_test(both, ipxe_v4_v6_agree);
  tcase_add_test(both, edk2_v4_v6_agree);
  tcase_add_test(both, summary_line6);
#ifndef PXC_SANITIZED
  tcase_add_test(both, stack_within_2k6);
#endif
  tcase_add_test(captures, capture_g1_pxev6);
  tcase_add_test(captures, capture_g2_httpv6);
  tcase_add_test(captures, capture_g3_ipxe_rom);
  tcase_add_test(captures, capture_v4_v6_agree);
  suite_add_tcase(s, captures);
  suite_add_tcase(s, fw);
  suite_add_tcase(s, relay);
  suite_add_tcase(s, bad);
  suite_add_tcase(s, both);
  return s;
}
