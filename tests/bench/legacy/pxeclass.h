/*
 * libpxeclass — classify network-boot DHCPv4 requests.
 *
 * The library reads one DHCPv4 packet (bounds-checked, zero-copy), tells
 * which boot firmware sent it (PXE ROM, UEFI PXE, UEFI HTTP Boot, iPXE,
 * gPXE, Etherboot, U-Boot), for which CPU architecture, and which iPXE
 * build with which features.  A configuration made of dnsmasq-style
 * directive lines (dhcp-pxe-class=set:tag,… and friends) turns that
 * classification into tags.  The library knows nothing about dnsmasq: the
 * same code serves the dnsmasq hooks and the pxeclass CLI.
 *
 * Thread safety: a struct pxc_config is not locked; use one per thread.
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

#define PXC_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* Firmware classes                                                    */

enum pxc_class {
  PXC_CLASS_NONE = 0,   /* an ordinary DHCP client */
  PXC_CLASS_PXE,        /* PXE firmware: BIOS ROM or UEFI PXE base code */
  PXC_CLASS_HTTP_BOOT,  /* UEFI HTTP Boot (vendor class HTTPClient) */
  PXC_CLASS_IPXE,       /* iPXE, any build */
  PXC_CLASS_GPXE,       /* gPXE (user class gPXE, or 175 without a version) */
  PXC_CLASS_ETHERBOOT,  /* Etherboot 5.x era (vendor class Etherboot…) */
  PXC_CLASS_UBOOT,      /* U-Boot */
  PXC_CLASS_COUNT
};

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

/* ------------------------------------------------------------------ */
/* Problems found in a packet.  Errors: something could not be read.   */
/* Warnings: readable, but inconsistent or quirky.                     */

enum pxc_error {
  PXC_ERR_SHORT        = 1u << 0,  /* shorter than the 236-byte BOOTP header */
  PXC_ERR_COOKIE       = 1u << 1,  /* no DHCP magic cookie: no options read */
  PXC_ERR_OPT_OVERRUN  = 1u << 2,  /* an option's length runs past its area */
  PXC_ERR_OVERLOAD     = 1u << 3,  /* option 52 malformed, or its area unreadable */
  PXC_ERR_SPLIT        = 1u << 4,  /* a split option (RFC 3396) too long to join */
  PXC_ERR_MSG_TYPE     = 1u << 5,  /* option 53 of the wrong length */
  PXC_ERR_ARCH         = 1u << 6,  /* option 93 empty or of odd length */
  PXC_ERR_UNDI         = 1u << 7,  /* option 94 not 3 bytes of type 1 */
  PXC_ERR_UUID         = 1u << 8,  /* option 97 not 17 bytes of type 0 */
  PXC_ERR_ENCAP        = 1u << 9,  /* option 175 sub-option overruns it */
  PXC_ERR_ENCAP_VALUE  = 1u << 10, /* 175 version or bus id of the wrong length */
  PXC_ERR_USER_CLASS   = 1u << 11, /* option 77 empty */
  PXC_ERR_HLEN         = 1u << 12, /* hardware address length over 16 */
  PXC_ERR_NO_END       = 1u << 13  /* options area without an END option */
};

enum pxc_warning {
  PXC_WARN_ARCH_MISMATCH = 1u << 0, /* option 93 and option 60 name different arches */
  PXC_WARN_ARCH_FROM_60  = 1u << 1, /* no usable option 93: arch read from option 60 */
  PXC_WARN_ARCH9_AS_X64  = 1u << 2, /* arch 9 (EBC) taken as x64 UEFI */
  PXC_WARN_ARCH_UNKNOWN  = 1u << 3, /* an arch value outside the IANA table */
  PXC_WARN_ARCH_MANY     = 1u << 4, /* more arch values than kept */
  PXC_WARN_UNDI_MISMATCH = 1u << 5, /* option 94 and option 60 name different UNDI */
  PXC_WARN_NO_ARCH       = 1u << 6, /* a boot firmware that named no architecture */
  PXC_WARN_USER_CLASS_MANY = 1u << 7, /* more user classes than kept */
  PXC_WARN_RPI_AS_BIOS   = 1u << 8  /* a Raspberry Pi bootloader claiming x86 BIOS */
};

/* Name ("opt-overrun") and one-line description of one error/warning bit. */
const char *pxc_error_name(uint32_t bit);
const char *pxc_error_text(uint32_t bit);
const char *pxc_warning_name(uint32_t bit);
const char *pxc_warning_text(uint32_t bit);

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
const struct pxc_arch_info *pxc_arch_by_code(uint32_t code);
const struct pxc_arch_info *pxc_arch_by_name(const char *name);
/* Family bit for a family name ("efi", "arm64" …), or 0. */
uint32_t pxc_family_by_name(const char *name);
const char *pxc_family_name(uint32_t bit);

/* iPXE option 175 feature flag name ("https"), or NULL if unknown. */
const char *pxc_feature_name(uint8_t code);
/* Feature code for a name, or -1. */
int pxc_feature_by_name(const char *name);

/* iPXE bus type name ("pci"), or NULL; and the reverse (-1 if unknown). */
const char *pxc_bus_name(uint8_t type);
int pxc_bus_by_name(const char *name);

const char *pxc_class_name(enum pxc_class cls);
const char *pxc_own_name(enum pxc_own own);

/* ------------------------------------------------------------------ */
/* A classified request                                                */

#define PXC_MAX_ARCH        8
#define PXC_MAX_USER_CLASS  8
#define PXC_SCRATCH_SIZE    1024

/* A view of bytes inside the packet (or inside pxc_request.scratch). */
struct pxc_bytes {
  const uint8_t *data;
  size_t len;
};

/* What iPXE (or gPXE) said about itself in option 175. */
struct pxc_ipxe {
  bool present;                /* option 175 seen */
  uint8_t subopts[32];         /* bitmap: every sub-option code seen */
  uint8_t features[32];        /* bitmap: feature flag codes (one-byte value) */
  bool has_version;            /* sub-option 235 */
  uint8_t version[3];          /* major, minor, patch */
  bool has_busid;              /* sub-option 177 */
  uint8_t bus_type;
  uint16_t bus_vendor, bus_device;
};

/*
 * The classification of one request.  Views (vendor_class, user_class)
 * point into the packet buffer or into scratch: keep the packet alive and
 * do not copy this struct while they are in use.
 */
struct pxc_request {
  /* BOOTP header */
  uint8_t op, htype, hlen;
  uint32_t xid;                 /* host order */
  uint8_t chaddr[16];
  uint8_t msg_type;             /* option 53, 0 if absent (BOOTP) */

  enum pxc_class fw_class;

  /* Architecture */
  enum pxc_arch_source arch_source;
  uint16_t arch;                /* primary architecture (after quirks) */
  uint16_t arch_list[PXC_MAX_ARCH]; /* every option 93 value, after quirks */
  uint8_t arch_count;
  uint16_t arch93_raw;          /* first option 93 value as sent */
  bool has_arch60;
  uint16_t arch60;              /* Arch:NNNNN of option 60 */

  /* UNDI: option 94, and the UNDI:yyyzzz digits of option 60 */
  bool has_undi;
  uint8_t undi_major, undi_minor;
  bool has_undi60;
  uint16_t undi60_major, undi60_minor;

  /* PXE boot-server request (to port 4011, PXE 2.1 §2.2.6): option 43
     sub-option 71, the boot item the client picked from the menu */
  bool has_boot_item;
  uint16_t boot_item_type, boot_item_layer;

  /* Option 97: machine UUID in canonical (RFC 4122) byte order */
  bool has_uuid;
  uint8_t uuid[16];

  struct pxc_bytes vendor_class;               /* option 60 */
  struct pxc_bytes user_class[PXC_MAX_USER_CLASS]; /* option 77 strings */
  uint8_t user_class_count;
  bool user_class_rfc3004;      /* 77 was RFC 3004 counted strings */

  struct pxc_ipxe ipxe;

  /* Hash of the identity-bearing options (class, 60, 77, 93, 94, 175):
     equal for retransmissions and for the same build on the same NIC. */
  uint64_t fingerprint;

  uint32_t errors;              /* PXC_ERR_* */
  uint32_t warnings;            /* PXC_WARN_* */

  uint8_t scratch[PXC_SCRATCH_SIZE]; /* joined RFC 3396 split options */
};

/* True if feature CODE was announced in option 175. */
bool pxc_has_feature(const struct pxc_request *req, uint8_t code);

/* ------------------------------------------------------------------ */
/* Configuration: the directive lines, the quirks, the identities      */

struct pxc_config;

struct pxc_config *pxc_config_new(void);
void pxc_config_free(struct pxc_config *cfg);

/* True if NAME is a directive this library parses ("dhcp-pxe-class" …). */
bool pxc_is_directive(const char *name);
/* Name of directive I (0, 1, …), or NULL past the last one. */
const char *pxc_directive_name(size_t i);

/*
 * Parse one directive: NAME is the part before '=', VALUE the part after
 * (NULL if there was none).  Returns 0, or -1 with a message in ERR
 * (at most ERRLEN bytes, NUL-terminated) that names what is wrong.
 */
int pxc_config_add(struct pxc_config *cfg, const char *name,
                   const char *value, char *err, size_t errlen);

/* Checks that need every line (e.g. ipxe-own without an identity).
   Returns 0, or -1 with a message in ERR. */
int pxc_config_finish(struct pxc_config *cfg, char *err, size_t errlen);

/* Rules that set tags, in config order. */
size_t pxc_rule_count(const struct pxc_config *cfg);
const char *pxc_rule_tag(const struct pxc_config *cfg, size_t i);
const char *pxc_rule_text(const struct pxc_config *cfg, size_t i);

/* Classify one DHCPv4 packet (PKT, LEN bytes, BOOTP header first).
   CFG may be NULL (default quirks).  Never reads outside PKT[0..LEN). */
void pxc_classify(const struct pxc_config *cfg, const uint8_t *pkt,
                  size_t len, struct pxc_request *req);

/* ------------------------------------------------------------------ */
/* Evaluation and the chain tracker                                    */

/*
 * What the chain tracker knows about the client of a request.  A chain is
 * what one machine does from power-on: firmware, then each program it was
 * handed (an iPXE binary, then maybe another), each asking DHCP again.  A
 * stage is one program's DHCP transaction (retransmissions and the
 * DISCOVER/REQUEST pair included); a hop is a new stage that follows a
 * boot file handed to the previous one.  Only requests of a boot firmware
 * (class other than none) are tracked.
 */
struct pxc_chain {
  bool tracked;         /* the client is in the table */
  bool new_stage;       /* this request began a stage */
  bool follows_chainload; /* previous stage, not own, was handed a file
                             within the window: what `chained` means */
  bool restarted;       /* this request began a new chain (reboot, or the
                           window had passed) */
  bool rebooted;        /* ...because the machine rebooted: firmware asked
                           again, or the chain's first program came back */
  bool looping;         /* more hops within the window than the guard allows */
  bool guard_tripped;   /* looping, and this request began the stage */
  unsigned hops;        /* hops within the window, this stage included */
  unsigned stages;      /* stages kept for this client's chain */
};

struct pxc_verdict {
  enum pxc_own own;
  const struct pxc_request *req;
  struct pxc_chain chain;
};

/*
 * Judge REQ against the configuration at time NOW (seconds; any clock that
 * only moves forward): fills VERDICT.  When the configuration has a chain
 * tracker (dhcp-chain-guard, or `chained` in dhcp-ipxe-own) this also
 * records the request in its client's chain, so call it once per request.
 */
void pxc_evaluate(struct pxc_config *cfg, const struct pxc_request *req,
                  time_t now, struct pxc_verdict *verdict);

/* True if rule I sets its tag for the judged request. */
bool pxc_rule_matches(const struct pxc_config *cfg, size_t i,
                      const struct pxc_verdict *verdict);

/*
 * Tell the chain tracker about a reply the server sent (PKT, LEN bytes, a
 * BOOTREPLY): a boot file in it (option 67, or the file field) is a
 * hand-out to the client's current stage.  No-op without a tracker.
 */
void pxc_record_reply(struct pxc_config *cfg, const uint8_t *pkt, size_t len,
                      time_t now);

/* Size and use of the chain tracker's fixed table. */
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

/* False if CFG has no chain tracker. */
bool pxc_chain_stats(const struct pxc_config *cfg, struct pxc_chain_stats *st);

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

/* "1.21.1" / "pci:1af4:1000" / canonical UUID / MAC "52:54:00:…".
   Each writes at most LEN bytes, NUL-terminated, and returns BUF. */
char *pxc_format_version(const struct pxc_request *req, char *buf, size_t len);
char *pxc_format_busid(const struct pxc_request *req, char *buf, size_t len);
char *pxc_format_uuid(const struct pxc_request *req, char *buf, size_t len);
char *pxc_format_mac(const struct pxc_request *req, char *buf, size_t len);
/* Space-separated feature names (unknown codes as numbers). */
char *pxc_format_features(const struct pxc_request *req, char *buf, size_t len);
/* One line summing up the classification, for logs. */
char *pxc_format_summary(const struct pxc_verdict *v, char *buf, size_t len);
/* The loop guard's warning for a judged request whose guard tripped:
   "52:54:00:77:00:01 made 4 hops within 60s (more than 3), tag chain-loop
   set; chain: …" (empty if the guard did not trip). */
char *pxc_format_loop_warning(const struct pxc_config *cfg,
                              const struct pxc_verdict *v, char *buf,
                              size_t len);
/* The recent stages of the judged request's client, oldest first:
   "ipxe/vendor@0s>undionly.kpxe ipxe/own@6s>…" (empty without tracker). */
char *pxc_format_chain(const struct pxc_config *cfg,
                       const struct pxc_verdict *v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PXECLASS_H */
