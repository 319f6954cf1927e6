/*
 * The firmware fact sheet (tools/pxelab/firmware.sheet) against the
 * library: every program of the sheet, built into a DISCOVER, classifies
 * as the sheet says (class, architecture, own/vendor under the sheet's
 * identities).  The lab and the network tests play the same programs, so
 * what they expect of dnsmasq is what the library says here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "factsheet.h"
#include "pxeclass.h"
#include "suites.h"

/* The lab's 11 programs and the network tests' 21. */
#define SHEET_PROGRAMS_AT_LEAST 30

static struct sheet sheet;
static struct builder b;
static struct pxc_request req;

/* The machine every program is built for. */
static struct sheet_machine
test_machine(void)
{
  struct sheet_machine m = {
      .mac = {0x52, 0x54, 0x00, 0xfa, 0xc7, 0x01},
      .bus_vendor = 0x1af4,
      .bus_device = 0x1000,
  };
  int pci = pxc_bus_by_name("pci");

  ck_assert_int_gt(pci, 0);
  m.bus_type = (uint8_t)pci;
  for (int i = 0; i < 16; i++)
    m.uuid[i] = (uint8_t)i;
  return m;
}

static void
load_sheet(void)
{
  char err[512];

  ck_assert_msg(sheet_load(PXC_FIRMWARE_SHEET, &sheet, err, sizeof(err)) == 0,
                "%s", err);
}

static void
free_sheet(void)
{
  sheet_free(&sheet);
}

/* The names of the warning bits of WARNINGS, "a,b" in bit order. */
static void
warning_names(uint32_t warnings, char *buf, size_t len)
{
  size_t used = 0;

  buf[0] = '\0';
  for (unsigned i = 0; i < 32; i++)
    if (warnings & (1u << i))
      used += (size_t)snprintf(buf + used, len - used, "%s%s",
                               used ? "," : "", pxc_warning_name(1u << i));
}

/* A finished config of the sheet's dhcp-ipxe-own identities. */
static struct pxc_config *
sheet_config(void)
{
  const char *lines[SHEET_IDENTITY_MAX + 1];
  char text[SHEET_IDENTITY_MAX][SHEET_TEXT_MAX + 16];

  ck_assert_uint_gt(sheet.identity_count, 0);
  for (size_t i = 0; i < sheet.identity_count; i++) {
    snprintf(text[i], sizeof(text[i]), "dhcp-ipxe-own=%s", sheet.identities[i]);
    lines[i] = text[i];
  }
  lines[sheet.identity_count] = NULL;
  return config_of(lines);
}

/* The sheet reads, and every program says what the library must make of
   it and sends something. */
START_TEST(sheet_is_complete)
{
  ck_assert_uint_ge(sheet.count, SHEET_PROGRAMS_AT_LEAST);
  for (size_t i = 0; i < sheet.count; i++) {
    const struct sheet_program *p = &sheet.programs[i];
    ck_assert_msg(p->has_expect, "program %s (line %u) has no expect line",
                  p->name, p->line);
    ck_assert_msg(p->option_count > 0, "program %s sends nothing", p->name);
    for (size_t k = 0; k < i; k++)
      ck_assert_msg(strcmp(sheet.programs[k].name, p->name) != 0,
                    "program %s twice", p->name);
  }
}
END_TEST

/* Every program, built from the sheet, classifies as the sheet says. */
START_TEST(every_program_classifies_as_the_sheet_says)
{
  struct pxc_config *cfg = sheet_config();
  struct sheet_machine m = test_machine();
  char err[512], warned[SHEET_TEXT_MAX];

  for (size_t i = 0; i < sheet.count; i++) {
    const struct sheet_program *p = &sheet.programs[i];
    struct pxc_verdict v;

    ck_assert_msg(
        sheet_build_discover(p, &m, (uint32_t)i, &b, err, sizeof(err)) == 0,
        "%s", err);
    pxc_classify(cfg, b.buf, b.len, &req);
    pxc_evaluate(cfg, NULL, &req, 0, &v);
    ck_assert_msg(req.errors == 0, "%s: errors 0x%x", p->name, req.errors);
    ck_assert_msg(strcmp(pxc_class_name(req.fw_class), p->expect_class) == 0,
                  "%s: class %s, the sheet says %s", p->name,
                  pxc_class_name(req.fw_class), p->expect_class);
    if (p->expect_arch == SHEET_ARCH_NONE)
      ck_assert_msg(req.arch_source == PXC_ARCH_NONE,
                    "%s: arch %u, the sheet says none", p->name, req.arch);
    else
      ck_assert_msg(req.arch_source != PXC_ARCH_NONE &&
                        req.arch == (uint16_t)p->expect_arch,
                    "%s: arch %u, the sheet says %d", p->name, req.arch,
                    p->expect_arch);
    warning_names(req.warnings, warned, sizeof(warned));
    ck_assert_msg(strcmp(warned, p->expect_warnings) == 0,
                  "%s: warnings '%s', the sheet says '%s'", p->name, warned,
                  p->expect_warnings);
    ck_assert_msg(strcmp(pxc_own_name(v.own), p->expect_own) == 0,
                  "%s: own %s, the sheet says %s", p->name, pxc_own_name(v.own),
                  p->expect_own);
  }
  pxc_config_free(cfg);
}
END_TEST

/* The builder follows the sheet: order, flags, padding, 175 layout. */
START_TEST(discover_bytes_follow_the_sheet)
{
  static const uint8_t gpxe_head[] = {
      /* 97: the machine's UUID */
      97, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
      /* 61: its MAC */
      61, 7, 1, 0x52, 0x54, 0x00, 0xfa, 0xc7, 0x01,
      /* 175: bus id, version, then pxe-ext=2 first, as gPXE emits them */
      175, 45, 0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00, 0xeb, 3, 0, 9, 7,
      0x10, 1, 2,
  };
  struct sheet_machine m = test_machine();
  const struct sheet_program *gpxe = NULL, *rom = NULL;
  char err[512];

  for (size_t i = 0; i < sheet.count; i++) {
    if (strcmp(sheet.programs[i].name, "gpxe-0.9.7") == 0)
      gpxe = &sheet.programs[i];
    if (strcmp(sheet.programs[i].name, "pxe-rom") == 0)
      rom = &sheet.programs[i];
  }
  ck_assert_ptr_nonnull(gpxe);
  ck_assert_ptr_nonnull(rom);
  ck_assert_int_eq(sheet_build_discover(gpxe, &m, 1, &b, err, sizeof(err)), 0);
  ck_assert_mem_eq(b.buf + 240, gpxe_head, sizeof(gpxe_head));
  ck_assert_int_eq(sheet_build_discover(rom, &m, 1, &b, err, sizeof(err)), 0);
  ck_assert_uint_eq(b.len, 548);
  ck_assert_uint_eq(b.buf[10], 0x80); /* broadcast */
  ck_assert_uint_eq(b.buf[240], 53);
}
END_TEST

/* Write TEXT to a temporary file; its path in PATH (PATH_SIZE bytes). */
static void
temp_sheet(const char *text, char *path, size_t path_size)
{
  int fd;

  snprintf(path, path_size, "/tmp/pxc-sheet-XXXXXX");
  fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* A line the reader does not know is named with its line number; a name
   the library does not know stops the build. */
START_TEST(sheet_errors_are_named)
{
  struct sheet bad;
  struct sheet_machine m = test_machine();
  char path[64], err[512];

  temp_sheet("# x\nprogram a\n  option 53 msg-type\n  bogus 1\n", path,
             sizeof(path));
  ck_assert_int_eq(sheet_load(path, &bad, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, ":4: unknown program line 'bogus'"), "%s", err);
  unlink(path);

  temp_sheet("program a\n  option 175 ipxe\n  ipxe-features https nope\n"
             "  expect class ipxe arch - own vendor\n",
             path, sizeof(path));
  ck_assert_int_eq(sheet_load(path, &bad, err, sizeof(err)), 0);
  ck_assert_int_eq(
      sheet_build_discover(&bad.programs[0], &m, 1, &b, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "feature 'nope' unknown"), "%s", err);
  sheet_free(&bad);
  unlink(path);

  temp_sheet("program a\n  option 93 arch efi-x65\n", path, sizeof(path));
  ck_assert_int_eq(sheet_load(path, &bad, err, sizeof(err)), 0);
  ck_assert_int_eq(
      sheet_build_discover(&bad.programs[0], &m, 1, &b, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "architecture 'efi-x65' unknown"), "%s", err);
  sheet_free(&bad);
  unlink(path);
}
END_TEST

Suite *
factsheet_suite(void)
{
  Suite *s = suite_create("factsheet");
  TCase *tc = tcase_create("factsheet");

  tcase_add_checked_fixture(tc, load_sheet, free_sheet);
  tcase_add_test(tc, sheet_is_complete);
  tcase_add_test(tc, every_program_classifies_as_the_sheet_says);
  tcase_add_test(tc, discover_bytes_follow_the_sheet);
  tcase_add_test(tc, sheet_errors_are_named);
  suite_add_tcase(s, tc);
  return s;
}
