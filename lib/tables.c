/*
 * The fact tables of libpxeclass: architectures (IANA "Processor
 * Architecture Types"), architecture families, iPXE feature flags, iPXE
 * bus types, firmware classes and the error/warning flags.  Each fact is
 * stated here once (the names of classes, errors and warnings in the
 * tables of pxeclass.h, expanded here); everything else looks it up.
 * Every lookup takes any argument: NULL names find nothing.  This file
 * calls nothing else of the library.
 */
#include <string.h>

#include "facts.h"
#include "pxeclass.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define BIOS PXC_FAM_BIOS
#define EFI PXC_FAM_EFI
#define HTTP PXC_FAM_HTTP
#define UBOOT PXC_FAM_UBOOT

/*
 * Option 93 values 0–41 (RFC 4578 §2.1, RFC 5970 §3.3, the IANA registry;
 * cross-checked with EDK2 PXE_CLIENT_ARCH_* / HTTP_CLIENT_ARCH_* and iPXE
 * dhcp.h).  7 is x64 UEFI and 9 is EBC, as in IANA after RFC erratum 4624.
 */
static const struct pxc_arch_info arch_table[] = {
  { 0,  "x86-bios",          "x86 BIOS",                     BIOS | PXC_FAM_X86 },
  { 1,  "pc98",              "NEC/PC98 (deprecated)",        BIOS | PXC_FAM_X86 },
  { 2,  "efi-itanium",       "Itanium",                      EFI | PXC_FAM_IA64 },
  { 3,  "alpha",             "DEC Alpha (deprecated)",       0 },
  { 4,  "arc-x86",           "Arc x86 (deprecated)",         PXC_FAM_X86 },
  { 5,  "intel-lean-client", "Intel Lean Client (deprecated)", PXC_FAM_X86 },
  { 6,  "efi-x86",           "x86 UEFI",                     EFI | PXC_FAM_X86 | PXC_FAM_IA32 },
  { 7,  "efi-x64",           "x64 UEFI",                     EFI | PXC_FAM_X86 | PXC_FAM_X64 },
  { 8,  "efi-xscale",        "EFI Xscale (deprecated)",      EFI | PXC_FAM_ARM32 },
  { 9,  "efi-ebc",           "EBC",                          EFI | PXC_FAM_EBC },
  { 10, "efi-arm32",         "ARM 32-bit UEFI",              EFI | PXC_FAM_ARM32 },
  { 11, "efi-arm64",         "ARM 64-bit UEFI",              EFI | PXC_FAM_ARM64 },
  { 12, "ppc-openfirmware",  "PowerPC Open Firmware",        PXC_FAM_PPC },
  { 13, "ppc-epapr",         "PowerPC ePAPR",                PXC_FAM_PPC },
  { 14, "power-opal",        "POWER OPAL v3",                PXC_FAM_PPC },
  { 15, "efi-x86-http",      "x86 UEFI boot from HTTP",      EFI | HTTP | PXC_FAM_X86 | PXC_FAM_IA32 },
  { 16, "efi-x64-http",      "x64 UEFI boot from HTTP",      EFI | HTTP | PXC_FAM_X86 | PXC_FAM_X64 },
  { 17, "efi-ebc-http",      "EBC boot from HTTP",           EFI | HTTP | PXC_FAM_EBC },
  { 18, "efi-arm32-http",    "ARM 32-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_ARM32 },
  { 19, "efi-arm64-http",    "ARM 64-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_ARM64 },
  { 20, "x86-bios-http",     "PC/AT BIOS boot from HTTP",    BIOS | HTTP | PXC_FAM_X86 },
  { 21, "uboot-arm32",       "ARM 32-bit U-Boot",            UBOOT | PXC_FAM_ARM32 },
  { 22, "uboot-arm64",       "ARM 64-bit U-Boot",            UBOOT | PXC_FAM_ARM64 },
  { 23, "uboot-arm32-http",  "ARM 32-bit U-Boot boot from HTTP", UBOOT | HTTP | PXC_FAM_ARM32 },
  { 24, "uboot-arm64-http",  "ARM 64-bit U-Boot boot from HTTP", UBOOT | HTTP | PXC_FAM_ARM64 },
  { 25, "efi-riscv32",       "RISC-V 32-bit UEFI",           EFI | PXC_FAM_RISCV32 },
  { 26, "efi-riscv32-http",  "RISC-V 32-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_RISCV32 },
  { 27, "efi-riscv64",       "RISC-V 64-bit UEFI",           EFI | PXC_FAM_RISCV64 },
  { 28, "efi-riscv64-http",  "RISC-V 64-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_RISCV64 },
  { 29, "efi-riscv128",      "RISC-V 128-bit UEFI",          EFI | PXC_FAM_RISCV128 },
  { 30, "efi-riscv128-http", "RISC-V 128-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_RISCV128 },
  { 31, "s390-basic",        "s390 Basic",                   PXC_FAM_S390 },
  { 32, "s390-extended",     "s390 Extended",                PXC_FAM_S390 },
  { 33, "efi-mips32",        "MIPS 32-bit UEFI",             EFI | PXC_FAM_MIPS },
  { 34, "efi-mips64",        "MIPS 64-bit UEFI",             EFI | PXC_FAM_MIPS },
  { 35, "efi-sunway32",      "Sunway 32-bit UEFI",           EFI | PXC_FAM_SUNWAY },
  { 36, "efi-sunway64",      "Sunway 64-bit UEFI",           EFI | PXC_FAM_SUNWAY },
  { 37, "efi-loongarch32",   "LoongArch 32-bit UEFI",        EFI | PXC_FAM_LOONGARCH32 },
  { 38, "efi-loongarch32-http", "LoongArch 32-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_LOONGARCH32 },
  { 39, "efi-loongarch64",   "LoongArch 64-bit UEFI",        EFI | PXC_FAM_LOONGARCH64 },
  { 40, "efi-loongarch64-http", "LoongArch 64-bit UEFI boot from HTTP", EFI | HTTP | PXC_FAM_LOONGARCH64 },
  { 41, "arm-rpiboot",       "arm rpiboot",                  PXC_FAM_RPI },
};

/* Family names, as accepted by dhcp-pxe-arch. */
static const struct {
  uint32_t bit;
  const char *name;
} family_table[] = {
  { PXC_FAM_BIOS, "bios" },       { PXC_FAM_EFI, "efi" },
  { PXC_FAM_HTTP, "http" },       { PXC_FAM_UBOOT, "uboot" },
  { PXC_FAM_X86, "x86" },         { PXC_FAM_IA32, "ia32" },
  { PXC_FAM_X64, "x64" },         { PXC_FAM_ARM32, "arm32" },
  { PXC_FAM_ARM64, "arm64" },     { PXC_FAM_RISCV32, "riscv32" },
  { PXC_FAM_RISCV64, "riscv64" }, { PXC_FAM_RISCV128, "riscv128" },
  { PXC_FAM_LOONGARCH32, "loongarch32" },
  { PXC_FAM_LOONGARCH64, "loongarch64" },
  { PXC_FAM_IA64, "ia64" },       { PXC_FAM_EBC, "ebc" },
  { PXC_FAM_PPC, "ppc" },         { PXC_FAM_S390, "s390" },
  { PXC_FAM_MIPS, "mips" },       { PXC_FAM_SUNWAY, "sunway" },
  { PXC_FAM_RPI, "rpi" },
};

/*
 * iPXE option 175 feature flags (src/include/ipxe/features.h: DHCP_EB_FEATURE_*),
 * named after the features themselves.  42 is MULTIBOOT2 of the Triton
 * (Joyent) fork, not upstream.
 */
static const struct {
  uint8_t code;
  const char *name;
} feature_table[] = {
  { 0x10, "pxe-ext" },   { 0x11, "iscsi" },     { 0x12, "aoe" },
  { 0x13, "http" },      { 0x14, "https" },     { 0x15, "tftp" },
  { 0x16, "ftp" },       { 0x17, "dns" },       { 0x18, "bzimage" },
  { 0x19, "multiboot" }, { 0x1a, "slam" },      { 0x1b, "srp" },
  { 0x20, "nbi" },       { 0x21, "pxe" },       { 0x22, "elf" },
  { 0x23, "comboot" },   { 0x24, "efi" },       { 0x25, "fcoe" },
  { 0x26, "vlan" },      { 0x27, "menu" },      { 0x28, "sdi" },
  { 0x29, "nfs" },       { 0x2a, "multiboot2" },
};

/* iPXE bus types of sub-option 177 (src/include/ipxe/device.h BUS_TYPE_*). */
static const char *const bus_table[] = {
  [1] = "pci", [2] = "isapnp", [3] = "eisa", [4] = "mca", [5] = "isa",
  [6] = "tap", [7] = "efi", [8] = "xen", [9] = "hv", [10] = "usb",
  [11] = "dt",
};

/* Firmware classes, from the one table of pxeclass.h. */
#define CLASS_ROW_(id, name, starts, netboot)                                  \
  [PXC_CLASS_##id] = {name, starts, netboot},
static const struct {
  const char *name;
  bool starts_chain;
  bool netboot;
} class_table[PXC_CLASS_COUNT] = {PXC_CLASSES(CLASS_ROW_)};
#undef CLASS_ROW_

/* Agents, from the one table of pxeclass.h. */
#define AGENT_ROW_(id, name, cls, text)                                        \
  [PXC_AGENT_##id] = {name, text, PXC_CLASS_##cls},
static const struct {
  const char *name;
  const char *text;
  enum pxc_class cls;
} agent_table[PXC_AGENT_COUNT] = {PXC_AGENTS(AGENT_ROW_)};
#undef AGENT_ROW_

/* What dhcp-pxe-class selects on past the class names (config.c keeps
   the same order). */
static const char *const selector_extra[] = {"ipxe-own", "ipxe-vendor",
                                             "netboot"};

static const char *const own_table[] = {
  [PXC_OWN_UNKNOWN] = "unknown",
  [PXC_OWN_VENDOR] = "vendor",
  [PXC_OWN_OWN] = "own",
};

#define NAME_ROW_(id, name) name,
static const char *const ip_family_table[] = {PXC_IP_FAMILIES(NAME_ROW_)};
static const char *const mac_source_table[] = {PXC_MAC_SOURCES(NAME_ROW_)};
#undef NAME_ROW_

/*
 * Raspberry Pi network bootloaders (Pi 4/400/CM4/Pi 5 EEPROM) send option
 * 93 = 0, claiming x86 BIOS.  They are known by the FourCC at the start of
 * their option 97 ("RPi4", "RPi5": rpi-eeprom DHCP_OPTION97 default) or by
 * the Raspberry Pi OUIs (IEEE registry; 2C:CF:67 and 88:A2:9E from device
 * notes).
 */
static const uint8_t rpi_ouis[][3] = {
  { 0xb8, 0x27, 0xeb }, { 0xdc, 0xa6, 0x32 }, { 0xe4, 0x5f, 0x01 },
  { 0x28, 0xcd, 0xc1 }, { 0xd8, 0x3a, 0xdd }, { 0x2c, 0xcf, 0x67 },
  { 0x88, 0xa2, 0x9e },
};

static const char rpi_fourccs[][4] = { "RPi4", "RPi5" };

/* Error and warning names and descriptions, from the tables of
   pxeclass.h, indexed by bit number. */
struct flag_info {
  const char *name;
  const char *text;
};

#define FLAG_ROW_(id, name, text) {name, text},
static const struct flag_info error_table[] = {PXC_ERRORS(FLAG_ROW_)};
static const struct flag_info warning_table[] = {PXC_WARNINGS(FLAG_ROW_)};
#undef FLAG_ROW_

/* Table lookups. */

_Static_assert(COUNT(arch_table) == PXC_ARCH_CODES,
               "facts.h says how many codes the architecture table names");

const struct pxc_arch_info *
pxc_arch_by_code(uint32_t code)
{
  return code < COUNT(arch_table) ? &arch_table[code] : NULL;
}

const struct pxc_arch_info *
pxc_arch_by_name(const char *name)
{
  if (!name)
    return NULL;
  for (size_t i = 0; i < COUNT(arch_table); i++)
    if (strcmp(arch_table[i].name, name) == 0)
      return &arch_table[i];
  return NULL;
}

const struct pxc_arch_info *
pxc_arch_at(size_t i)
{
  return i < COUNT(arch_table) ? &arch_table[i] : NULL;
}

uint32_t
pxc_family_by_name(const char *name)
{
  if (!name)
    return 0;
  for (size_t i = 0; i < COUNT(family_table); i++)
    if (strcmp(family_table[i].name, name) == 0)
      return family_table[i].bit;
  return 0;
}

const char *
pxc_family_name(uint32_t bit)
{
  for (size_t i = 0; i < COUNT(family_table); i++)
    if (family_table[i].bit == bit)
      return family_table[i].name;
  return NULL;
}

const char *
pxc_feature_name(uint8_t code)
{
  for (size_t i = 0; i < COUNT(feature_table); i++)
    if (feature_table[i].code == code)
      return feature_table[i].name;
  return NULL;
}

int
pxc_feature_by_name(const char *name)
{
  if (!name)
    return -1;
  for (size_t i = 0; i < COUNT(feature_table); i++)
    if (strcmp(feature_table[i].name, name) == 0)
      return feature_table[i].code;
  return -1;
}

int
pxc_feature_at(size_t i)
{
  return i < COUNT(feature_table) ? feature_table[i].code : -1;
}

const char *
pxc_bus_name(uint8_t type)
{
  return type < COUNT(bus_table) ? bus_table[type] : NULL;
}

int
pxc_bus_by_name(const char *name)
{
  if (!name)
    return -1;
  for (size_t i = 0; i < COUNT(bus_table); i++)
    if (bus_table[i] && strcmp(bus_table[i], name) == 0)
      return (int)i;
  return -1;
}

const char *
pxc_class_name(enum pxc_class cls)
{
  return (unsigned)cls < PXC_CLASS_COUNT ? class_table[cls].name : "invalid";
}

bool
pxc_class_starts_chain(enum pxc_class cls)
{
  return (unsigned)cls < PXC_CLASS_COUNT && class_table[cls].starts_chain;
}

bool
pxc_class_is_netboot(enum pxc_class cls)
{
  return (unsigned)cls < PXC_CLASS_COUNT && class_table[cls].netboot;
}

const char *
pxc_class_selector_name(size_t i)
{
  if (i < PXC_CLASS_COUNT)
    return class_table[i].name;
  i -= PXC_CLASS_COUNT;
  if (i < COUNT(selector_extra))
    return selector_extra[i];
  i -= COUNT(selector_extra) - 1; /* agent 0 (none) is no selector */
  return i < PXC_AGENT_COUNT ? agent_table[i].name : NULL;
}

const char *
pxc_agent_name(enum pxc_agent agent)
{
  return (unsigned)agent < PXC_AGENT_COUNT ? agent_table[agent].name : NULL;
}

const char *
pxc_agent_text(enum pxc_agent agent)
{
  return (unsigned)agent < PXC_AGENT_COUNT ? agent_table[agent].text : NULL;
}

enum pxc_class
pxc_agent_class(enum pxc_agent agent)
{
  return (unsigned)agent < PXC_AGENT_COUNT ? agent_table[agent].cls
                                           : PXC_CLASS_NONE;
}

/*
 * The HTTP Boot code of the same firmware family as option 93 value CODE
 * (a UEFI PXE code: 7 gives 16, 11 gives 19), or 0 if CODE is not a UEFI
 * PXE code with an HTTP sibling.  Read from the architecture table: the
 * sibling is the entry whose families are CODE's plus HTTP.
 */
uint16_t
pxc_arch_http_sibling(uint32_t code)
{
  const struct pxc_arch_info *info = pxc_arch_by_code(code);
  uint32_t want;

  if (!info || !(info->families & EFI) || (info->families & HTTP))
    return 0;
  want = info->families | HTTP;
  for (size_t i = 0; i < COUNT(arch_table); i++)
    if (arch_table[i].families == want)
      return arch_table[i].code;
  return 0;
}

const char *
pxc_own_name(enum pxc_own own)
{
  return (unsigned)own < COUNT(own_table) ? own_table[own] : "invalid";
}

const char *
pxc_ip_family_name(enum pxc_ip_family family)
{
  return (unsigned)family < COUNT(ip_family_table) ? ip_family_table[family]
                                                   : "invalid";
}

const char *
pxc_mac_source_name(enum pxc_mac_source source)
{
  return (unsigned)source < COUNT(mac_source_table) ? mac_source_table[source]
                                                    : "invalid";
}

bool
pxc_is_raspberry_pi(const uint8_t *mac, size_t mac_len, const uint8_t *uuid97,
                    size_t uuid97_len)
{
  for (size_t i = 0; uuid97 && uuid97_len >= 5 && i < COUNT(rpi_fourccs); i++)
    if (memcmp(uuid97 + 1, rpi_fourccs[i], 4) == 0)
      return true;
  for (size_t i = 0; mac && mac_len >= 3 && i < COUNT(rpi_ouis); i++)
    if (memcmp(mac, rpi_ouis[i], 3) == 0)
      return true;
  return false;
}

/* The entry of TABLE (COUNT rows) for BIT, a single bit; NULL for 0, for
   several bits, or past the table. */
static const struct flag_info *
flag_lookup(const struct flag_info *table, size_t count, uint32_t bit)
{
  unsigned index;

  if (bit == 0 || (bit & (bit - 1)) != 0)
    return NULL;
  index = (unsigned)__builtin_ctz(bit);
  return index < count ? &table[index] : NULL;
}

const char *
pxc_error_name(uint32_t bit)
{
  const struct flag_info *f = flag_lookup(error_table, COUNT(error_table), bit);
  return f ? f->name : NULL;
}

const char *
pxc_error_text(uint32_t bit)
{
  const struct flag_info *f = flag_lookup(error_table, COUNT(error_table), bit);
  return f ? f->text : NULL;
}

const char *
pxc_warning_name(uint32_t bit)
{
  const struct flag_info *f =
      flag_lookup(warning_table, COUNT(warning_table), bit);
  return f ? f->name : NULL;
}

const char *
pxc_warning_text(uint32_t bit)
{
  const struct flag_info *f =
      flag_lookup(warning_table, COUNT(warning_table), bit);
  return f ? f->text : NULL;
}

/* BSDP message type names, by value (PXC_BSDP_MSGS). */
#define BSDP_MSG_ROW_(id, value, name) [value] = name,
static const char *const bsdp_msg_names[] = {PXC_BSDP_MSGS(BSDP_MSG_ROW_)};
#undef BSDP_MSG_ROW_

const char *
pxc_bsdp_msg_name(unsigned type)
{
  return type < COUNT(bsdp_msg_names) ? bsdp_msg_names[type] : NULL;
}
