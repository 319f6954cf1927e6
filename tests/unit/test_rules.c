/*
 * Unit tests of the configuration (lib/config.c) and its evaluation
 * (lib/eval.c): every directive's parse errors, word for word where it
 * matters, what a finished config tells about itself, and the evaluation
 * of crafted requests.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "builder.h"
#include "config.h"
#include "pxeclass.h"
#include "suites.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x77, 0x00, 0x01};

/* The QEMU iPXE BIOS ROM's option 175 (tests/captures/README.md). */
static const uint8_t qemu_rom_175[] = {
    0xb1, 0x05, 0x01, 0x1a, 0xf4, 0x10, 0x00, 0xeb, 0x03, 0x01, 0x00, 0x00,
    0x17, 0x01, 0x01, 0x22, 0x01, 0x01, 0x13, 0x01, 0x01, 0x11, 0x01, 0x01,
    0x27, 0x01, 0x01, 0x19, 0x01, 0x01, 0x29, 0x01, 0x01, 0x10, 0x01, 0x02,
    0x21, 0x01, 0x01, 0x15, 0x01, 0x01, 0x18, 0x01, 0x01, 0x12, 0x01, 0x01};

/* An iPXE 1.21.1 EFI build with HTTPS on an Intel NIC, user class CSTM. */
static const uint8_t custom_175[] = {
    0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0xeb, 0x03, 0x01, 0x15, 0x01,
    0x13, 0x01, 0x01, 0x14, 0x01, 0x01, 0x24, 0x01, 0x01, 0x15, 0x01, 0x01};

/* Tags REQ would get under CFG, as "a b c".  Every rule's answer is
   checked against the batch call's bit for it, so each evaluation test
   holds pxc_rules_matched() to pxc_rule_matches(). */
static const char *
tags_of(struct pxc_config *cfg, const struct pxc_request *req)
{
  static char tags[512];
  struct pxc_verdict v;
  uint64_t bits[2];
  size_t used = 0, matched = 0;

  ck_assert_uint_le(pxc_rule_count(cfg), 64 * 2);
  pxc_evaluate(cfg, NULL, req, 1000, &v);
  tags[0] = '\0';
  for (size_t i = 0; i < pxc_rule_count(cfg); i++)
    if (pxc_rule_matches(cfg, i, &v)) {
      matched++;
      used += (size_t)snprintf(tags + used, sizeof(tags) - used, "%s%s",
                               used ? " " : "", pxc_rule_tag(cfg, i));
    }
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, bits, 2), matched);
  for (size_t i = 0; i < 64 * 2; i++)
    ck_assert_int_eq((bits[i / 64] >> (i % 64)) & 1,
                     i < pxc_rule_count(cfg) && pxc_rule_matches(cfg, i, &v));
  return tags;
}

static struct pxc_request req_rom, req_custom, req_edk2, req_http_arm,
    req_plain, req_gpxe;

/* Build the requests the evaluation tests judge. */
static void
setup_requests(void)
{
  static const uint8_t arch0[2] = {0, 0}, arch7[2] = {0, 7},
                       arch19[2] = {0, 0x13};
  static struct builder rom, custom, edk2, http_arm, plain, gpxe;
  static const uint8_t gpxe_175[] = {0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e,
                                     0xeb, 0x03, 0x00, 0x09, 0x07,
                                     0x13, 0x01, 0x01, 0x21, 0x01, 0x01};

  builder_request(&rom, mac, 1, 1);
  builder_string(&rom, 60, "PXEClient:Arch:00000:UNDI:002001");
  builder_string(&rom, 77, "iPXE");
  builder_option(&rom, 93, arch0, 2);
  builder_option(&rom, 175, qemu_rom_175, sizeof(qemu_rom_175));
  builder_end(&rom);
  pxc_classify(NULL, rom.buf, rom.len, &req_rom);

  builder_request(&custom, mac, 2, 1);
  builder_string(&custom, 60, "PXEClient:Arch:00007:UNDI:003010");
  builder_string(&custom, 77, "CSTM");
  builder_option(&custom, 93, arch7, 2);
  builder_option(&custom, 175, custom_175, sizeof(custom_175));
  builder_end(&custom);
  pxc_classify(NULL, custom.buf, custom.len, &req_custom);

  builder_request(&edk2, mac, 3, 1);
  builder_string(&edk2, 60, "PXEClient:Arch:00007:UNDI:003000");
  builder_option(&edk2, 93, arch7, 2);
  builder_end(&edk2);
  pxc_classify(NULL, edk2.buf, edk2.len, &req_edk2);

  builder_request(&http_arm, mac, 4, 1);
  builder_string(&http_arm, 60, "HTTPClient:Arch:00019:UNDI:003000");
  builder_option(&http_arm, 93, arch19, 2);
  builder_end(&http_arm);
  pxc_classify(NULL, http_arm.buf, http_arm.len, &req_http_arm);

  builder_request(&plain, mac, 5, 1);
  builder_string(&plain, 60, "android-dhcp-13");
  builder_end(&plain);
  pxc_classify(NULL, plain.buf, plain.len, &req_plain);

  builder_request(&gpxe, mac, 6, 1);
  builder_string(&gpxe, 60, "PXEClient:Arch:00000:UNDI:002001");
  builder_string(&gpxe, 77, "gPXE");
  builder_option(&gpxe, 93, arch0, 2);
  builder_option(&gpxe, 175, gpxe_175, sizeof(gpxe_175));
  builder_end(&gpxe);
  pxc_classify(NULL, gpxe.buf, gpxe.len, &req_gpxe);
}

/* ------------------------------------------------------------------ */
/* Parse errors                                                        */

/* Assert that NAME=VALUE is refused with a message containing WANT. */
static void
assert_refused(const char *name, const char *value, const char *want)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[1024];

  ck_assert_msg(pxc_config_add(cfg, name, value, err, sizeof(err)) < 0,
                "%s=%s was accepted", name, value ? value : "(none)");
  ck_assert_msg(strstr(err, want), "%s=%s: message '%s' lacks '%s'", name,
                value ? value : "", err, want);
  ck_assert_msg(strncmp(err, "bad ", 4) == 0, "message '%s'", err);
  ck_assert_uint_eq(pxc_rule_count(cfg), 0);
  pxc_config_free(cfg);
}

START_TEST(class_errors)
{
  assert_refused("dhcp-pxe-class", NULL, "needs a value");
  assert_refused("dhcp-pxe-class", "", "needs a value");
  assert_refused("dhcp-pxe-class", "ipxe", "expected set:<tag> first");
  assert_refused("dhcp-pxe-class", "set:x", "nothing to match after set:x");
  assert_refused("dhcp-pxe-class", "set:,ipxe", "bad tag name");
  assert_refused("dhcp-pxe-class", "set:x,ipxe,floppy", "unknown class 'floppy'");
  assert_refused("dhcp-pxe-class", "set:x,ipxe,,pxe", "unknown class ''");
  assert_refused("dhcp-pxe-clas", "set:x,ipxe", "not a pxeclass directive");
}
END_TEST

START_TEST(arch_errors)
{
  assert_refused("dhcp-pxe-arch", "set:x,efi-x65", "unknown architecture 'efi-x65'");
  assert_refused("dhcp-pxe-arch", "set:x,65536", "unknown architecture '65536'");
  assert_refused("dhcp-pxe-arch", "set:x,-1", "unknown architecture '-1'");
  assert_refused("dhcp-pxe-arch", "set:x,0x1g", "unknown architecture");
  assert_refused("dhcp-pxe-arch",
                 "set:x,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
                 "21,22,23,24,25,26,27,28,29,30,31,32",
                 "more than 32 architectures");
}
END_TEST

START_TEST(feature_errors)
{
  assert_refused("dhcp-ipxe-feature", "set:x,https,telnet", "unknown iPXE feature 'telnet'");
  assert_refused("dhcp-ipxe-feature", "set:x,256", "unknown iPXE feature '256'");
}
END_TEST

/* iPXE announces only feature codes 0x10-0x7f: a code outside can never
   match, so the line is refused with the range named. */
START_TEST(feature_code_range)
{
  static const char *const outside[] = {"0", "1", "15", "0x0f", "128",
                                        "0x80", "200", "254", "255"};
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
    char value[64];
    snprintf(value, sizeof(value), "set:x,https,%s", outside[i]);
    assert_refused("dhcp-ipxe-feature", value, "outside 16-127 (0x10-0x7f)");
    snprintf(value, sizeof(value), "feature:%s", outside[i]);
    assert_refused("dhcp-ipxe-own", value, "outside 16-127 (0x10-0x7f)");
  }
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-ipxe-feature", "set:lo,16", err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-ipxe-feature", "set:hi,0x7f", err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-ipxe-own", "feature:127", err,
                                  sizeof(err)), 0);
  pxc_config_free(cfg);
}
END_TEST

/* A line that fails leaves the config as it was; once finished, the
   config takes no more lines. */
START_TEST(failed_line_and_finished_config)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  ck_assert_int_lt(pxc_config_add(cfg, "dhcp-ipxe-own",
                                  "user-class:CSTM,feature:gopher", err,
                                  sizeof(err)), 0);
  ck_assert_int_lt(pxc_config_add(cfg, "dhcp-pxe-class", "set:a,pxe,floppy",
                                  err, sizeof(err)), 0);
  ck_assert_uint_eq(pxc_identity_count(cfg), 0);
  ck_assert_uint_eq(pxc_rule_count(cfg), 0);
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-pxe-class", "set:a,pxe", err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(pxc_config_finish(cfg, err, sizeof(err)), 0);
  ck_assert_int_lt(pxc_config_add(cfg, "dhcp-pxe-class", "set:b,ipxe", err,
                                  sizeof(err)), 0);
  ck_assert_str_eq(err, "bad dhcp-pxe-class: the configuration is finished: "
                        "no line can be added");
  ck_assert_uint_eq(pxc_rule_count(cfg), 1);
  ck_assert_int_lt(pxc_config_add(NULL, "dhcp-pxe-class", "set:b,ipxe", err,
                                  sizeof(err)), 0);
  ck_assert_int_lt(pxc_config_add(cfg, NULL, "x", err, sizeof(err)), 0);
  ck_assert_int_lt(pxc_config_add(cfg, "dhcp-pxe-class", "x", NULL, 0), 0);
  pxc_config_free(cfg);
}
END_TEST

/* Growing the rule and identity arrays: the byte size is checked before
   it is computed (the old grow() multiplied blindly). */
START_TEST(array_growth_checks_overflow)
{
  size_t n = 0;

  ck_assert(array_next_capacity(0, 100, &n));
  ck_assert_uint_eq(n, 8);
  ck_assert(array_next_capacity(8, 100, &n));
  ck_assert_uint_eq(n, 16);
  ck_assert(!array_next_capacity(SIZE_MAX / 64, 64, &n));
  ck_assert(!array_next_capacity(SIZE_MAX / 2 + 1, 1, &n));
  ck_assert(!array_next_capacity(8, 0, &n));
  ck_assert_uint_eq(n, 16);
}
END_TEST

/* What a finished config tells about itself. */
START_TEST(introspection)
{
  const char *lines[] = {"dhcp-pxe-class=set:own,ipxe-own",
                         "dhcp-ipxe-own=user-class:CSTM,feature:https,"
                         "version:>=1.21.1",
                         "dhcp-ipxe-own=chained,version:!=2",
                         "dhcp-pxe-arch9=ebc",
                         "dhcp-chain-guard=2,30,set:loop", NULL};
  struct pxc_config *cfg = config_of(lines);
  struct pxc_identity_info id;

  ck_assert_uint_eq(pxc_rule_count(cfg), 2);
  ck_assert_str_eq(pxc_rule_directive(cfg, 0), "dhcp-pxe-class");
  ck_assert_str_eq(pxc_rule_directive(cfg, 1), "dhcp-chain-guard");
  ck_assert_str_eq(pxc_rule_text(cfg, 1), "dhcp-chain-guard=2,30,set:loop");
  ck_assert_ptr_null(pxc_rule_directive(cfg, 2));
  ck_assert_ptr_null(pxc_rule_directive(NULL, 0));
  ck_assert_uint_eq(pxc_identity_count(cfg), 2);
  ck_assert(pxc_identity_get(cfg, 0, &id));
  ck_assert_str_eq(id.text, "dhcp-ipxe-own=user-class:CSTM,feature:https,"
                            "version:>=1.21.1");
  ck_assert_str_eq(id.user_class, "CSTM");
  ck_assert(id.features[0x14 / 8] & (1u << (0x14 % 8)));
  ck_assert(id.has_version);
  ck_assert_str_eq(id.version_op, ">=");
  ck_assert_uint_eq(id.version[0], 1);
  ck_assert_uint_eq(id.version[1], 21);
  ck_assert_uint_eq(id.version[2], 1);
  ck_assert(!id.chained);
  ck_assert(pxc_identity_get(cfg, 1, &id));
  ck_assert_ptr_null(id.user_class);
  ck_assert_str_eq(id.version_op, "!=");
  ck_assert(id.chained);
  ck_assert(!pxc_identity_get(cfg, 2, &id));
  ck_assert(!pxc_identity_get(cfg, 0, NULL));
  ck_assert(pxc_config_arch9_is_ebc(cfg));
  ck_assert(!pxc_config_arch9_is_ebc(NULL));
  pxc_config_free(cfg);
}
END_TEST

/* The evaluator's selector bits follow the one selector table. */
START_TEST(selectors_follow_the_table)
{
  for (size_t i = 0; i < PXC_CLASS_COUNT; i++)
    ck_assert_str_eq(pxc_class_selector_name(i),
                     pxc_class_name((enum pxc_class)i));
  ck_assert_str_eq(pxc_class_selector_name(SELECTOR_IPXE_OWN), "ipxe-own");
  ck_assert_str_eq(pxc_class_selector_name(SELECTOR_IPXE_VENDOR),
                   "ipxe-vendor");
  ck_assert_str_eq(pxc_class_selector_name(SELECTOR_NETBOOT), "netboot");
  ck_assert_str_eq(pxc_class_selector_name(SELECTOR_COUNT),
                   pxc_agent_name((enum pxc_agent)1));
  ck_assert_ptr_null(
      pxc_class_selector_name(SELECTOR_COUNT + SELECTOR_AGENTS));
}
END_TEST

START_TEST(version_errors)
{
  assert_refused("dhcp-ipxe-version", "set:x,>=1.21.1.4", "bad version test '>=1.21.1.4'");
  assert_refused("dhcp-ipxe-version", "set:x,>=1.256", "bad version test");
  assert_refused("dhcp-ipxe-version", "set:x,~1.2", "bad version test");
  assert_refused("dhcp-ipxe-version", "set:x,>=", "bad version test");
  assert_refused("dhcp-ipxe-version", "set:x,>=1..2", "bad version test");
  assert_refused("dhcp-ipxe-version", "set:x,>=1,<2", "one version test per line");
}
END_TEST

START_TEST(busid_errors)
{
  assert_refused("dhcp-ipxe-busid", "set:x,pci", "bad bus id 'pci'");
  assert_refused("dhcp-ipxe-busid", "set:x,pcie:8086", "unknown bus type 'pcie'");
  assert_refused("dhcp-ipxe-busid", "set:x,pci:18086", "bad vendor id '18086'");
  assert_refused("dhcp-ipxe-busid", "set:x,pci:8086:zz", "bad device id 'zz'");
  assert_refused("dhcp-ipxe-busid", "set:x,pci:8086:100e:1", "bad bus id");
  assert_refused("dhcp-ipxe-busid", "set:x,pci:1af4,pci:8086", "one bus id per line");
}
END_TEST

START_TEST(own_errors)
{
  assert_refused("dhcp-ipxe-own", "user-class:", "user-class: needs a class");
  assert_refused("dhcp-ipxe-own", "user-class:A,user-class:B", "two user classes");
  assert_refused("dhcp-ipxe-own", "feature:gopher", "unknown iPXE feature 'gopher'");
  assert_refused("dhcp-ipxe-own", "version:>=x", "bad version test '>=x'");
  assert_refused("dhcp-ipxe-own", "usercls:CSTM", "unknown criterion 'usercls:CSTM'");
  assert_refused("dhcp-ipxe-own", "feature:https,,", "empty criterion");
}
END_TEST

START_TEST(quirk_and_guard_errors)
{
  assert_refused("dhcp-pxe-arch9", "x86", "expected x64 or ebc");
}
END_TEST

/* ipxe-own without any identity can never match: refused at the end. */
START_TEST(own_selector_needs_identity)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-pxe-class", "set:mine,ipxe-own",
                                  err, sizeof(err)),
                   0);
  ck_assert_int_lt(pxc_config_finish(cfg, err, sizeof(err)), 0);
  ck_assert_msg(strstr(err, "dhcp-pxe-class=set:mine,ipxe-own") &&
                    strstr(err, "needs at least one dhcp-ipxe-own"),
                "%s", err);
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-ipxe-own", "user-class:CSTM", err,
                                  sizeof(err)),
                   0);
  ck_assert_int_eq(pxc_config_finish(cfg, err, sizeof(err)), 0);
  pxc_config_free(cfg);
}
END_TEST

/* The rule text shown in logs is the line as written. */
START_TEST(rule_text_and_tag)
{
  const char *lines[] = {"dhcp-pxe-class=set:fw, pxe ,http-boot",
                         "dhcp-pxe-arch=net:old,bios", NULL};
  struct pxc_config *cfg = config_of(lines);

  ck_assert_uint_eq(pxc_rule_count(cfg), 2);
  ck_assert_str_eq(pxc_rule_tag(cfg, 0), "fw");
  ck_assert_str_eq(pxc_rule_text(cfg, 0), "dhcp-pxe-class=set:fw, pxe ,http-boot");
  ck_assert_str_eq(pxc_rule_tag(cfg, 1), "old");
  ck_assert_ptr_null(pxc_rule_tag(cfg, 2));
  pxc_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

START_TEST(class_rules)
{
  const char *lines[] = {"dhcp-pxe-class=set:fw,pxe,http-boot",
                         "dhcp-pxe-class=set:ipxe,ipxe",
                         "dhcp-pxe-class=set:nb,netboot",
                         "dhcp-pxe-class=set:os,none",
                         "dhcp-pxe-class=set:old,gpxe,etherboot",
                         NULL};
  struct pxc_config *cfg = config_of(lines);

  ck_assert_str_eq(tags_of(cfg, &req_rom), "ipxe nb");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "fw nb");
  ck_assert_str_eq(tags_of(cfg, &req_http_arm), "fw nb");
  ck_assert_str_eq(tags_of(cfg, &req_plain), "os");
  ck_assert_str_eq(tags_of(cfg, &req_gpxe), "nb old");
  pxc_config_free(cfg);
}
END_TEST

/* Identities: criteria ANDed within a line, lines ORed. */
START_TEST(ownership)
{
  const char *lines[] = {"dhcp-pxe-class=set:own,ipxe-own",
                         "dhcp-pxe-class=set:vendor,ipxe-vendor",
                         "dhcp-ipxe-own=user-class:CSTM,feature:https",
                         "dhcp-ipxe-own=version:>=1.22,feature:tftp", NULL};
  struct pxc_config *cfg = config_of(lines);
  struct pxc_verdict v;

  ck_assert_str_eq(tags_of(cfg, &req_custom), "own");
  ck_assert_str_eq(tags_of(cfg, &req_rom), "vendor");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "");
  ck_assert_str_eq(tags_of(cfg, &req_gpxe), ""); /* gPXE is not iPXE */
  pxc_evaluate(cfg, NULL, &req_edk2, 0, &v);
  ck_assert_int_eq(v.own, PXC_OWN_UNKNOWN);
  pxc_config_free(cfg);

  /* version alone is not enough when the feature is missing */
  const char *lines2[] = {"dhcp-pxe-class=set:own,ipxe-own",
                          "dhcp-ipxe-own=version:>=1.0.0,feature:https", NULL};
  cfg = config_of(lines2);
  ck_assert_str_eq(tags_of(cfg, &req_rom), "");
  ck_assert_str_eq(tags_of(cfg, &req_custom), "own");
  pxc_config_free(cfg);
}
END_TEST

START_TEST(no_identity_means_unknown)
{
  const char *lines[] = {"dhcp-pxe-class=set:ipxe,ipxe", NULL};
  struct pxc_config *cfg = config_of(lines);
  struct pxc_verdict v;

  pxc_evaluate(cfg, NULL, &req_rom, 0, &v);
  ck_assert_int_eq(v.own, PXC_OWN_UNKNOWN);
  pxc_config_free(cfg);
}
END_TEST

START_TEST(arch_rules)
{
  const char *lines[] = {"dhcp-pxe-arch=set:bios,bios",
                         "dhcp-pxe-arch=set:efi,efi",
                         "dhcp-pxe-arch=set:x64,efi-x64",
                         "dhcp-pxe-arch=set:arm,arm64",
                         "dhcp-pxe-arch=set:http,http",
                         "dhcp-pxe-arch=set:num,0x13,7",
                         NULL};
  struct pxc_config *cfg = config_of(lines);

  ck_assert_str_eq(tags_of(cfg, &req_rom), "bios");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "efi x64 num");
  ck_assert_str_eq(tags_of(cfg, &req_http_arm), "efi arm http num");
  ck_assert_str_eq(tags_of(cfg, &req_plain), "");
  pxc_config_free(cfg);
}
END_TEST

/* Architecture codes of 64 and above are looked up rule by rule, the
   ones below from the request's bitmap: both in one request. */
START_TEST(arch_rules_high_codes)
{
  const char *lines[] = {"dhcp-pxe-arch=set:hi,100",
                         "dhcp-pxe-arch=set:x64,7",
                         "dhcp-pxe-arch=set:lo,0",
                         "dhcp-pxe-arch=set:both,0,100",
                         NULL};
  static const uint8_t arch_7_100[4] = {0, 7, 0, 100}, arch_100[2] = {0, 100};
  struct pxc_config *cfg = config_of(lines);
  static struct builder b1, b2;
  static struct pxc_request two, high;

  builder_request(&b1, mac, 6, 1);
  builder_string(&b1, 60, "PXEClient:Arch:00007:UNDI:003000");
  builder_option(&b1, 93, arch_7_100, sizeof(arch_7_100));
  builder_end(&b1);
  pxc_classify(cfg, b1.buf, b1.len, &two);
  builder_request(&b2, mac, 7, 1);
  builder_option(&b2, 93, arch_100, sizeof(arch_100));
  builder_end(&b2);
  pxc_classify(cfg, b2.buf, b2.len, &high);
  ck_assert_uint_eq(two.arch_count, 2);
  ck_assert_uint_eq(high.arch_list[0], 100);
  ck_assert_str_eq(tags_of(cfg, &two), "hi x64 both");
  ck_assert_str_eq(tags_of(cfg, &high), "hi both");
  ck_assert_str_eq(tags_of(cfg, &req_rom), "lo both");
  pxc_config_free(cfg);
}
END_TEST

/* TLV-exact: a version byte 0x14 (1.20.1) is not the HTTPS feature, which
   dnsmasq's dhcp-match=…,175,20 byte scan gets wrong. */
START_TEST(feature_rules_are_tlv_exact)
{
  const char *lines[] = {"dhcp-ipxe-feature=set:https,https",
                         "dhcp-ipxe-feature=set:full,http,dns,bzimage",
                         "dhcp-ipxe-feature=set:efi,36", NULL};
  static const uint8_t v1201[] = {0xeb, 0x03, 0x01, 0x14, 0x01,
                                  0x13, 0x01, 0x01};
  static const uint8_t arch0[2] = {0, 0};
  static struct pxc_request req;
  struct pxc_config *cfg = config_of(lines);
  struct builder b;

  builder_request(&b, mac, 9, 1);
  builder_string(&b, 77, "iPXE");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, v1201, sizeof(v1201));
  builder_end(&b);
  pxc_classify(NULL, b.buf, b.len, &req);
  ck_assert_str_eq(tags_of(cfg, &req), "");
  ck_assert_str_eq(tags_of(cfg, &req_rom), "full");
  ck_assert_str_eq(tags_of(cfg, &req_custom), "https efi");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "");
  pxc_config_free(cfg);
}
END_TEST

START_TEST(version_rules)
{
  const char *lines[] = {"dhcp-ipxe-version=set:ge,>=1.21.1",
                         "dhcp-ipxe-version=set:lt,<1.21",
                         "dhcp-ipxe-version=set:eq,1.0.0",
                         "dhcp-ipxe-version=set:ne,!=1.0",
                         "dhcp-ipxe-version=set:gt,>1.21.0",
                         "dhcp-ipxe-version=set:le,<=0.9.7", NULL};
  struct pxc_config *cfg = config_of(lines);

  ck_assert_str_eq(tags_of(cfg, &req_rom), "lt eq");
  ck_assert_str_eq(tags_of(cfg, &req_custom), "ge ne gt");
  ck_assert_str_eq(tags_of(cfg, &req_gpxe), "lt ne le");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), ""); /* no version: no match */
  pxc_config_free(cfg);
}
END_TEST

START_TEST(busid_rules)
{
  const char *lines[] = {"dhcp-ipxe-busid=set:virtio,pci:1af4",
                         "dhcp-ipxe-busid=set:legacy,pci:1AF4:1000",
                         "dhcp-ipxe-busid=set:e1000,1:8086:100e",
                         "dhcp-ipxe-busid=set:usb,usb:8086", NULL};
  struct pxc_config *cfg = config_of(lines);

  ck_assert_str_eq(tags_of(cfg, &req_rom), "virtio legacy");
  ck_assert_str_eq(tags_of(cfg, &req_custom), "e1000");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "");
  pxc_config_free(cfg);
}
END_TEST

/* dhcp-pxe-arch9 decides what option 93 = 9 means. */
START_TEST(arch9_quirk)
{
  static const uint8_t arch9[2] = {0, 9};
  static struct pxc_request req;
  const char *x64[] = {"dhcp-pxe-arch=set:x64,x64",
                       "dhcp-pxe-arch=set:ebc,efi-ebc", NULL};
  const char *ebc[] = {"dhcp-pxe-arch9=ebc", "dhcp-pxe-arch=set:x64,x64",
                       "dhcp-pxe-arch=set:ebc,efi-ebc", NULL};
  struct pxc_config *cfg = config_of(x64);
  struct builder b;

  builder_request(&b, mac, 9, 1);
  builder_string(&b, 60, "PXEClient:Arch:00009:UNDI:003016");
  builder_option(&b, 93, arch9, 2);
  builder_end(&b);
  pxc_classify(cfg, b.buf, b.len, &req);
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH9_AS_X64);
  ck_assert_str_eq(tags_of(cfg, &req), "x64");
  pxc_config_free(cfg);

  cfg = config_of(ebc);
  pxc_classify(cfg, b.buf, b.len, &req);
  ck_assert_uint_eq(req.arch, 9);
  ck_assert_uint_eq(req.warnings, 0);
  ck_assert_str_eq(tags_of(cfg, &req), "ebc");
  pxc_config_free(cfg);
}
END_TEST

/* Out-of-range rule indexes and a NULL config are harmless. */
START_TEST(bounds)
{
  struct pxc_verdict v;

  struct pxc_chain_stats st = {.capacity = 1};
  char text[16] = "x", err[64];

  pxc_evaluate(NULL, NULL, &req_rom, 0, &v);
  ck_assert_int_eq(v.own, PXC_OWN_UNKNOWN);
  ck_assert(!v.chain.tracked);
  pxc_evaluate(NULL, NULL, &req_rom, 0, NULL);
  ck_assert(!pxc_rule_matches(NULL, 0, &v));
  ck_assert_uint_eq(pxc_rule_count(NULL), 0);
  ck_assert_ptr_null(pxc_rule_tag(NULL, 0));
  ck_assert_ptr_null(pxc_rule_text(NULL, 0));
  ck_assert_uint_eq(pxc_identity_count(NULL), 0);
  ck_assert(!pxc_config_tracker_info(NULL, NULL));
  ck_assert_int_lt(pxc_config_finish(NULL, err, sizeof(err)), 0);
  ck_assert_ptr_null(pxc_tracker_new(NULL));
  pxc_tracker_record(NULL, &v);
  pxc_tracker_reply(NULL, NULL, 0, 0);
  pxc_tracker_stats(NULL, &st);
  ck_assert_uint_eq(st.capacity, 0);
  ck_assert_str_eq(pxc_format_chain(NULL, &v, text, sizeof(text)), "");
  pxc_tracker_free(NULL);
  ck_assert(!pxc_is_directive(NULL));
  ck_assert(!pxc_is_directive("dhcp-boot"));
  ck_assert(pxc_is_directive("dhcp-ipxe-busid"));
  for (size_t i = 0; pxc_directive_name(i); i++)
    ck_assert(pxc_is_directive(pxc_directive_name(i)));
  ck_assert_str_eq(pxc_directive_name(7), "dhcp-chain-guard");
  ck_assert_str_eq(pxc_directive_name(8), "dhcp-chain-peer");
  ck_assert_ptr_null(pxc_directive_name(9));
  pxc_config_free(NULL);
}
END_TEST

/* The batch call past 64 rules: a bit per rule in word order, the words
   past the rules zeroed, the rules past WORDS left out, and its arguments
   checked. */
START_TEST(batch_over_words)
{
  static const char *lines[71];
  static char text[70][48];
  struct pxc_config *cfg;
  struct pxc_verdict v;
  uint64_t bits[3] = {~0ull, ~0ull, ~0ull};

  /* rules 0-69: even ones match the ROM (bios), odd ones do not (arm64) */
  for (size_t i = 0; i < 70; i++) {
    snprintf(text[i], sizeof(text[i]), "dhcp-pxe-arch=set:t%zu,%s", i,
             i % 2 ? "arm64" : "bios");
    lines[i] = text[i];
  }
  lines[70] = NULL;
  cfg = config_of(lines);
  pxc_evaluate(cfg, NULL, &req_rom, 0, &v);
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, bits, 3), 35);
  ck_assert(bits[0] == 0x5555555555555555ull);
  ck_assert(bits[1] == 0x15ull); /* rules 64, 66, 68 */
  ck_assert(bits[2] == 0);
  bits[1] = ~0ull;
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, bits, 1), 32);
  ck_assert(bits[0] == 0x5555555555555555ull);
  ck_assert(bits[1] == ~0ull); /* not written */
  ck_assert_uint_eq(pxc_rules_matched(NULL, &v, bits, 2), 0);
  ck_assert(bits[0] == 0 && bits[1] == 0);
  bits[0] = ~0ull;
  ck_assert_uint_eq(pxc_rules_matched(cfg, NULL, bits, 1), 0);
  ck_assert(bits[0] == 0);
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, NULL, 1), 0);
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, bits, 0), 0);
  pxc_config_free(cfg);
}
END_TEST

/* The rules the tables leave out, of every kind, between table rules and
   past 64: those that need option 175 (feature, version) are tested only
   for a request that has it, the others (bus id, which Etherboot's option
   150 gives too, and arch codes from 64 on) for every request; each bit
   where the rule is, the words past WORDS left out. */
START_TEST(batch_other_rules)
{
  static const char *lines[72];
  static char text[64][48];
  static const uint8_t arch_100[2] = {0, 100};
  static struct builder b;
  static struct pxc_request high;
  struct pxc_config *cfg;
  struct pxc_verdict v;
  uint64_t bits[2];
  size_t n = 0;

  lines[n++] = "dhcp-ipxe-feature=set:https,https";   /* 0 */
  lines[n++] = "dhcp-ipxe-busid=set:virtio,pci:1af4"; /* 1 */
  lines[n++] = "dhcp-pxe-class=set:ipxe,ipxe";        /* 2 */
  lines[n++] = "dhcp-ipxe-version=set:old,<1.21";     /* 3 */
  lines[n++] = "dhcp-pxe-arch=set:hi,100";            /* 4 */
  /* rules 5-63: table rules that match no request of these tests */
  for (size_t i = 0; n < 64; i++) {
    snprintf(text[i], sizeof(text[i]), "dhcp-pxe-arch=set:f%zu,arm64", i);
    lines[n++] = text[i];
  }
  lines[n++] = "dhcp-ipxe-version=set:new,>=1.21";     /* 64 */
  lines[n++] = "dhcp-ipxe-busid=set:e1000,1:8086:100e"; /* 65 */
  lines[n++] = "dhcp-ipxe-feature=set:any,pxe-ext";     /* 66 */
  lines[n] = NULL;
  cfg = config_of(lines);

  ck_assert_str_eq(tags_of(cfg, &req_rom), "virtio ipxe old any");
  ck_assert_str_eq(tags_of(cfg, &req_custom), "https ipxe new e1000");
  ck_assert_str_eq(tags_of(cfg, &req_edk2), "");
  /* no option 175: only the rules that need none are asked */
  builder_request(&b, mac, 8, 1);
  builder_option(&b, 93, arch_100, sizeof(arch_100));
  builder_end(&b);
  pxc_classify(cfg, b.buf, b.len, &high);
  ck_assert(!high.ipxe.present);
  ck_assert_str_eq(tags_of(cfg, &high), "hi");
  pxc_evaluate(cfg, NULL, &req_custom, 0, &v);
  bits[1] = ~0ull;
  ck_assert_uint_eq(pxc_rules_matched(cfg, &v, bits, 1), 2);
  ck_assert(bits[0] == 0x5ull); /* rules 0 and 2 */
  ck_assert(bits[1] == ~0ull);  /* not written */
  pxc_config_free(cfg);
}
END_TEST

Suite *
rules_suite(void)
{
  Suite *s = suite_create("rules");
  TCase *parse = tcase_create("parse");
  TCase *eval = tcase_create("evaluate");

  tcase_add_test(parse, class_errors);
  tcase_add_test(parse, arch_errors);
  tcase_add_test(parse, feature_errors);
  tcase_add_test(parse, feature_code_range);
  tcase_add_test(parse, failed_line_and_finished_config);
  tcase_add_test(parse, array_growth_checks_overflow);
  tcase_add_test(parse, introspection);
  tcase_add_test(parse, selectors_follow_the_table);
  tcase_add_test(parse, version_errors);
  tcase_add_test(parse, busid_errors);
  tcase_add_test(parse, own_errors);
  tcase_add_test(parse, quirk_and_guard_errors);
  tcase_add_test(parse, own_selector_needs_identity);
  tcase_add_test(parse, rule_text_and_tag);
  tcase_add_unchecked_fixture(eval, setup_requests, NULL);
  tcase_add_test(eval, class_rules);
  tcase_add_test(eval, ownership);
  tcase_add_test(eval, no_identity_means_unknown);
  tcase_add_test(eval, arch_rules);
  tcase_add_test(eval, arch_rules_high_codes);
  tcase_add_test(eval, feature_rules_are_tlv_exact);
  tcase_add_test(eval, version_rules);
  tcase_add_test(eval, busid_rules);
  tcase_add_test(eval, arch9_quirk);
  tcase_add_test(eval, bounds);
  tcase_add_test(eval, batch_over_words);
  tcase_add_test(eval, batch_other_rules);
  suite_add_tcase(s, parse);
  suite_add_tcase(s, eval);
  return s;
}
