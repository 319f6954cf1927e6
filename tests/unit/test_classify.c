/*
 * Unit tests of the classifier (lib/classify.c) on crafted packets: every
 * class, the architecture rules and quirks, both forms of option 77, and
 * every malformed option of SPEC §3.
 */
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
  start("MSFT 5.0");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
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
  ck_assert_uint_eq(req.user_class[1].len, 4);
  ck_assert(memcmp(req.user_class[1].data, "CSTM", 4) == 0);
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
  ck_assert_uint_eq(req.user_class[0].len, 5);
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
  ck_assert_uint_eq(req.user_class[0].len, 4);
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
  struct pxc_verdict v = {PXC_OWN_VENDOR, &req};
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
  struct pxc_verdict v = {PXC_OWN_UNKNOWN, &req};
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

Suite *
classify_suite(void)
{
  Suite *s = suite_create("classify");
  TCase *classes = tcase_create("classes");
  TCase *arch = tcase_create("arch");
  TCase *bad = tcase_create("malformed");

  tcase_add_test(classes, gpxe_097);
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
  suite_add_tcase(s, classes);
  suite_add_tcase(s, arch);
  suite_add_tcase(s, bad);
  return s;
}
