/*
 * libpxeclass — classify network-boot DHCP requests.
 *
 * The library reads one DHCPv4 or DHCPv6 packet (bounds-checked, one
 * pass), tells which boot firmware sent it (PXE ROM, UEFI PXE, UEFI HTTP
 * Boot, iPXE, gPXE, Etherboot, U-Boot, GRUB, WDS, Apple BSDP, FlexBoot,
 * other loaders), or which boot agent or operating system, for which CPU
 * architecture, and which iPXE build with which features.  A configuration made
 * of dnsmasq-style directive lines (dhcp-pxe-class=set:tag,… and friends) turns
 * that classification into tags.  The library knows nothing about dnsmasq: the
 * same code serves the dnsmasq hooks and the pxeclass CLI.
 *
 * One request goes through four steps, each its own call:
 *
 *   pxc_classify()        packet → struct pxc_request        (pure)
 *   (pxc_classify6() for a DHCPv6 packet: the same request, the same
 *   classes; everything after it is the same for both families)
 *   pxc_evaluate()        request + config + tracker → verdict (pure)
 *   pxc_rules_matched()   verdict → which rules set their tag (pure)
 *   pxc_tracker_record()  the verdict joins its client's chain (the write)
 *
 * and each reply the server sends goes to pxc_tracker_reply(), so the
 * tracker knows which boot files were handed out.
 *
 * A struct pxc_config is built by pxc_config_add() and is immutable once
 * pxc_config_finish() succeeded: any number of threads may then read it.
 * A struct pxc_tracker is not locked: one per thread, or lock around it.
 *
 * ABI: the soname is libpxeclass.so.PXC_ABI.  Every declaration in this
 * file — the functions, and the layout of every struct and enum — is the
 * ABI; a change to any of them bumps PXC_ABI.  Nothing else is exported.
 */
#ifndef PXECLASS_H
#define PXECLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PXC_VERSION "0.2.0"
#define PXC_ABI 1

/* Marks the exported functions; the library is built with hidden
   visibility, so only what carries this mark is visible. */
#if defined(__GNUC__)
#define PXC_PUBLIC __attribute__((visibility("default")))
#else
#define PXC_PUBLIC
#endif

struct pxc_config;

/* ------------------------------------------------------------------ */
/* Firmware classes: one table, expanded below and in the library.     */
/* X(ID, name, starts_chain, netboot): starts_chain marks boot         */
/* firmware proper (not a program it loaded): a request from one       */
/* begins a chain.  netboot marks a boot program (what the `netboot`   */
/* selector means): not none, not a boot agent, not an operating       */
/* system.                                                             */

#define PXC_CLASSES(X)                                                         \
  X(NONE, "none", false, false)                                                \
  X(PXE, "pxe", true, true)                                                    \
  X(HTTP_BOOT, "http-boot", true, true)                                        \
  X(IPXE, "ipxe", false, true)                                                 \
  X(GPXE, "gpxe", false, true)                                                 \
  X(ETHERBOOT, "etherboot", true, true)                                        \
  X(UBOOT, "uboot", true, true)                                                \
  X(GRUB, "grub", false, true)                                                 \
  X(WDS, "wds", false, true)                                                   \
  X(BSDP, "bsdp", true, true)                                                  \
  X(FLEXBOOT, "flexboot", true, true)                                          \
  X(LOADER, "loader", false, true)                                             \
  X(AGENT, "agent", false, false)                                              \
  X(OS, "os", false, false)

#define PXC_CLASS_ENUM_(id, name, starts, netboot) PXC_CLASS_##id,
enum pxc_class { PXC_CLASSES(PXC_CLASS_ENUM_) PXC_CLASS_COUNT };
#undef PXC_CLASS_ENUM_

/* Agents: which program of its class sent a request, where the class
   holds several (or where a boot firmware has a known identity).
   X(ID, name, class, description); the name is also a selector of
   dhcp-pxe-class, so it differs from every class name. */

#define PXC_AGENTS(X)                                                          \
  X(NONE, "", NONE, "no agent named")                                          \
  X(BLUEFIELD, "bluefield", PXE, "NVIDIA BlueField DPU UEFI PXE (BF2Client)")  \
  X(GRUB_BOOTP, "grub-bootp", GRUB, "GRUB 2.02 and older: plain BOOTP")        \
  X(FREEBSD, "freebsd-pxeboot", LOADER, "FreeBSD pxeboot/loader")              \
  X(UROOT, "u-root", LOADER, "u-root/LinuxBoot boot (PXE UROOT)")              \
  X(ONIE, "onie", AGENT, "ONIE switch installer (onie_vendor:)")               \
  X(NOKIA_ZTP, "nokia-ztp", AGENT, "Nokia switch zero-touch provisioning")     \
  X(BLUEFIELD_OOB, "bluefield-oob", AGENT,                                     \
    "NVIDIA BlueField out-of-band port or BMC (NVIDIA/BF/)")                   \
  X(IDRAC, "idrac", AGENT, "Dell iDRAC")                                       \
  X(ILO, "ilo", AGENT, "HPE iLO (CPQRIB3)")                                    \
  X(IPCONFIG, "linux-ipconfig", OS,                                            \
    "klibc ipconfig of an initramfs, ip=dhcp (Linux ipconfig)")                \
  X(UDHCPC, "udhcpc", OS, "busybox udhcpc (udhcp <version>)")                  \
  X(ANACONDA, "anaconda", OS, "Anaconda installer's dracut (anaconda-)")       \
  X(DHCPCD, "dhcpcd", OS, "dhcpcd (dhcpcd-<version>:)")                        \
  X(WINDOWS, "windows", OS, "Windows and Windows PE (MSFT 5.0)")               \
  X(BLUEFIELD_OS, "bluefield-os", OS,                                          \
    "NVIDIA BlueField DPU's own OS (nvidia-bluefield-dpu <arch>)")

#define PXC_AGENT_ENUM_(id, name, cls, text) PXC_AGENT_##id,
enum pxc_agent { PXC_AGENTS(PXC_AGENT_ENUM_) PXC_AGENT_COUNT };
#undef PXC_AGENT_ENUM_

/* Ownership of an iPXE build, judged against the configured identities. */
enum pxc_own {
  PXC_OWN_UNKNOWN = 0,  /* not iPXE, or no identity configured */
  PXC_OWN_VENDOR,       /* iPXE that matches no identity of ours */
  PXC_OWN_OWN           /* the site's own iPXE build */
};

/* Where the primary architecture came from. */
enum pxc_arch_source {
  PXC_ARCH_NONE = 0,
  PXC_ARCH_OPT93,       /* option 93, client system architecture */
  PXC_ARCH_OPT60        /* the Arch:NNNNN digits of option 60 */
};
/* (In a DHCPv6 request, PXC_ARCH_OPT93 stands for option 61, the same
   IANA values, and PXC_ARCH_OPT60 for the Arch digits of option 16.) */

/* The address family of a request: which of pxc_classify() and
   pxc_classify6() read it.  X(ID, name) */
#define PXC_IP_FAMILIES(X)                                                     \
  X(IPV4, "ipv4")                                                              \
  X(IPV6, "ipv6")

#define PXC_IP_FAMILY_ENUM_(id, name) PXC_##id,
enum pxc_ip_family { PXC_IP_FAMILIES(PXC_IP_FAMILY_ENUM_) PXC_IP_FAMILY_COUNT };
#undef PXC_IP_FAMILY_ENUM_

/* Where the client's hardware address (htype, hlen, chaddr) came from.
   X(ID, name) */
#define PXC_MAC_SOURCES(X)                                                     \
  X(CHADDR, "chaddr")     /* DHCPv4: the BOOTP header */                       \
  X(NONE, "none")         /* DHCPv6 and none of the below: hlen is 0 */        \
  X(RELAY, "relay")       /* DHCPv6 option 79, from a relay (RFC 6939) */      \
  X(DUID_LL, "duid-ll")   /* DHCPv6 DUID-LL (U-Boot, GRUB) */                  \
  X(DUID_LLT, "duid-llt") /* DHCPv6 DUID-LLT: EDK2 keeps one for every NIC */  \
  X(CALLER, "caller")     /* written by the caller (see pxc_classify6) */

#define PXC_MAC_SOURCE_ENUM_(id, name) PXC_MAC_##id,
enum pxc_mac_source {
  PXC_MAC_SOURCES(PXC_MAC_SOURCE_ENUM_) PXC_MAC_SOURCE_COUNT
};
#undef PXC_MAC_SOURCE_ENUM_

/* ------------------------------------------------------------------ */
/* Problems found in a packet, one table each.                         */
/* Errors: something could not be read.  Warnings: readable, but       */
/* inconsistent or quirky.  X(ID, name, description)                   */

#define PXC_ERRORS(X)                                                          \
  X(SHORT, "short",                                                            \
    "packet shorter than its header (BOOTP's; DHCPv6's or a relay's)")         \
  X(COOKIE, "no-cookie", "no DHCP magic cookie, options not read")             \
  X(OPT_OVERRUN, "opt-overrun", "an option runs past the end of the packet")   \
  X(OVERLOAD, "overload",                                                      \
    "option 52 is malformed or its file/sname area unreadable")                \
  X(SPLIT, "split-too-long", "a split option is too long to join")             \
  X(MSG_TYPE, "msg-type", "option 53 has the wrong length")                    \
  X(ARCH, "arch-length", "option 93 (DHCPv6: 61) is empty or of odd length")   \
  X(UNDI, "undi", "option 94 (DHCPv6: 62) is not 3 bytes of type 1")           \
  X(UUID, "uuid", "option 97 is not 17 bytes of type 0")                       \
  X(ENCAP, "encap-overrun", "an option 175 sub-option runs past its end")      \
  X(ENCAP_VALUE, "encap-value",                                                \
    "option 175 version or bus id has the wrong length")                       \
  X(USER_CLASS, "user-class",                                                  \
    "option 77 is empty (DHCPv6: 15 is, or has an empty or cut entry)")        \
  X(HLEN, "hlen", "hardware address length over 16")                           \
  X(NO_END, "no-end", "options end without an END option")                     \
  X(RELAY_DEPTH, "relay-depth",                                                \
    "DHCPv6 relay messages nested deeper than PXC_RELAY_MAX")                  \
  X(RELAY_MSG, "relay-no-message",                                             \
    "a DHCPv6 relay message without a relay-message option (9)")               \
  X(DUID, "duid",                                                              \
    "DHCPv6 option 1 too short for its DUID type, or over 130 bytes")          \
  X(VENDOR_CLASS, "vendor-class",                                              \
    "DHCPv6 option 16 has no enterprise number, or an empty or cut entry")     \
  X(LINK_LAYER, "link-layer",                                                  \
    "DHCPv6 option 79 is under 3 bytes or its address over 16")                \
  X(BSDP, "bsdp",                                                              \
    "an Apple BSDP sub-option of option 43 runs past its end or has the "      \
    "wrong length")

#define PXC_WARNINGS(X)                                                        \
  X(ARCH_MISMATCH, "arch-mismatch",                                            \
    "option 93 and the Arch of option 60 (DHCPv6: 61, 16) differ")             \
  X(ARCH_FROM_60, "arch-from-60",                                              \
    "no option 93 (DHCPv6: 61): architecture read from option 60 (16)")        \
  X(ARCH9_AS_X64, "arch9-as-x64", "arch 9 (EBC) taken as x64 UEFI")            \
  X(ARCH_UNKNOWN, "arch-unassigned",                                           \
    "an architecture value IANA has not assigned")                             \
  X(ARCH_MANY, "arch-many", "more architecture values than are kept")          \
  X(UNDI_MISMATCH, "undi-mismatch",                                            \
    "option 94 and the UNDI of option 60 (DHCPv6: 62, 16) differ")             \
  X(NO_ARCH, "no-arch", "boot firmware that names no architecture")            \
  X(USER_CLASS_MANY, "user-class-many", "more user classes than are kept")     \
  X(RPI_AS_BIOS, "rpi-as-bios", "Raspberry Pi bootloader claiming x86 BIOS")   \
  X(UBOOT_ARCH_256, "uboot-arch-256",                                          \
    "U-Boot's pre-IANA arch 0x100 (an ARM U-Boot)")                            \
  X(UBOOT_EFI_SWAP, "uboot-efi-x86-swap",                                      \
    "U-Boot's UEFI arch 6/7 swapped: 6 read as x64, 7 as ia32")                \
  X(HTTP_ARCH_AS_PXE, "http-arch-as-pxe",                                      \
    "HTTPClient naming a PXE arch code, read as its HTTP code (11 as 19)")     \
  X(CLASS_REPEATED, "class-repeated",                                          \
    "a DHCPv6 user or vendor class sent twice (stock dnsmasq's tag loop)")     \
  X(UUID_EDK2, "uuid-edk2-order",                                              \
    "DUID-UUID in EDK2's SMBIOS byte order, turned to RFC 4122's")

#define PXC_FLAG_INDEX_(id, name, text) PXC_ERR_INDEX_##id,
enum pxc_error_index { PXC_ERRORS(PXC_FLAG_INDEX_) PXC_ERR_INDEX_COUNT };
#undef PXC_FLAG_INDEX_
#define PXC_FLAG_INDEX_(id, name, text) PXC_WARN_INDEX_##id,
enum pxc_warning_index { PXC_WARNINGS(PXC_FLAG_INDEX_) PXC_WARN_INDEX_COUNT };
#undef PXC_FLAG_INDEX_

#define PXC_FLAG_BIT_(id, name, text) PXC_ERR_##id = 1u << PXC_ERR_INDEX_##id,
enum pxc_error { PXC_ERRORS(PXC_FLAG_BIT_) };
#undef PXC_FLAG_BIT_
#define PXC_FLAG_BIT_(id, name, text) PXC_WARN_##id = 1u << PXC_WARN_INDEX_##id,
enum pxc_warning { PXC_WARNINGS(PXC_FLAG_BIT_) };
#undef PXC_FLAG_BIT_

/* Name ("opt-overrun") and one-line description of one error/warning
   bit; NULL for a bit that is not one. */
PXC_PUBLIC const char *pxc_error_name(uint32_t bit);
PXC_PUBLIC const char *pxc_error_text(uint32_t bit);
PXC_PUBLIC const char *pxc_warning_name(uint32_t bit);
PXC_PUBLIC const char *pxc_warning_text(uint32_t bit);

/* ------------------------------------------------------------------ */
/* Fact tables                                                         */

/* Architecture families (bits of pxc_arch_info.families). */
enum pxc_family {
  PXC_FAM_BIOS   = 1u << 0,  PXC_FAM_EFI    = 1u << 1,
  PXC_FAM_HTTP   = 1u << 2,  PXC_FAM_UBOOT  = 1u << 3,
  PXC_FAM_X86    = 1u << 4,  PXC_FAM_IA32   = 1u << 5,
  PXC_FAM_X64    = 1u << 6,  PXC_FAM_ARM32  = 1u << 7,
  PXC_FAM_ARM64  = 1u << 8,  PXC_FAM_RISCV32 = 1u << 9,
  PXC_FAM_RISCV64 = 1u << 10, PXC_FAM_RISCV128 = 1u << 11,
  PXC_FAM_LOONGARCH32 = 1u << 12, PXC_FAM_LOONGARCH64 = 1u << 13,
  PXC_FAM_IA64   = 1u << 14, PXC_FAM_EBC    = 1u << 15,
  PXC_FAM_PPC    = 1u << 16, PXC_FAM_S390   = 1u << 17,
  PXC_FAM_MIPS   = 1u << 18, PXC_FAM_SUNWAY = 1u << 19,
  PXC_FAM_RPI    = 1u << 20
};

struct pxc_arch_info {
  uint16_t code;          /* option 93 value */
  const char *name;       /* short name used in directives: "efi-x64" */
  const char *iana;       /* IANA registry text: "x64 UEFI" */
  uint32_t families;      /* PXC_FAM_* bits */
};

/* Entry for an option 93 value, or NULL if IANA assigns none. */
PXC_PUBLIC const struct pxc_arch_info *pxc_arch_by_code(uint32_t code);
PXC_PUBLIC const struct pxc_arch_info *pxc_arch_by_name(const char *name);
/* Entry I of the table (0, 1, …), or NULL past the last one. */
PXC_PUBLIC const struct pxc_arch_info *pxc_arch_at(size_t i);

/* Family bit for a family name ("efi", "arm64" …), or 0; and back. */
PXC_PUBLIC uint32_t pxc_family_by_name(const char *name);
PXC_PUBLIC const char *pxc_family_name(uint32_t bit);

/* iPXE option 175 feature flag name ("https"), or NULL if unknown. */
PXC_PUBLIC const char *pxc_feature_name(uint8_t code);
/* Feature code for a name, or -1. */
PXC_PUBLIC int pxc_feature_by_name(const char *name);
/* Code of feature I of the table (0, 1, …), or -1 past the last one. */
PXC_PUBLIC int pxc_feature_at(size_t i);
/* Feature codes iPXE can announce (features.h: DHCP_EB_FEATURE_*). */
#define PXC_FEATURE_FIRST 0x10
#define PXC_FEATURE_LAST  0x7f

/* iPXE bus type name ("pci"), or NULL; and the reverse (-1 if unknown). */
PXC_PUBLIC const char *pxc_bus_name(uint8_t type);
PXC_PUBLIC int pxc_bus_by_name(const char *name);

PXC_PUBLIC const char *pxc_class_name(enum pxc_class cls);
/* "ipv4", "ipv6"; "chaddr", "relay", … ("invalid" for a value not in
   the table, as pxc_class_name()). */
PXC_PUBLIC const char *pxc_ip_family_name(enum pxc_ip_family family);
PXC_PUBLIC const char *pxc_mac_source_name(enum pxc_mac_source source);
PXC_PUBLIC const char *pxc_own_name(enum pxc_own own);
/* True for boot firmware proper (see PXC_CLASSES). */
PXC_PUBLIC bool pxc_class_starts_chain(enum pxc_class cls);
/* True for a boot program, what `netboot` selects (see PXC_CLASSES). */
PXC_PUBLIC bool pxc_class_is_netboot(enum pxc_class cls);

/* Name ("udhcpc"; "" for PXC_AGENT_NONE), class and one-line description
   of an agent (see PXC_AGENTS); NULL and PXC_CLASS_NONE past the table. */
PXC_PUBLIC const char *pxc_agent_name(enum pxc_agent agent);
PXC_PUBLIC const char *pxc_agent_text(enum pxc_agent agent);
PXC_PUBLIC enum pxc_class pxc_agent_class(enum pxc_agent agent);

/* Name of the I-th selector dhcp-pxe-class accepts (every class name,
   then "ipxe-own", "ipxe-vendor", "netboot", then every agent name but
   PXC_AGENT_NONE's), or NULL past the last. */
PXC_PUBLIC const char *pxc_class_selector_name(size_t i);

/* Name of directive I (0, 1, …), or NULL past the last one. */
PXC_PUBLIC const char *pxc_directive_name(size_t i);
/* True if NAME is a directive this library parses ("dhcp-pxe-class" …). */
PXC_PUBLIC bool pxc_is_directive(const char *name);

/* ------------------------------------------------------------------ */
/* A classified request                                                */

#define PXC_MAX_ARCH        8
#define PXC_MAX_USER_CLASS  8
#define PXC_TEXT_MAX        255   /* bytes kept of option 60 and of 77 */
#define PXC_DUID_MAX        130   /* DHCPv6: a whole DUID, type included */
#define PXC_IFACE_ID_MAX    32    /* DHCPv6: bytes kept of an interface-id */
/* DHCPv6: relay wrappers unwrapped at most (RFC 3315's HOP_COUNT_LIMIT;
   RFC 8415's relays stop at 8) */
#define PXC_RELAY_MAX 32

/* A view of bytes. */
struct pxc_bytes {
  const uint8_t *data;
  size_t len;
};

/*
 * Apple's Boot Server Discovery Protocol (NetBoot): what an AAPLBSDPC
 * client says in option 43 (Apple's bootp, bootplib/bsdp.h bsdptag_t;
 * BSDPClient/BSDPClient.c sends an INFORM[LIST] with sub-options 1, 2,
 * (10,) 5, 12 (and 11), an INFORM[SELECT] with 1, 2, (10,) 5, 3, 8).
 * X(ID, value, name): the message types of sub-option 1.
 */
#define PXC_BSDP_MSGS(X)                                                       \
  X(LIST, 1, "list")                                                           \
  X(SELECT, 2, "select")                                                       \
  X(FAILED, 3, "failed")

#define PXC_BSDP_MSG_ENUM_(id, value, name) PXC_BSDP_##id = value,
enum pxc_bsdp_msg { PXC_BSDP_NONE = 0, PXC_BSDP_MSGS(PXC_BSDP_MSG_ENUM_) };
#undef PXC_BSDP_MSG_ENUM_

/* Name ("list") of a BSDP message type, NULL for another value. */
PXC_PUBLIC const char *pxc_bsdp_msg_name(unsigned type);

/* Which BSDP sub-options were read (struct pxc_bsdp.present). */
enum pxc_bsdp_has {
  PXC_BSDP_HAS_MSG_TYPE = 1u << 0,     /* 1, one byte */
  PXC_BSDP_HAS_VERSION = 1u << 1,      /* 2, two bytes */
  PXC_BSDP_HAS_SERVER_ID = 1u << 2,    /* 3, an IPv4 address */
  PXC_BSDP_HAS_REPLY_PORT = 1u << 3,   /* 5, two bytes */
  PXC_BSDP_HAS_IMAGE_ID = 1u << 4,     /* 8, four bytes */
  PXC_BSDP_HAS_FIRMWARE_1_0 = 1u << 5, /* 10, empty: NetBoot 1.0 firmware */
  PXC_BSDP_HAS_MAX_SIZE = 1u << 6      /* 12, two bytes */
};

/* The BSDP sub-options of a request, in host order (version 0x0101 is
   1.1; image_id is attributes << 16 | index, attributes bit 15 install,
   bits 8-14 the kind). */
struct pxc_bsdp {
  uint8_t msg_type;            /* enum pxc_bsdp_msg, 0 if not sent */
  uint8_t present;             /* PXC_BSDP_HAS_* */
  uint16_t version;
  uint16_t reply_port;
  uint16_t max_message_size;
  uint32_t server_id;
  uint32_t image_id;
};

/* What iPXE (or gPXE) said about itself in option 175. */
struct pxc_ipxe {
  bool present;                /* option 175 seen */
  bool has_version;            /* sub-option 235 */
  bool has_busid;              /* sub-option 177 */
  uint8_t version[3];          /* major, minor, patch */
  uint8_t bus_type;
  uint16_t bus_vendor, bus_device;
  uint8_t subopts[32];         /* bitmap: every sub-option code seen */
  uint8_t features[16];        /* bitmap: feature flags, codes 0x00–0x7f
                                  (only 0x10–0x7f are ever set) */
};

/*
 * The classification of one request.  Self-contained: it holds copies of
 * what it keeps of the packet (the packet may go once pxc_classify()
 * returned) and may be copied as a value.
 */
struct pxc_request {
  /* BOOTP header */
  uint8_t op, htype, hlen;
  uint8_t msg_type;             /* option 53, 0 if absent (BOOTP) */
  uint32_t xid;                 /* host order */
  uint32_t server_id;           /* option 54, host order, 0 if absent: the
                                   server whose offer a REQUEST takes */
  uint8_t chaddr[16];

  enum pxc_class fw_class;

  /* Architecture */
  enum pxc_arch_source arch_source;
  uint16_t arch;                /* primary architecture (after quirks) */
  uint16_t arch93_raw;          /* first option 93 value as sent */
  uint16_t arch60;              /* Arch:NNNNN of option 60 */
  bool has_arch60;
  uint8_t arch_count;
  uint16_t arch_list[PXC_MAX_ARCH]; /* every option 93 value, after quirks */

  /* UNDI: option 94, and the UNDI:yyyzzz digits of option 60 */
  bool has_undi;
  bool has_undi60;
  uint8_t undi_major, undi_minor;
  uint16_t undi60_major, undi60_minor;

  /* PXE boot-server request (to port 4011, PXE 2.1 §2.2.6): option 43
     sub-option 71, the boot item the client picked from the menu */
  bool has_boot_item;
  bool has_bsdp;                /* option 43 read as BSDP: see bsdp below */
  uint16_t boot_item_type, boot_item_layer;

  /* Option 97: machine UUID in canonical (RFC 4122) byte order */
  bool has_uuid;
  uint8_t uuid[16];

  struct pxc_ipxe ipxe;

  /* Hash of the identity-bearing options (class, 77, 93, 94, 175):
     equal for retransmissions and for the same build on the same NIC. */
  uint64_t fingerprint;

  uint32_t errors;              /* PXC_ERR_* */
  uint32_t warnings;            /* PXC_WARN_* */

  /* Option 60 (vendor class) and option 77 (user class), as sent (split
     options joined), at most PXC_TEXT_MAX bytes each: read them through
     pxc_vendor_class() and pxc_user_class().  (DHCPv6: the entry of 16
     kept, and the entries of every 15, one after the other.) */
  bool has_vendor_class;
  bool user_class_rfc3004;      /* 77 was RFC 3004 counted strings */
  uint8_t user_class_count;
  uint8_t vendor_class_len;
  uint8_t user_class_len;
  uint8_t agent;                /* enum pxc_agent: which program of the
                                   class, PXC_AGENT_NONE if none is named */
  struct { uint8_t off, len; } user_class_at[PXC_MAX_USER_CLASS];
  uint8_t vendor_class_text[PXC_TEXT_MAX];
  uint8_t user_class_text[PXC_TEXT_MAX];

  /* The address family (cleared with the fields above, though they lie
     past the text arrays); and for DHCPv6 (zero in a DHCPv4 request): */
  enum pxc_ip_family ip_family;
  enum pxc_mac_source mac_source; /* where htype, hlen and chaddr came from */
  uint16_t duid_type;             /* of option 1, 0 if absent */
  uint8_t duid_len;               /* bytes of duid[], type included */
  uint8_t relay_depth;            /* relay messages unwrapped, 0: direct */
  uint16_t interface_id_len;      /* of the innermost relay's option 18, as
                                     sent (at most PXC_IFACE_ID_MAX kept) */
  bool has_iaid;                  /* option 3 (IA_NA) seen, 12 bytes or more: */
  uint32_t iaid;                  /* its IAID (iPXE: crc32_le(0, MAC)) */
  uint8_t vendor_class_count;     /* option 16 entries, every instance */
  bool has_enterprise;            /* option 16 seen with its enterprise: */
  uint32_t enterprise;            /* of the instance of the entry kept */

  /* DHCPv6, read up to their lengths only (not cleared): option 1 as
     sent; the innermost relay's addresses (if relay_depth) and option
     18. */
  uint8_t duid[PXC_DUID_MAX];
  uint8_t link_address[16], peer_address[16];
  uint8_t interface_id[PXC_IFACE_ID_MAX];

  /* Apple BSDP: option 43 of an AAPLBSDPC client (written whole when it
     is read; not cleared, so valid only when has_bsdp). */
  struct pxc_bsdp bsdp;
};

/*
 * Classify one DHCPv4 packet (PKT, LEN bytes, BOOTP header first).  CFG
 * may be NULL (default quirks).  Never reads outside PKT[0..LEN); the
 * request holds what it keeps, so PKT may go when this returns.  A NULL
 * PKT is an empty packet (PXC_ERR_SHORT); a NULL REQ, nothing to do.
 * Bytes of the text arrays past their lengths are not cleared.
 */
PXC_PUBLIC void pxc_classify(const struct pxc_config *cfg, const uint8_t *pkt,
                             size_t len, struct pxc_request *req);

/*
 * Classify one DHCPv6 message (PKT, LEN bytes: type and transaction id
 * first), into the same request and the same classes as pxc_classify(),
 * with ip_family PXC_IPV6.  Relay messages (RELAY-FORW, and RELAY-REPL)
 * are unwrapped to the client's message, at most PXC_RELAY_MAX deep; the
 * innermost relay's link- and peer-address, interface-id and the client
 * link-layer address (79) are kept.  msg_type and xid are the client
 * message's (24-bit xid).  The class comes from option 16 (every
 * instance and entry: PXEClient, HTTPClient, U-Boot …), 15 (iPXE, or a
 * dhcp-ipxe-own user class of CFG), the architecture from every value of
 * 61, the UNDI from 62, the IAID from the first IA_NA, the UUID from a
 * DUID-UUID (EDK2's byte order turned round, as uuid-edk2-order says),
 * the MAC from option 79, else from a DUID-LL or -LLT (mac_source tells
 * which).  DHCPv6 carries no option 175: ipxe.present is false, no
 * version, features or bus id.
 *
 * A caller that knows the client's MAC better (dnsmasq: from its
 * neighbour table) writes it into htype, hlen and chaddr afterwards and
 * sets mac_source to PXC_MAC_CALLER; nothing else depends on them.
 *
 * A separate entry point rather than a family argument to pxc_classify():
 * the caller always knows the family (the socket it read from), the v4
 * entry keeps its signature, and each family's hook calls its own.
 * Same guarantees as pxc_classify(): pure, never reads outside
 * PKT[0..LEN), the request holds copies.
 */
PXC_PUBLIC void pxc_classify6(const struct pxc_config *cfg, const uint8_t *pkt,
                              size_t len, struct pxc_request *req);

/* Option 60 as sent ({NULL, 0} if absent, or REQ is NULL); for DHCPv6,
   the entry of option 16 that named the class (else its first). */
PXC_PUBLIC struct pxc_bytes pxc_vendor_class(const struct pxc_request *req);
/* User class I of option 77 (DHCPv6: entry I of option 15, every
   instance) ({NULL, 0} past the last). */
PXC_PUBLIC struct pxc_bytes pxc_user_class(const struct pxc_request *req,
                                           size_t i);
/* True if feature CODE was announced in option 175 (false for a NULL
   REQ, and for codes the bitmap does not hold). */
PXC_PUBLIC bool pxc_has_feature(const struct pxc_request *req, uint8_t code);

/* ------------------------------------------------------------------ */
/* Configuration: the directive lines, the quirks, the identities      */

PXC_PUBLIC struct pxc_config *pxc_config_new(void);
PXC_PUBLIC void pxc_config_free(struct pxc_config *cfg);

/*
 * Parse one directive: NAME is the part before '=', VALUE the part after
 * (NULL if there was none).  Returns 0, or -1 with a message in ERR
 * (at most ERRLEN bytes, NUL-terminated) that names what is wrong.  A
 * line that fails leaves the config as it was.  Fails once finished.
 */
PXC_PUBLIC int pxc_config_add(struct pxc_config *cfg, const char *name,
                              const char *value, char *err, size_t errlen);

/* Checks that need every line (e.g. ipxe-own without an identity), then
   the config is immutable.  Returns 0, or -1 with a message in ERR. */
PXC_PUBLIC int pxc_config_finish(struct pxc_config *cfg, char *err,
                                 size_t errlen);

/* Rules that set tags, in config order: the tag, the line as written
   ("dhcp-pxe-class=set:bios,pxe"), and the directive's name. */
PXC_PUBLIC size_t pxc_rule_count(const struct pxc_config *cfg);
PXC_PUBLIC const char *pxc_rule_tag(const struct pxc_config *cfg, size_t i);
PXC_PUBLIC const char *pxc_rule_text(const struct pxc_config *cfg, size_t i);
PXC_PUBLIC const char *pxc_rule_directive(const struct pxc_config *cfg,
                                          size_t i);

/* One dhcp-ipxe-own line, parsed: every criterion that is set must hold. */
struct pxc_identity_info {
  const char *text;        /* the line as written */
  const char *user_class;  /* NULL: not a criterion */
  uint8_t features[16];    /* bitmap, as in pxc_ipxe.features */
  bool has_version;
  const char *version_op;  /* ">=", "<", "=", "!=", ">", "<=" */
  uint8_t version[3];
  bool chained;            /* follows a chainload hand-out */
};

PXC_PUBLIC size_t pxc_identity_count(const struct pxc_config *cfg);
/* False past the last identity. */
PXC_PUBLIC bool pxc_identity_get(const struct pxc_config *cfg, size_t i,
                                 struct pxc_identity_info *out);

/* The chain tracker's parameters (dhcp-chain-guard, or the defaults when
   only `chained` needs a tracker). */
struct pxc_guard_info {
  bool guard;              /* dhcp-chain-guard given */
  unsigned hops;           /* more than this within the window: a loop */
  unsigned window;         /* seconds */
  unsigned capacity;       /* clients the table holds */
  const char *tag;         /* the guard's tag, NULL without a guard */
};

/* False if the config needs no chain tracker. */
PXC_PUBLIC bool pxc_config_tracker_info(const struct pxc_config *cfg,
                                        struct pxc_guard_info *out);
/* True if option 93 = 9 is read as EBC (dhcp-pxe-arch9=ebc). */
PXC_PUBLIC bool pxc_config_arch9_is_ebc(const struct pxc_config *cfg);

/* ------------------------------------------------------------------ */
/* The chain tracker                                                   */

/*
 * A chain is what one machine does from power-on: firmware, then each
 * program it was handed (an iPXE binary, then maybe another), each asking
 * DHCP again.  A stage is one program's DHCP transaction (retransmissions
 * and the DISCOVER/REQUEST pair included); a hop is a new stage that
 * follows a boot file handed to the previous one.  Only requests of a
 * boot program (a netboot class, see PXC_CLASSES) are tracked.  Both
 * families feed one table: a client is its MAC (a DHCPv6 request's
 * htype/hlen/chaddr, see pxc_classify6), or for a DHCPv6 request without
 * one its canonical UUID (then no link with its DHCPv4 requests); a
 * program asking both at once (iPXE) is one stage.
 */
struct pxc_tracker;

/* A tracker for a finished config: its table is allocated here, once, at
   its final size.  NULL if the config needs none (see
   pxc_config_tracker_info) or memory ran out (errno ENOMEM). */
PXC_PUBLIC struct pxc_tracker *pxc_tracker_new(const struct pxc_config *cfg);
PXC_PUBLIC void pxc_tracker_free(struct pxc_tracker *trk);

/* What the tracker knows about the client of a request. */
struct pxc_chain {
  bool tracked;         /* the client is (or will be) in the table */
  bool new_stage;       /* this request begins a stage */
  bool follows_chainload; /* previous stage, not own, was handed a file
                             within the window: what `chained` means */
  bool restarted;       /* this request begins a new chain (reboot, or the
                           window had passed) */
  bool rebooted;        /* ...because the machine rebooted: firmware asked
                           again, or the chain's first program came back */
  bool looping;         /* more hops within the window than the guard allows */
  bool guard_tripped;   /* looping, and this request begins the stage */
  unsigned hops;        /* hops within the window, this stage included */
  unsigned stages;      /* stages kept for this client's chain */
};

/* Where the request stands, for pxc_tracker_record(); not for callers. */
struct pxc_chain_step {
  uint32_t slot;
  uint32_t now;
  uint32_t flags;
};

struct pxc_verdict {
  enum pxc_own own;
  const struct pxc_request *req;
  struct pxc_chain chain;
  struct pxc_chain_step step;
};

/*
 * Judge REQ against the finished config CFG and the tracker TRK (NULL if
 * there is none) at time NOW (seconds; any clock that only moves
 * forward): fills VERDICT, which points at REQ.  Writes nothing else.
 */
PXC_PUBLIC void pxc_evaluate(const struct pxc_config *cfg,
                             const struct pxc_tracker *trk,
                             const struct pxc_request *req, time_t now,
                             struct pxc_verdict *verdict);

/* True if rule I sets its tag for the judged request. */
PXC_PUBLIC bool pxc_rule_matches(const struct pxc_config *cfg, size_t i,
                                 const struct pxc_verdict *verdict);

/*
 * Every rule at once, for a server asking per request: bit I % 64 of
 * BITS[I / 64] is set if rule I sets its tag for the judged request
 * (the same answer as pxc_rule_matches()).  All WORDS words are written;
 * with fewer than (pxc_rule_count() + 63) / 64 the later rules are left
 * out.  Returns how many bits were set (0 without BITS, CFG or VERDICT).
 */
PXC_PUBLIC size_t pxc_rules_matched(const struct pxc_config *cfg,
                                    const struct pxc_verdict *verdict,
                                    uint64_t *bits, size_t words);

/* Record the judged request in its client's chain (call once per request,
   after pxc_evaluate() and before the tracker sees anything else). */
PXC_PUBLIC void pxc_tracker_record(struct pxc_tracker *trk,
                                   const struct pxc_verdict *verdict);

/*
 * Tell the tracker about a reply the server sent (PKT, LEN bytes, a
 * BOOTREPLY): a boot file in it — option 67, or the file field unless
 * option 52 overloads it with options — handed to the client's current
 * stage (same xid) is a hand-out.
 */
PXC_PUBLIC void pxc_tracker_reply(struct pxc_tracker *trk, const uint8_t *pkt,
                                  size_t len, time_t now);

/*
 * The same for a DHCPv6 reply the server sent (PKT, LEN bytes: the
 * server's message, type and transaction id first, or a RELAY-REPL
 * around it, unwrapped as pxc_classify6() unwraps RELAY-FORW).  The
 * client is found by the reply's xid and client DUID (option 1) among
 * the DHCPv6 requests pxc_tracker_record() recorded last: the caller
 * passes no MAC, and a reply whose request was not recorded is ignored.
 * Option 59 (bootfile-url) is a hand-out only in an ADVERTISE or REPLY
 * that gives the client an address (an IA_NA holding an IAADDR of
 * non-zero valid lifetime, no NoAddrsAvail status, no failing top-level
 * status) or in the REPLY to
 * an INFORMATION-REQUEST; the file kept is the URL's last path
 * component, as for a DHCPv4 file name.  A stage that also asked DHCPv4
 * keeps the DHCPv4 file when both name one (iPXE boots the DHCPv4 one).
 * Call it where pxc_tracker_reply() is called for DHCPv4: for every
 * reply, before it is sent.
 */
PXC_PUBLIC void pxc_tracker_reply6(struct pxc_tracker *trk, const uint8_t *pkt,
                                   size_t len, time_t now);

/* Size and use of the tracker's fixed table. */
struct pxc_chain_stats {
  size_t capacity;      /* clients the table holds (its fixed size) */
  size_t bytes;         /* memory of the table, allocated once */
  size_t entry_bytes;   /* per tracked client */
  size_t used;          /* clients tracked now */
  size_t mid_chain;     /* of which protected: made a hop within the window */
  unsigned long evicted;   /* clients dropped to make room */
  unsigned long untracked; /* requests not tracked: table full of chains */
  unsigned long trips;     /* times the loop guard tripped */
  unsigned window;      /* seconds */
  unsigned max_hops;    /* guard limit, 0 without dhcp-chain-guard */
};

PXC_PUBLIC void pxc_tracker_stats(const struct pxc_tracker *trk,
                                  struct pxc_chain_stats *st);

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

/* "1.21.1" / "pci:1af4:1000" / canonical UUID / MAC "52:54:00:…".
   Each writes at most LEN bytes, NUL-terminated, and returns BUF; a NULL
   request (or verdict, or verdict without request) gives "", a NULL BUF
   or a LEN of 0 is written nothing. */
PXC_PUBLIC char *pxc_format_version(const struct pxc_request *req, char *buf,
                                    size_t len);
PXC_PUBLIC char *pxc_format_busid(const struct pxc_request *req, char *buf,
                                  size_t len);
PXC_PUBLIC char *pxc_format_uuid(const struct pxc_request *req, char *buf,
                                 size_t len);
PXC_PUBLIC char *pxc_format_mac(const struct pxc_request *req, char *buf,
                                size_t len);
/* Space-separated feature names (unknown codes as numbers). */
PXC_PUBLIC char *pxc_format_features(const struct pxc_request *req, char *buf,
                                     size_t len);
/* One line summing up the classification, for logs. */
PXC_PUBLIC char *pxc_format_summary(const struct pxc_verdict *v, char *buf,
                                    size_t len);
/* The loop guard's warning for a judged request whose guard tripped:
   "52:54:00:77:00:01 made 4 hops within 60s (more than 3), tag chain-loop
   set; chain: …" (empty if the guard did not trip).  Call after
   pxc_tracker_record(), so the chain includes this request. */
PXC_PUBLIC char *pxc_format_loop_warning(const struct pxc_config *cfg,
                                         const struct pxc_tracker *trk,
                                         const struct pxc_verdict *v,
                                         char *buf, size_t len);
/* The recent stages of the judged request's client, oldest first:
   "ipxe/vendor@0s>undionly.kpxe ipxe/own@6s>…" (empty without tracker). */
PXC_PUBLIC char *pxc_format_chain(const struct pxc_tracker *trk,
                                  const struct pxc_verdict *v, char *buf,
                                  size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PXECLASS_H */
