/*
 * Unit tests of the fact tables (lib/tables.c): complete, consistent,
 * and every name resolves back to its code.
 */
#include <string.h>

#include "pxeclass.h"
#include "suites.h"

/* Every IANA value 0–41 is named, names are unique and resolve back. */
START_TEST(arch_table_complete)
{
  for (uint32_t code = 0; code <= 41; code++) {
    const struct pxc_arch_info *info = pxc_arch_by_code(code);
    ck_assert_ptr_nonnull(info);
    ck_assert_uint_eq(info->code, code);
    ck_assert_ptr_eq(pxc_arch_by_name(info->name), info);
    ck_assert_uint_eq(pxc_family_by_name(info->name), 0); /* no clash */
  }
  ck_assert_ptr_null(pxc_arch_by_code(42));
  ck_assert_ptr_null(pxc_arch_by_code(0xffff));
  ck_assert_ptr_null(pxc_arch_by_name("efi-x65"));
}
END_TEST

/* The families the README promises, on the codes that define them. */
START_TEST(arch_families)
{
  static const struct {
    uint32_t code;
    const char *family;
  } in[] = {
      {0, "bios"},     {7, "efi"},      {7, "x64"},       {16, "http"},
      {16, "x64"},     {19, "arm64"},   {11, "arm64"},    {6, "ia32"},
      {10, "arm32"},   {27, "riscv64"}, {39, "loongarch64"}, {22, "uboot"},
      {20, "bios"},    {20, "http"},    {9, "ebc"},       {41, "rpi"},
  };
  for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
    uint32_t bit = pxc_family_by_name(in[i].family);
    ck_assert_uint_ne(bit, 0);
    ck_assert_msg(pxc_arch_by_code(in[i].code)->families & bit, "%u not %s",
                  in[i].code, in[i].family);
    ck_assert_str_eq(pxc_family_name(bit), in[i].family);
  }
  ck_assert(!(pxc_arch_by_code(7)->families & pxc_family_by_name("http")));
  ck_assert(!(pxc_arch_by_code(0)->families & pxc_family_by_name("efi")));
  ck_assert(!(pxc_arch_by_code(11)->families & pxc_family_by_name("x64")));
}
END_TEST

/* The feature names of SPEC §3, at iPXE's codes (features.h). */
START_TEST(feature_table)
{
  static const struct {
    uint8_t code;
    const char *name;
  } want[] = {
      {16, "pxe-ext"}, {17, "iscsi"}, {18, "aoe"},   {19, "http"},
      {20, "https"},   {21, "tftp"},  {22, "ftp"},   {23, "dns"},
      {24, "bzimage"}, {25, "multiboot"}, {26, "slam"}, {27, "srp"},
      {32, "nbi"},     {33, "pxe"},   {34, "elf"},   {35, "comboot"},
      {36, "efi"},     {37, "fcoe"},  {38, "vlan"},  {39, "menu"},
      {40, "sdi"},     {41, "nfs"},
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    ck_assert_str_eq(pxc_feature_name(want[i].code), want[i].name);
    ck_assert_int_eq(pxc_feature_by_name(want[i].name), want[i].code);
  }
  ck_assert_ptr_null(pxc_feature_name(0x7f));
  ck_assert_int_eq(pxc_feature_by_name("telnet"), -1);
}
END_TEST

START_TEST(bus_table)
{
  static const char *const names[] = {NULL, "pci", "isapnp", "eisa", "mca",
                                      "isa", "tap", "efi", "xen", "hv", "usb",
                                      "dt"};
  for (int i = 1; i < 12; i++) {
    ck_assert_str_eq(pxc_bus_name((uint8_t)i), names[i]);
    ck_assert_int_eq(pxc_bus_by_name(names[i]), i);
  }
  ck_assert_ptr_null(pxc_bus_name(0));
  ck_assert_ptr_null(pxc_bus_name(12));
  ck_assert_int_eq(pxc_bus_by_name("pcie"), -1);
}
END_TEST

/* Every flag bit the header defines has a name and a description. */
START_TEST(flag_names)
{
  for (uint32_t bit = 1; bit <= PXC_ERR_NO_END; bit <<= 1) {
    ck_assert_ptr_nonnull(pxc_error_name(bit));
    ck_assert_ptr_nonnull(pxc_error_text(bit));
  }
  for (uint32_t bit = 1; bit <= PXC_WARN_RPI_AS_BIOS; bit <<= 1) {
    ck_assert_ptr_nonnull(pxc_warning_name(bit));
    ck_assert_ptr_nonnull(pxc_warning_text(bit));
  }
  ck_assert_ptr_null(pxc_error_name(1u << 31));
  ck_assert_ptr_null(pxc_warning_text(1u << 31));
}
END_TEST

START_TEST(class_names)
{
  ck_assert_str_eq(pxc_class_name(PXC_CLASS_HTTP_BOOT), "http-boot");
  ck_assert_str_eq(pxc_class_name(PXC_CLASS_UBOOT), "uboot");
  ck_assert_str_eq(pxc_class_name(PXC_CLASS_COUNT), "invalid");
  ck_assert_str_eq(pxc_own_name(PXC_OWN_VENDOR), "vendor");
  ck_assert_str_eq(pxc_own_name((enum pxc_own)7), "invalid");
}
END_TEST

/* The iterators walk each whole table, then say NULL / -1. */
START_TEST(table_iterators)
{
  size_t i;

  for (i = 0; pxc_arch_at(i); i++)
    ck_assert_ptr_eq(pxc_arch_by_code(pxc_arch_at(i)->code), pxc_arch_at(i));
  ck_assert_uint_eq(i, 42);
  for (i = 0; pxc_feature_at(i) >= 0; i++) {
    int code = pxc_feature_at(i);
    /* every named feature is one the classifier records */
    ck_assert_int_ge(code, PXC_FEATURE_FIRST);
    ck_assert_int_le(code, PXC_FEATURE_LAST);
    ck_assert_ptr_nonnull(pxc_feature_name((uint8_t)code));
  }
  ck_assert_uint_eq(i, 23);
  ck_assert_int_eq(pxc_feature_at((size_t)-1), -1);
}
END_TEST

/* dhcp-pxe-class selectors: every class name in enum order, then the
   three that are not classes, then every agent name (none's excepted). */
START_TEST(class_selectors)
{
  static const char *const extra[] = {"ipxe-own", "ipxe-vendor", "netboot"};
  size_t i;

  for (i = 0; i < PXC_CLASS_COUNT; i++)
    ck_assert_str_eq(pxc_class_selector_name(i),
                     pxc_class_name((enum pxc_class)i));
  for (size_t k = 0; k < 3; k++)
    ck_assert_str_eq(pxc_class_selector_name(i + k), extra[k]);
  i += 3;
  for (size_t a = 1; a < PXC_AGENT_COUNT; a++, i++)
    ck_assert_str_eq(pxc_class_selector_name(i),
                     pxc_agent_name((enum pxc_agent)a));
  ck_assert_ptr_null(pxc_class_selector_name(i));
  ck_assert(pxc_class_starts_chain(PXC_CLASS_PXE));
  ck_assert(!pxc_class_starts_chain(PXC_CLASS_IPXE));
  ck_assert(!pxc_class_starts_chain(PXC_CLASS_COUNT));
}
END_TEST

/* netboot is every boot program: not none, not an agent, not an OS; and
   every agent name is its own (no class or other agent has it). */
START_TEST(netboot_and_agents)
{
  for (int c = 0; c < PXC_CLASS_COUNT; c++)
    ck_assert_int_eq(pxc_class_is_netboot((enum pxc_class)c),
                     c != PXC_CLASS_NONE && c != PXC_CLASS_AGENT &&
                         c != PXC_CLASS_OS);
  ck_assert(!pxc_class_is_netboot(PXC_CLASS_COUNT));
  ck_assert_str_eq(pxc_agent_name(PXC_AGENT_NONE), "");
  ck_assert_ptr_null(pxc_agent_name(PXC_AGENT_COUNT));
  ck_assert_ptr_null(pxc_agent_text(PXC_AGENT_COUNT));
  ck_assert_int_eq(pxc_agent_class(PXC_AGENT_COUNT), PXC_CLASS_NONE);
  ck_assert_int_eq(pxc_agent_class(PXC_AGENT_UDHCPC), PXC_CLASS_OS);
  ck_assert_int_eq(pxc_agent_class(PXC_AGENT_IDRAC), PXC_CLASS_AGENT);
  for (int a = 1; a < PXC_AGENT_COUNT; a++) {
    const char *name = pxc_agent_name((enum pxc_agent)a);
    ck_assert_uint_gt(strlen(name), 0);
    for (int c = 0; c < PXC_CLASS_COUNT; c++)
      ck_assert_str_ne(name, pxc_class_name((enum pxc_class)c));
    for (int b = 1; b < a; b++)
      ck_assert_str_ne(name, pxc_agent_name((enum pxc_agent)b));
  }
}
END_TEST

/* The names come from the header's tables, bit by bit; a value that is
   not one bit has none. */
START_TEST(flag_names_from_header)
{
#define CHECK_ERR_(id, name, text)                                             \
  ck_assert_str_eq(pxc_error_name(PXC_ERR_##id), name);                        \
  ck_assert_str_eq(pxc_error_text(PXC_ERR_##id), text);
#define CHECK_WARN_(id, name, text)                                            \
  ck_assert_str_eq(pxc_warning_name(PXC_WARN_##id), name);                     \
  ck_assert_str_eq(pxc_warning_text(PXC_WARN_##id), text);
  PXC_ERRORS(CHECK_ERR_)
  PXC_WARNINGS(CHECK_WARN_)
#undef CHECK_ERR_
#undef CHECK_WARN_
  ck_assert_ptr_null(pxc_error_name(0));
  ck_assert_ptr_null(pxc_error_name(PXC_ERR_SHORT | PXC_ERR_COOKIE));
  ck_assert_ptr_null(pxc_error_name(1u << PXC_ERR_INDEX_COUNT));
  ck_assert_ptr_null(pxc_warning_name(1u << PXC_WARN_INDEX_COUNT));
}
END_TEST

/* Lookups by name take NULL. */
START_TEST(null_names)
{
  ck_assert_ptr_null(pxc_arch_by_name(NULL));
  ck_assert_uint_eq(pxc_family_by_name(NULL), 0);
  ck_assert_int_eq(pxc_feature_by_name(NULL), -1);
  ck_assert_int_eq(pxc_bus_by_name(NULL), -1);
  ck_assert_ptr_null(pxc_family_name(0));
}
END_TEST

Suite *
tables_suite(void)
{
  Suite *s = suite_create("tables");
  TCase *tc = tcase_create("facts");

  tcase_add_test(tc, arch_table_complete);
  tcase_add_test(tc, arch_families);
  tcase_add_test(tc, feature_table);
  tcase_add_test(tc, bus_table);
  tcase_add_test(tc, flag_names);
  tcase_add_test(tc, class_names);
  tcase_add_test(tc, table_iterators);
  tcase_add_test(tc, class_selectors);
  tcase_add_test(tc, netboot_and_agents);
  tcase_add_test(tc, flag_names_from_header);
  tcase_add_test(tc, null_names);
  suite_add_tcase(s, tc);
  return s;
}
