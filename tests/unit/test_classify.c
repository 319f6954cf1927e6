/*
 * Unit tests of the classifier (lib/classify.c) on crafted packets: every
 * class, the architecture rules and quirks, both forms of option 77, and
 * every malformed option of SPEC §3.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "pxeclass.h"
#include "suites.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t arch0[2] = {0x00, 0x00};
static const uint8_t arch7[2] = {0x00, 0x07};
static const uint8_t undi21[3] = {1, 2, 1};

static struct builder b;
static struct pxc_request req;

/* Classify the packet built so far (with an END) using default quirks. */
static const struct pxc_request *
classify_built(void)
{
  builder_end(&b);
  pxc_classify(NULL, b.buf, b.len, &req);
  return &req;
}

/* Start a DISCOVER from a PXE BIOS-style client with vendor class VC. */
static void
start(const char *vc)
{
  builder_request(&b, mac, 0x1234, 1);
  if (vc)
    builder_string(&b, 60, vc);
}

static const char *
text_of(char *(*fmt)(const struct pxc_request *, char *, size_t))
{
  static char text[256];
  return fmt(&req, text, sizeof(text));
}

/* ------------------------------------------------------------------ */
/* Classes                                                             */

START_TEST(gpxe_097)
{
  static const uint8_t eb[] = {0xb1, 0x05, 0x01, 0x10, 0xec, 0x81, 0x39,
                               0xeb, 0x03, 0x00, 0x09, 0x07, 0x13, 0x01, 0x01,
                               0x21, 0x01, 0x01, 0x10, 0x01, 0x02};
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_string(&b, 77, "gPXE");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 94, undi21, 3);
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_GPXE);
  ck_assert_str_eq(text_of(pxc_format_version), "0.9.7");
  ck_assert_str_eq(text_of(pxc_format_busid), "pci:10ec:8139");
  ck_assert_str_eq(text_of(pxc_format_features), "pxe-ext http pxe");
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

/* gPXE 0.9.3–0.9.6: option 175 but no version and no user class. */
START_TEST(gpxe_without_version)
{
  static const uint8_t eb[] = {0xb1, 0x05, 0x01, 0x10, 0xec, 0x81, 0x39,
                               0x13, 0x01, 0x01};
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, eb, sizeof(eb));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_GPXE);
}
END_TEST

START_TEST(etherboot_54)
{
  start("Etherboot-5.4");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_ETHERBOOT);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_NONE);
  ck_assert_uint_eq(req.warnings, 0); /* Etherboot never sent an arch */
}
END_TEST

START_TEST(uboot_vendor_class)
{
  start("U-Boot.armv8");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_UBOOT);
}
END_TEST

/* U-Boot with CONFIG_BOOTP_PXE says PXEClient, with a U-Boot arch. */
START_TEST(uboot_pxe_arch)
{
  static const uint8_t arch22[2] = {0x00, 0x16};
  start("PXEClient:Arch:00022:UNDI:000000");
  builder_option(&b, 93, arch22, 2);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 22);
}
END_TEST

START_TEST(http_boot_arm64)
{
  static const uint8_t arch19[2] = {0x00, 0x13};
  static const uint8_t undi30[3] = {1, 3, 0};
  start("HTTPClient:Arch:00019:UNDI:003000");
  builder_option(&b, 93, arch19, 2);
  builder_option(&b, 94, undi30, 3);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_HTTP_BOOT);
  ck_assert_uint_eq(req.arch, 19);
  ck_assert_str_eq(pxc_arch_by_code(req.arch)->name, "efi-arm64-http");
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}
END_TEST

START_TEST(ordinary_client)
{
  start("android-dhcp-14");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
  ck_assert_uint_eq(req.agent, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.warnings, 0);
  start(NULL);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* A custom iPXE build with its own user class is still iPXE. */
START_TEST(ipxe_custom_user_class)
{
  static const uint8_t eb[] = {0xeb, 0x03, 0x01, 0x15, 0x01};
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_string(&b, 77, "CSTM");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, eb, sizeof(eb));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_IPXE);
  ck_assert_str_eq(text_of(pxc_format_version), "1.21.1");
}
END_TEST

/* ------------------------------------------------------------------ */
/* User class                                                          */

START_TEST(user_class_rfc3004)
{
  start("PXEClient");
  builder_option(&b, 77, "\x04iPXE\x04" "CSTM", 10);
  classify_built();
  ck_assert(req.user_class_rfc3004);
  ck_assert_uint_eq(req.user_class_count, 2);
  ck_assert_uint_eq(pxc_user_class(&req, 1).len, 4);
  ck_assert(memcmp(pxc_user_class(&req, 1).data, "CSTM", 4) == 0);
  ck_assert_ptr_null(pxc_user_class(&req, 2).data);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
}
END_TEST

/* Counts that do not add up: the option is one raw string, as in dnsmasq. */
START_TEST(user_class_raw_with_small_first_byte)
{
  start("PXEClient");
  builder_option(&b, 77, "\x02" "abcd", 5);
  classify_built();
  ck_assert(!req.user_class_rfc3004);
  ck_assert_uint_eq(req.user_class_count, 1);
  ck_assert_uint_eq(pxc_user_class(&req, 0).len, 5);
}
END_TEST

START_TEST(user_class_many)
{
  start("PXEClient");
  builder_option(&b, 77, "\x01" "a\x01" "b\x01" "c\x01" "d\x01" "e\x01" "f\x01" "g\x01" "h\x01" "i",
                 18);
  classify_built();
  ck_assert_uint_eq(req.user_class_count, PXC_MAX_USER_CLASS);
  ck_assert(req.warnings & PXC_WARN_USER_CLASS_MANY);
}
END_TEST

START_TEST(user_class_split)
{
  start("PXEClient");
  builder_string(&b, 77, "iP");
  builder_string(&b, 77, "XE");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(pxc_user_class(&req, 0).len, 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Architecture                                                        */

START_TEST(two_arch_values)
{
  static const uint8_t two[4] = {0x00, 0x07, 0x00, 0x10};
  start("PXEClient:Arch:00007:UNDI:003016");
  builder_option(&b, 93, two, 4);
  classify_built();
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.arch_count, 2);
  ck_assert_uint_eq(req.arch_list[1], 16);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

START_TEST(x64_sending_9)
{
  static const uint8_t arch9[2] = {0x00, 0x09};
  start("PXEClient:Arch:00009:UNDI:003016");
  builder_option(&b, 93, arch9, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.arch93_raw, 9);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH9_AS_X64);
}
END_TEST

/* No option 93: the Arch digits of 60, read as decimal (00011 is 11). */
START_TEST(arch_from_60_only)
{
  start("PXEClient:Arch:00011:UNDI:003000");
  classify_built();
  ck_assert_int_eq(req.arch_source, PXC_ARCH_OPT60);
  ck_assert_uint_eq(req.arch, 11);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH_FROM_60);
}
END_TEST

/* iPXE x86_64 EFI builds of mid-2016 sent 93 = 7 with Arch:00009. */
START_TEST(arch_93_60_mismatch)
{
  start("PXEClient:Arch:00009:UNDI:003010");
  builder_option(&b, 93, arch7, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.arch60, 9);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH_MISMATCH);
}
END_TEST

START_TEST(undi_mismatch)
{
  start("PXEClient:Arch:00000:UNDI:003010");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 94, undi21, 3);
  ck_assert_uint_eq(classify_built()->warnings, PXC_WARN_UNDI_MISMATCH);
}
END_TEST

/* iPXE for s390x sends 0xffff, which IANA has not assigned. */
START_TEST(arch_unassigned)
{
  static const uint8_t ffff[2] = {0xff, 0xff};
  start("PXEClient:Arch:65535:UNDI:003010");
  builder_option(&b, 93, ffff, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 0xffff);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH_UNKNOWN);
}
END_TEST

START_TEST(arch_too_many)
{
  uint8_t many[2 * (PXC_MAX_ARCH + 2)] = {0};
  start("PXEClient");
  builder_option(&b, 93, many, sizeof(many));
  classify_built();
  ck_assert_uint_eq(req.arch_count, PXC_MAX_ARCH);
  ck_assert(req.warnings & PXC_WARN_ARCH_MANY);
}
END_TEST

START_TEST(pxe_without_arch)
{
  start("PXEClient");
  ck_assert_uint_eq(classify_built()->warnings, PXC_WARN_NO_ARCH);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Option 175                                                          */

/* No order assumed, no END required, END inside honoured. */
START_TEST(encap_order_does_not_matter)
{
  static const uint8_t one[] = {0x13, 1, 1, 0xeb, 3, 1, 0, 0, 0x15, 1, 1};
  static const uint8_t two[] = {0x15, 1, 1, 0x13, 1, 1, 0xeb, 3, 1, 0, 0, 0xff,
                                0x14, 1, 1};
  uint64_t fp;

  start("PXEClient");
  builder_option(&b, 175, one, sizeof(one));
  classify_built();
  fp = req.fingerprint;
  start("PXEClient");
  builder_option(&b, 175, two, sizeof(two));
  classify_built();
  ck_assert_uint_eq(req.fingerprint, fp);
  ck_assert_str_eq(text_of(pxc_format_features), "http tftp");
}
END_TEST

START_TEST(unknown_feature_kept_by_number)
{
  static const uint8_t eb[] = {0xeb, 3, 2, 0, 0, 0x42, 1, 1, 0x14, 1, 1};
  start("PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert(pxc_has_feature(&req, 0x42));
  ck_assert_str_eq(text_of(pxc_format_features), "https 66");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Malformed input: flagged, read as far as possible                  */

START_TEST(arch_empty)
{
  start("PXEClient:Arch:00007:UNDI:003000");
  builder_option(&b, 93, "", 0);
  classify_built();
  ck_assert_uint_eq(req.errors, PXC_ERR_ARCH);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_OPT60); /* falls back */
  ck_assert_uint_eq(req.arch, 7);
}
END_TEST

START_TEST(arch_odd_length)
{
  static const uint8_t three[3] = {0x00, 0x0b, 0x00};
  start("PXEClient");
  builder_option(&b, 93, three, 3);
  classify_built();
  ck_assert_uint_eq(req.errors, PXC_ERR_ARCH);
  ck_assert_uint_eq(req.arch_count, 1);
  ck_assert_uint_eq(req.arch, 11);
}
END_TEST

START_TEST(encap_overrun)
{
  static const uint8_t eb[] = {0xeb, 3, 1, 0, 0, 0x13, 1, 1, 0x14, 7, 1};
  start("PXEClient");
  builder_string(&b, 77, "iPXE");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_uint_eq(req.errors, PXC_ERR_ENCAP);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_str_eq(text_of(pxc_format_features), "http");
  ck_assert(!pxc_has_feature(&req, 0x14));
}
END_TEST

/* A truncated 175 before the version is not taken for old gPXE. */
START_TEST(encap_overrun_without_version)
{
  static const uint8_t eb[] = {0xb1, 9, 1, 0x1a};
  start("PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.errors, PXC_ERR_ENCAP);
}
END_TEST

START_TEST(encap_bad_lengths)
{
  static const uint8_t eb[] = {0xeb, 2, 1, 0, 0xb1, 4, 1, 0x1a, 0xf4, 0x10,
                               0x13, 2, 1, 1};
  start("PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_uint_eq(req.errors, PXC_ERR_ENCAP_VALUE);
  ck_assert(!req.ipxe.has_version);
  ck_assert(!req.ipxe.has_busid);
  ck_assert(!pxc_has_feature(&req, 0x13)); /* a flag is one byte */
}
END_TEST

START_TEST(uuid_bad)
{
  uint8_t uuid[17] = {1};
  start("PXEClient");
  builder_option(&b, 97, uuid, 17); /* type 1 is reserved */
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_UUID);
  ck_assert(!req.has_uuid);
  start("PXEClient");
  builder_option(&b, 97, uuid, 16);
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_UUID);
}
END_TEST

START_TEST(undi_bad)
{
  static const uint8_t bad[3] = {2, 3, 0};
  start("PXEClient");
  builder_option(&b, 94, bad, 3);
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_UNDI);
  start("PXEClient");
  builder_option(&b, 94, bad, 2);
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_UNDI);
}
END_TEST

START_TEST(msg_type_bad)
{
  builder_request(&b, mac, 1, 0);
  builder_option(&b, 53, "\x01\x01", 2);
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_MSG_TYPE);
  ck_assert_uint_eq(req.msg_type, 0);
}
END_TEST

START_TEST(user_class_empty)
{
  start("PXEClient");
  builder_option(&b, 77, "", 0);
  ck_assert_uint_eq(classify_built()->errors, PXC_ERR_USER_CLASS);
  ck_assert_uint_eq(req.user_class_count, 0);
}
END_TEST

START_TEST(hlen_too_long)
{
  start(NULL);
  b.buf[2] = 200;
  classify_built();
  ck_assert_uint_eq(req.errors, PXC_ERR_HLEN);
  ck_assert_uint_eq(strlen(text_of(pxc_format_mac)), 16 * 3 - 1);
}
END_TEST

START_TEST(bootp_without_options)
{
  builder_request(&b, mac, 7, 0);
  classify_built();
  ck_assert_uint_eq(req.msg_type, 0);
  ck_assert_uint_eq(req.xid, 7);
  ck_assert_uint_eq(req.errors, 0);
}
END_TEST

/* A header cut short: what lies inside is still read. */
START_TEST(short_packet_header)
{
  start("PXEClient");
  pxc_classify(NULL, b.buf, 40, &req);
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
  ck_assert_uint_eq(req.xid, 0x1234);
  ck_assert_uint_eq(req.hlen, 6);
  pxc_classify(NULL, b.buf, 0, &req);
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

START_TEST(summary_line)
{
  static const uint8_t eb[] = {0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00,
                               0xeb, 3, 1, 0, 0, 0x13, 1, 1};
  struct pxc_verdict v = {.own = PXC_OWN_VENDOR, .req = &req};
  char line[512];

  start("PXEClient:Arch:00000:UNDI:002001");
  builder_string(&b, 77, "iPXE");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_str_eq(pxc_format_summary(&v, line, sizeof(line)),
                   "class=ipxe own=vendor arch=0(x86-bios) version=1.0.0 "
                   "busid=pci:1af4:1000 user-class=iPXE features=http");
  /* never more than the buffer */
  pxc_format_summary(&v, line, 10);
  ck_assert_str_eq(line, "class=ipx");
}
END_TEST

/* Bytes from the wire cannot put control characters into a log line. */
START_TEST(summary_escapes_wire_text)
{
  struct pxc_verdict v = {.own = PXC_OWN_UNKNOWN, .req = &req};
  char line[512];

  start("PXEClient");
  builder_option(&b, 77, "i\nP\\", 4);
  builder_option(&b, 93, "\x00", 1);
  classify_built();
  ck_assert_str_eq(pxc_format_summary(&v, line, sizeof(line)),
                   "class=pxe user-class=i\\x0aP\\x5c errors=arch-length "
                   "warnings=no-arch");
}
END_TEST


/* ------------------------------------------------------------------ */
/* Clients we have no capture of, crafted byte for byte from their     */
/* sources (see the comments for the exact origin of each layout)      */

/* A request whose options are the raw bytes OPTS (after the cookie), from
   MAC, padded with zeros to PAYLOAD bytes as the client would. */
static const struct pxc_request *
classify_raw(const uint8_t mac_in[6], const uint8_t *opts, size_t len,
             size_t payload)
{
  builder_request(&b, mac_in, 0x4242, 0);
  builder_raw(&b, opts, len);
  if (b.len < payload)
    b.len = payload; /* builder_request zeroed the buffer */
  pxc_classify(NULL, b.buf, b.len, &req);
  return &req;
}

/* Raspberry Pi 4 EEPROM DISCOVER (rpi-eeprom#58 capture, bcm2711 docs):
   53, 55, 93 = 0, 94 = 2.1, 97 = 0 "RPi4" rev mac serial, 60. */
START_TEST(raspberry_pi4)
{
  static const uint8_t pi_mac[6] = {0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03};
  static const uint8_t opts[] = {
      0x35, 1, 1,
      0x37, 14, 1, 3, 0x2b, 0x3c, 0x42, 0x43, 0x80, 0x81, 0x82, 0x83, 0x84,
      0x85, 0x86, 0x87,
      0x5d, 2, 0, 0,
      0x5e, 3, 1, 2, 1,
      0x61, 17, 0, 'R', 'P', 'i', '4', 0x11, 0x31, 0xc0, 0x00, 0x32, 0x01,
      0x02, 0x03, 0xef, 0xbe, 0xad, 0xde,
      0x3c, 32, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':', 'A', 'r',
      'c', 'h', ':', '0', '0', '0', '0', '0', ':', 'U', 'N', 'D', 'I', ':',
      '0', '0', '2', '0', '0', '1',
      0xff};
  const struct pxc_request *r = classify_raw(pi_mac, opts, sizeof(opts), 322);

  ck_assert_int_eq(r->fw_class, PXC_CLASS_PXE);
  ck_assert_uint_eq(r->arch, 0);
  ck_assert_uint_eq(r->arch_count, 2);
  ck_assert_uint_eq(r->arch_list[1], 41); /* arm-rpiboot, for "rpi" */
  ck_assert_uint_eq(r->warnings, PXC_WARN_RPI_AS_BIOS);
  ck_assert_uint_eq(r->errors, 0);

  /* its REQUEST drops option 60: 93 and 94 still make it a PXE client */
  classify_raw(pi_mac, opts, sizeof(opts) - 35, 0);
  builder_end(&b);
  pxc_classify(NULL, b.buf, b.len, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  ck_assert_uint_eq(req.warnings, PXC_WARN_RPI_AS_BIOS);
}
END_TEST

/* A Pi 5 on a MAC outside the list is known by its FourCC; an old Pi
   (serial-only option 97) by its OUI; a PC sending 0 by neither. */
START_TEST(raspberry_pi_other_marks)
{
  static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 1};
  static const uint8_t old_pi_mac[6] = {0xb8, 0x27, 0xeb, 1, 2, 3};
  uint8_t uuid[17] = {0, 'R', 'P', 'i', '5'};

  start("PXEClient:Arch:00000:UNDI:002001");
  memcpy(b.buf + 28, other_mac, 6);
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 97, uuid, 17);
  ck_assert_uint_eq(classify_built()->warnings, PXC_WARN_RPI_AS_BIOS);

  start("PXEClient:Arch:00000:UNDI:002001");
  memcpy(b.buf + 28, old_pi_mac, 6);
  builder_option(&b, 93, arch0, 2);
  ck_assert_uint_eq(classify_built()->warnings, PXC_WARN_RPI_AS_BIOS);

  uuid[1] = 'X';
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 97, uuid, 17);
  ck_assert_uint_eq(classify_built()->warnings, 0);
  ck_assert_uint_eq(req.arch_count, 1);
}
END_TEST

/* Etherboot 5.4 (src/core/nic.c): a 548-byte BOOTP payload, vendor class
   "Etherboot-5.4", option 150 holding the NIC id (big-endian) and the ELF
   machine (little-endian). */
START_TEST(etherboot_54_wire)
{
  static const uint8_t opts[] = {
      0x35, 1, 1, 0x39, 2, 0x05, 0xdc,
      0x3c, 13, 'E', 't', 'h', 'e', 'r', 'b', 'o', 'o', 't', '-', '5', '.', '4',
      0x37, 4, 1, 3, 0x0c, 0x2b,
      0x96, 11, 0xaf, 5, 1, 0x80, 0x86, 0x10, 0x0e, 0xb1, 2, 3, 0,
      0xff};
  const struct pxc_request *r = classify_raw(mac, opts, sizeof(opts), 548);

  ck_assert_int_eq(r->fw_class, PXC_CLASS_ETHERBOOT);
  ck_assert_str_eq(text_of(pxc_format_busid), "pci:8086:100e");
  ck_assert(!r->ipxe.present);
  ck_assert_uint_eq(r->errors | r->warnings, 0);
}
END_TEST

/* gPXE 2006–2007 snapshots: vendor class "Etherboot" and option 175. */
START_TEST(gpxe_2007_says_etherboot)
{
  static const uint8_t eb[] = {0xb1, 5, 1, 0x10, 0xec, 0x81, 0x39,
                               0x10, 1, 1, 0x13, 1, 1};
  start("Etherboot");
  builder_option(&b, 175, eb, sizeof(eb));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_ETHERBOOT);
}
END_TEST

/* gPXE 0.9.7 prepends its options (v0.9.7 dhcpopts.c): 97, 61, 175, 53,
   57, 93, 94, 60, 77, 55.  Its 175 is the bus id, 235 = 0.9.7 and eleven
   features. */
START_TEST(gpxe_097_wire)
{
  static const uint8_t opts[] = {
      0x61, 17, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
      0x3d, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
      0xaf, 45, 0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e, 0xeb, 3, 0, 9, 7,
      0x10, 1, 2, 0x11, 1, 1, 0x12, 1, 1, 0x13, 1, 1, 0x15, 1, 1, 0x17, 1, 1,
      0x18, 1, 1, 0x19, 1, 1, 0x21, 1, 1, 0x22, 1, 1, 0x23, 1, 1,
      0x35, 1, 1, 0x39, 2, 0x05, 0xc0, 0x5d, 2, 0, 0, 0x5e, 3, 1, 2, 1,
      0x3c, 32, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':', 'A', 'r',
      'c', 'h', ':', '0', '0', '0', '0', '0', ':', 'U', 'N', 'D', 'I', ':',
      '0', '0', '2', '0', '0', '1',
      0x4d, 4, 'g', 'P', 'X', 'E',
      0x37, 13, 1, 3, 6, 7, 12, 15, 17, 43, 60, 66, 67, 175, 203,
      0xff};
  const struct pxc_request *r = classify_raw(mac, opts, sizeof(opts), 0);

  ck_assert_int_eq(r->fw_class, PXC_CLASS_GPXE);
  ck_assert_str_eq(text_of(pxc_format_version), "0.9.7");
  ck_assert_str_eq(text_of(pxc_format_features),
                   "pxe-ext iscsi aoe http tftp dns bzimage multiboot pxe elf "
                   "comboot");
  ck_assert_uint_eq(r->msg_type, 1);
  ck_assert_uint_eq(r->errors | r->warnings, 0);
}
END_TEST

/* gPXE 0.9.3: no user class, 175 without a version, and the client id's
   type byte sent as 0 (fixed in 844828cb1). */
START_TEST(gpxe_093_wire)
{
  static const uint8_t opts[] = {
      0x3d, 7, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
      0xaf, 34, 0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e,
      0x10, 1, 1, 0x11, 1, 1, 0x12, 1, 1, 0x13, 1, 1, 0x15, 1, 1, 0x17, 1, 1,
      0x18, 1, 1, 0x19, 1, 1, 0x21, 1, 1,
      0x5e, 3, 1, 2, 1, 0x5d, 2, 0, 0, 0x39, 2, 0x05, 0xdc, 0x35, 1, 1, 0xff};
  const struct pxc_request *r = classify_raw(mac, opts, sizeof(opts), 0);

  ck_assert_int_eq(r->fw_class, PXC_CLASS_GPXE);
  ck_assert(!r->ipxe.has_version);
  ck_assert_uint_eq(r->warnings, 0);
}
END_TEST

/* VirtualBox's built-in iPXE (its Makefile.kmk source list × FEATURE()):
   1.21.1 with PXEXT, TFTP, DNS and PXE only — no HTTP. */
START_TEST(virtualbox_ipxe)
{
  static const uint8_t vbox_mac[6] = {0x08, 0x00, 0x27, 0xaa, 0xbb, 0xcc};
  static const uint8_t eb[] = {0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e,
                               0xeb, 3, 1, 0x15, 1,
                               0x10, 1, 2, 0x15, 1, 1, 0x17, 1, 1, 0x21, 1, 1};
  builder_request(&b, vbox_mac, 1, 1);
  builder_string(&b, 60, "PXEClient:Arch:00000:UNDI:002001");
  builder_string(&b, 77, "iPXE");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 94, undi21, 3);
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_str_eq(text_of(pxc_format_version), "1.21.1");
  ck_assert_str_eq(text_of(pxc_format_features), "pxe-ext tftp dns pxe");
  ck_assert(!pxc_has_feature(&req, 0x13));
  ck_assert(pxc_has_feature(&req, 0x15));
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* Mellanox FlexBoot: an iPXE fork that sends no user class (warewulf3#104)
   but still option 175 with a version: its own class, boot firmware in
   the NIC's ROM.  The same 175 with iPXE's user class is iPXE, on any
   NIC. */
START_TEST(flexboot_without_user_class)
{
  static const uint8_t eb[] = {0xb1, 5, 1, 0x15, 0xb3, 0x10, 0x03,
                               0xeb, 3, 1, 0, 0, 0x13, 1, 1, 0x26, 1, 1};
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, eb, sizeof(eb));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_FLEXBOOT);
  ck_assert_str_eq(text_of(pxc_format_busid), "pci:15b3:1003");
  ck_assert(pxc_class_starts_chain(PXC_CLASS_FLEXBOOT));
  ck_assert_uint_eq(req.warnings, 0);
  start("PXEClient:Arch:00000:UNDI:002001");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 77, (const uint8_t *)"iPXE", 4);
  builder_option(&b, 175, eb, sizeof(eb));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_IPXE);
}
END_TEST

/* U-Boot aarch64 "dhcp" (net/bootp.c dhcp_extended): 57 = 576, 93 = 0x16,
   94 = 0.0, vendor class "U-Boot.armv8", zero padding to 300 bytes. */
START_TEST(uboot_armv8_wire)
{
  static const uint8_t opts[] = {
      0x35, 1, 1, 0x39, 2, 0x02, 0x40, 0x5d, 2, 0, 0x16, 0x5e, 3, 1, 0, 0,
      0x3c, 12, 'U', '-', 'B', 'o', 'o', 't', '.', 'a', 'r', 'm', 'v', '8',
      0x37, 6, 1, 3, 6, 0x0c, 0x11, 0xd1, 0xff};
  const struct pxc_request *r = classify_raw(mac, opts, sizeof(opts), 300);

  ck_assert_int_eq(r->fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(r->arch, 22);
  ck_assert_str_eq(pxc_arch_by_code(r->arch)->name, "uboot-arm64");
  ck_assert_uint_eq(r->undi_major, 0);
  ck_assert_uint_eq(r->errors | r->warnings, 0);
}
END_TEST

/* U-Boot before 2016.07 sent 93 = 0x0100, which IANA never assigned:
   "an ARM U-Boot" (board headers' CONFIG_BOOTP_PXE_CLIENTARCH, e.g.
   include/configs/vexpress_ca9x4.h with its vendor class spelt
   "U-boot.armv7.ca9x4_ct_vxp", vexpress_aemv8a.h with none).  Read as
   21 or 22 when the vendor class names the ARM generation, kept as 0x100
   otherwise, with the quirk's warning (not arch-unassigned). */
START_TEST(uboot_old_arch)
{
  static const uint8_t a100[2] = {0x01, 0x00};
  static const uint8_t undi00[3] = {1, 0, 0};
  start("U-boot.armv7.ca9x4_ct_vxp");
  builder_option(&b, 93, a100, 2);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 21);
  ck_assert_uint_eq(req.arch93_raw, 0x100);
  ck_assert_uint_eq(req.warnings, PXC_WARN_UBOOT_ARCH_256);
  start("U-Boot.armv8");
  builder_option(&b, 93, a100, 2);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 22);
  /* no vendor class (vexpress_aemv8a.h): U-Boot's 94 = 0.0 with 0x100 is
     still U-Boot, not a PXE ROM; the bitness is not said */
  start(NULL);
  builder_option(&b, 93, a100, 2);
  builder_option(&b, 94, undi00, 3);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 0x100);
  ck_assert_uint_eq(req.warnings, PXC_WARN_UBOOT_ARCH_256);
  ck_assert_str_eq(pxc_warning_name(PXC_WARN_UBOOT_ARCH_256),
                   "uboot-arch-256");
}
END_TEST

/* U-Boot's bootstd EFI path prints the arch in hex ("0000b"): not a valid
   Arch field, so option 93 alone counts and nothing is said to disagree. */
START_TEST(uboot_efi_hex_arch)
{
  static const uint8_t a11[2] = {0x00, 0x0b};
  start("PXEClient:Arch:0000b:UNDI:003000");
  builder_option(&b, 93, a11, 2);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_PXE);
  ck_assert_uint_eq(req.arch, 11);
  ck_assert(!req.has_arch60);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* The digits of "PXEClient:Arch:NNNNN:UNDI:yyyzzz" with every byte value
   at every digit place: read exactly as a byte-by-byte decimal reader
   would (the classifier checks eight at a time). */
START_TEST(vendor_digits_every_byte)
{
  static const char form[] = "PXEClient:Arch:00007:UNDI:003016";
  static const size_t places[] = {15, 16, 17, 18, 19, 26, 27, 28, 29, 30, 31};

  for (size_t k = 0; k < sizeof(places) / sizeof(places[0]); k++)
    for (unsigned v = 0; v < 256; v++) {
      char vc[sizeof(form)];
      bool digit = v >= '0' && v <= '9';
      unsigned arch = 0, undi = 0;
      memcpy(vc, form, sizeof(form));
      vc[places[k]] = (char)v;
      for (size_t i = 15; i < 20; i++)
        arch = arch * 10 + (unsigned)(vc[i] - '0');
      for (size_t i = 26; i < 32; i++)
        undi = undi * 10 + (unsigned)(vc[i] - '0');
      builder_request(&b, mac, 0x1234, 1);
      builder_option(&b, 60, (const uint8_t *)vc, sizeof(form) - 1);
      classify_built();
      if (places[k] < 20) { /* an Arch digit: without it, no UNDI either;
                               nor above 65535 */
        bool read = digit && arch <= UINT16_MAX;
        ck_assert_int_eq(req.has_arch60, read);
        ck_assert_int_eq(req.has_undi60, read);
        if (read)
          ck_assert_uint_eq(req.arch60, arch);
      } else {
        ck_assert(req.has_arch60 && req.arch60 == 7);
        ck_assert_int_eq(req.has_undi60, digit);
        if (digit) {
          ck_assert_uint_eq(req.undi60_major, undi / 1000);
          ck_assert_uint_eq(req.undi60_minor, undi % 1000);
        }
      }
    }
}
END_TEST

/* Every other byte of the 32-byte form with every other value: the
   classifier reads this form from four words at once, and must read a
   vendor class that differs anywhere but in the digits as the general
   reading does: no PXEClient if the prefix differs, no Arch if
   ":Arch:" does, no UNDI if ":UNDI:" does; the text kept as sent. */
START_TEST(vendor_form_every_byte)
{
  static const char form[] = "PXEClient:Arch:00007:UNDI:003016";

  for (size_t place = 0; place < sizeof(form) - 1; place++) {
    if ((place >= 15 && place < 20) || place >= 26)
      continue; /* a digit: vendor_digits_every_byte */
    for (unsigned v = 0; v < 256; v++) {
      char vc[sizeof(form)];
      struct pxc_bytes kept;
      if (v == (unsigned char)form[place])
        continue;
      memcpy(vc, form, sizeof(form));
      vc[place] = (char)v;
      builder_request(&b, mac, 0x1234, 1);
      builder_option(&b, 60, (const uint8_t *)vc, sizeof(form) - 1);
      classify_built();
      kept = pxc_vendor_class(&req);
      ck_assert_uint_eq(kept.len, sizeof(form) - 1);
      ck_assert(memcmp(kept.data, vc, kept.len) == 0);
      ck_assert_int_eq(req.fw_class,
                       place < 9 ? PXC_CLASS_NONE : PXC_CLASS_PXE);
      ck_assert_int_eq(req.has_arch60, place >= 20);
      if (place >= 20)
        ck_assert_uint_eq(req.arch60, 7);
      ck_assert(!req.has_undi60);
    }
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* The public entries take any argument                                */

/* NULL and empty arguments: defined results, no crash. */
START_TEST(arguments_checked)
{
  char text[64] = "untouched";
  struct pxc_verdict v = {.own = PXC_OWN_OWN, .req = NULL};

  pxc_classify(NULL, NULL, 0, NULL);       /* nothing to fill: returns */
  pxc_classify(NULL, b.buf, 300, NULL);
  pxc_classify(NULL, NULL, 300, &req);     /* no packet: as 0 bytes */
  ck_assert_uint_eq(req.errors, PXC_ERR_SHORT);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_NONE);
  ck_assert_ptr_null(pxc_vendor_class(NULL).data);
  ck_assert_ptr_null(pxc_user_class(NULL, 0).data);
  ck_assert_ptr_null(pxc_user_class(&req, 0).data);
  ck_assert(!pxc_has_feature(NULL, 0x13));
  ck_assert_str_eq(pxc_format_mac(NULL, text, sizeof(text)), "");
  ck_assert_str_eq(pxc_format_summary(NULL, text, sizeof(text)), "");
  ck_assert_str_eq(pxc_format_summary(&v, text, sizeof(text)), "");
  ck_assert_ptr_null(pxc_format_version(&req, NULL, 10));
  strcpy(text, "untouched");
  pxc_format_uuid(&req, text, 0); /* no room: nothing written */
  ck_assert_str_eq(text, "untouched");
}
END_TEST

/* Hex fields keep their leading zeros (as printf's %02x and %04x did)
   and are cut, NUL-terminated, at the end of a short buffer. */
START_TEST(hex_fields_padded_and_cut)
{
  static const uint8_t eb[] = {0xb1, 0x05, 0x01, 0x00, 0x01, 0x00, 0x0a};
  static const uint8_t low_mac[6] = {0x00, 0x01, 0x0a, 0xb0, 0xff, 0x07};
  char text[8];

  builder_request(&b, low_mac, 0x1234, 1);
  builder_string(&b, 60, "PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_str_eq(text_of(pxc_format_mac), "00:01:0a:b0:ff:07");
  ck_assert_str_eq(text_of(pxc_format_busid), "pci:0001:000a");
  ck_assert_str_eq(pxc_format_mac(&req, text, sizeof(text)), "00:01:0");
  ck_assert_str_eq(pxc_format_busid(&req, text, 6), "pci:0");
}
END_TEST

/* Feature codes past the 16-byte bitmap are never announced (and never
   read past it). */
START_TEST(feature_codes_past_bitmap)
{
  static const uint8_t eb[] = {0x80, 1, 1, 0xfe, 1, 1, 0x7f, 1, 1};

  start("PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert(pxc_has_feature(&req, 0x7f));
  for (unsigned code = 0x80; code < 256; code++)
    ck_assert(!pxc_has_feature(&req, (uint8_t)code));
  ck_assert_str_eq(text_of(pxc_format_features), "127");
}
END_TEST

/* Only codes PXC_FEATURE_FIRST..PXC_FEATURE_LAST are feature flags
   (iPXE features.h); lower one-byte sub-options are noted, not flags. */
START_TEST(feature_range)
{
  static const uint8_t eb[] = {0x01, 1, 1, 0x0f, 1, 1, 0x10, 1, 1};

  start("PXEClient");
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  for (unsigned code = 0; code < PXC_FEATURE_FIRST; code++)
    ck_assert(!pxc_has_feature(&req, (uint8_t)code));
  ck_assert(pxc_has_feature(&req, PXC_FEATURE_FIRST));
  ck_assert(req.ipxe.subopts[0] & 0x02); /* code 1 was seen */
}
END_TEST

/* The request is a value: a copy outlives the packet and the original. */
START_TEST(request_is_a_value)
{
  struct pxc_request copy;

  start("PXEClient:Arch:00007:UNDI:003000");
  builder_string(&b, 77, "iPXE");
  classify_built();
  copy = req;
  memset(b.buf, 0xee, sizeof(b.buf));
  memset(&req, 0, sizeof(req));
  ck_assert_uint_eq(pxc_vendor_class(&copy).len, 32);
  ck_assert(memcmp(pxc_vendor_class(&copy).data, "PXEClient:Arch:00007", 20) ==
            0);
  ck_assert(memcmp(pxc_user_class(&copy, 0).data, "iPXE", 4) == 0);
}
END_TEST

#ifndef PXC_SANITIZED
struct stack_run {
  bool classify;
  const uint8_t *pkt;
  size_t len;
};

/* The thread body: classify, or only return (the baseline). */
static void *
stack_thread(void *arg)
{
  static struct pxc_request r;
  struct stack_run *run = arg;

  if (run->classify)
    pxc_classify(NULL, run->pkt, run->len, &r);
  return NULL;
}

/*
 * pxc_classify() needs at most 2 KiB of stack (dnsmasq runs on small
 * routers), measured on a painted thread stack against a thread that
 * does nothing, for a packet that takes the deepest path: split options
 * joined, overload, every reader.
 */
START_TEST(stack_within_2k)
{
  static const uint8_t eb[] = {0xeb, 3, 1, 0, 0, 0x13, 1, 1};
  static const uint8_t both = 3;
  uint8_t uuid[17] = {0};
  struct stack_run idle = {false, NULL, 0}, busy;
  size_t base, used;

  start("PXEClient:Arch:");
  builder_option(&b, 52, &both, 1);
  builder_string(&b, 77, "iP");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 94, undi21, 3);
  builder_option(&b, 97, uuid, 17);
  builder_option(&b, 175, eb, 4);
  builder_option(&b, 175, eb + 4, sizeof(eb) - 4);
  builder_string(&b, 60, "00000:UNDI:002001");
  builder_end(&b);
  memcpy(b.buf + 108, "\x4d\x02" "XE" "\xff", 5);
  busy = (struct stack_run){true, b.buf, b.len};
  /* once here first, so that lazy binding of libc's functions (which
     saves the vector registers on the stack) is not counted */
  pxc_classify(NULL, b.buf, b.len, &req);
  base = stack_touched(stack_thread, &idle);
  used = stack_touched(stack_thread, &busy) - base;
  pxc_classify(NULL, b.buf, b.len, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE); /* the path was taken */
  ck_assert_uint_eq(req.errors, 0);
  ck_assert(req.ipxe.has_version);
  printf("stack: pxc_classify used %zu bytes\n", used);
  ck_assert_uint_le(used, 2048);
  ck_assert_uint_gt(used, 0);
}
END_TEST
#endif

Suite *
classify_suite(void)
{
  Suite *s = suite_create("classify");
  TCase *classes = tcase_create("classes");
  TCase *arch = tcase_create("arch");
  TCase *bad = tcase_create("malformed");
  TCase *api = tcase_create("api");

  tcase_add_test(classes, gpxe_097);
  tcase_add_test(classes, hex_fields_padded_and_cut);
  tcase_add_test(classes, raspberry_pi4);
  tcase_add_test(classes, raspberry_pi_other_marks);
  tcase_add_test(classes, etherboot_54_wire);
  tcase_add_test(classes, gpxe_2007_says_etherboot);
  tcase_add_test(classes, gpxe_097_wire);
  tcase_add_test(classes, gpxe_093_wire);
  tcase_add_test(classes, virtualbox_ipxe);
  tcase_add_test(classes, flexboot_without_user_class);
  tcase_add_test(classes, uboot_armv8_wire);
  tcase_add_test(classes, uboot_old_arch);
  tcase_add_test(classes, uboot_efi_hex_arch);
  tcase_add_test(classes, gpxe_without_version);
  tcase_add_test(classes, etherboot_54);
  tcase_add_test(classes, uboot_vendor_class);
  tcase_add_test(classes, uboot_pxe_arch);
  tcase_add_test(classes, http_boot_arm64);
  tcase_add_test(classes, ordinary_client);
  tcase_add_test(classes, ipxe_custom_user_class);
  tcase_add_test(classes, user_class_rfc3004);
  tcase_add_test(classes, user_class_raw_with_small_first_byte);
  tcase_add_test(classes, user_class_many);
  tcase_add_test(classes, user_class_split);
  tcase_add_test(classes, encap_order_does_not_matter);
  tcase_add_test(classes, unknown_feature_kept_by_number);
  tcase_add_test(classes, summary_line);
  tcase_add_test(classes, summary_escapes_wire_text);
  tcase_add_test(arch, two_arch_values);
  tcase_add_test(arch, x64_sending_9);
  tcase_add_test(arch, arch_from_60_only);
  tcase_add_test(arch, vendor_digits_every_byte);
  tcase_add_test(arch, vendor_form_every_byte);
  tcase_add_test(arch, arch_93_60_mismatch);
  tcase_add_test(arch, undi_mismatch);
  tcase_add_test(arch, arch_unassigned);
  tcase_add_test(arch, arch_too_many);
  tcase_add_test(arch, pxe_without_arch);
  tcase_add_test(bad, arch_empty);
  tcase_add_test(bad, arch_odd_length);
  tcase_add_test(bad, encap_overrun);
  tcase_add_test(bad, encap_overrun_without_version);
  tcase_add_test(bad, encap_bad_lengths);
  tcase_add_test(bad, uuid_bad);
  tcase_add_test(bad, undi_bad);
  tcase_add_test(bad, msg_type_bad);
  tcase_add_test(bad, user_class_empty);
  tcase_add_test(bad, hlen_too_long);
  tcase_add_test(bad, bootp_without_options);
  tcase_add_test(bad, short_packet_header);
  tcase_add_test(api, arguments_checked);
  tcase_add_test(api, feature_codes_past_bitmap);
  tcase_add_test(api, feature_range);
  tcase_add_test(api, request_is_a_value);
#ifndef PXC_SANITIZED
  tcase_add_test(api, stack_within_2k);
#endif
  suite_add_tcase(s, classes);
  suite_add_tcase(s, arch);
  suite_add_tcase(s, bad);
  suite_add_tcase(s, api);
  return s;
}
