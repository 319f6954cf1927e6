/*
 * Internal declarations shared by the files of libpxeclass.
 */
#ifndef PXC_INTERNAL_H
#define PXC_INTERNAL_H

#include <stdarg.h>

#include "pxeclass.h"

/* ------------------------------------------------------------------ */
/* Bounded string building: never overflows, always NUL-terminated.    */

struct strbuf {
  char *buf;
  size_t size;
  size_t used;
};

#define STRBUF_INIT(b, n)                                                      \
  {                                                                            \
    (b), (n), 0                                                                \
  }

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_bytes(struct strbuf *sb, const uint8_t *data, size_t len);

/* ------------------------------------------------------------------ */
/* DHCPv4 wire format (RFC 2131, RFC 2132, RFC 3396)                   */

#define BOOTP_CHADDR_OFF  28
#define BOOTP_SNAME_OFF   44
#define BOOTP_SNAME_LEN   64
#define BOOTP_FILE_OFF    108
#define BOOTP_FILE_LEN    128
#define BOOTP_HEADER_LEN  236
#define DHCP_OPTIONS_OFF  240

#define DHCP_PAD          0
#define DHCP_END          255
#define DHCP_OVERLOAD     52
#define DHCP_VENDOR_ENCAP 43
#define DHCP_MSG_TYPE     53
#define DHCP_PARAM_LIST   55
#define DHCP_VENDOR_CLASS 60
#define DHCP_CLIENT_ID    61
#define DHCP_BOOTFILE     67
#define DHCP_USER_CLASS   77
#define DHCP_CLIENT_ARCH  93
#define DHCP_CLIENT_NDI   94
#define DHCP_CLIENT_UUID  97
#define DHCP_EB_ENCAP     175
#define DHCP_EB5_ENCAP    150 /* Etherboot 5.x */

#define DHCP_OVERLOAD_FILE  1
#define DHCP_OVERLOAD_SNAME 2

/* PXE sub-option of 43: the boot item of a boot-server request. */
#define PXE_BOOT_ITEM 71

/* iPXE option 175 sub-options that are not feature flags. */
#define DHCP_EB_BUS_ID  177
#define DHCP_EB5_NIC_ID 175 /* inside Etherboot 5's option 150 */
#define DHCP_EB_VERSION 235
#define DHCP_EB_FEATURE_FIRST 0x10
#define DHCP_EB_FEATURE_LAST  0x7f

/* Where an option was found: the options field, then file, then sname. */
struct dhcp_area {
  const uint8_t *start;
  size_t len;
  uint32_t error; /* error flag raised by a malformed option here */
};

/* First fragment of each option code, and how many fragments it has. */
struct dhcp_slot {
  const uint8_t *data;
  size_t len;
  uint16_t fragments;
};

/* An index of every option of one packet, built in one pass. */
struct dhcp_index {
  struct dhcp_area areas[3];
  unsigned area_count;
  uint8_t seen[32]; /* bitmap of option codes present */
  struct dhcp_slot slot[256];
  uint8_t *scratch; /* where split options are joined */
  size_t scratch_size;
  size_t scratch_used;
  uint32_t errors;
};

void dhcp_index_build(struct dhcp_index *ix, const uint8_t *pkt, size_t len,
                      uint8_t *scratch, size_t scratch_size);
bool dhcp_index_get(struct dhcp_index *ix, uint8_t code,
                    struct pxc_bytes *out);

/* Walk an encapsulated option (175, 43): call FN for each sub-option.
   Returns false if a sub-option overran the buffer. */
typedef void dhcp_subopt_fn(void *ctx, uint8_t code, const uint8_t *data,
                            uint8_t len);
bool dhcp_walk_encap(const uint8_t *data, size_t len, dhcp_subopt_fn *fn,
                     void *ctx);

static inline bool
bit_test(const uint8_t *bitmap, unsigned n)
{
  return (bitmap[n >> 3] >> (n & 7)) & 1;
}

static inline void
bit_set(uint8_t *bitmap, unsigned n)
{
  bitmap[n >> 3] |= (uint8_t)(1u << (n & 7));
}

/* ------------------------------------------------------------------ */
/* The chain tracker (chain.c)                                         */

#define CHAIN_KEY_LEN  18 /* htype, hlen, chaddr[16] */
#define CHAIN_STAGES   8  /* stages kept per client: at most 7 hops seen */
#define CHAIN_FILE_MAX 16 /* last part of a boot file name, for logs */
#define CHAIN_DEFAULT_WINDOW   60
#define CHAIN_DEFAULT_CAPACITY 2048
#define CHAIN_MAX_CAPACITY     (1u << 22)

struct chain_tracker;

/* Where one request stands in its client's chain, before it is recorded. */
struct chain_step {
  uint32_t client;
  uint32_t now;
  bool same_stage;
  bool restart;
  bool hop;
};

struct chain_tracker *chain_new(uint32_t capacity, uint32_t window,
                                unsigned max_hops);
void chain_free(struct chain_tracker *t);
void chain_begin(struct chain_tracker *t, const struct pxc_request *req,
                 time_t now, struct chain_step *step, struct pxc_chain *out);
void chain_commit(struct chain_tracker *t, const struct pxc_request *req,
                  const struct chain_step *step, enum pxc_own own,
                  struct pxc_chain *out);
void chain_reply(struct chain_tracker *t, const uint8_t *pkt, size_t len,
                 time_t now);
void chain_stats(const struct chain_tracker *t, struct pxc_chain_stats *st);
void chain_format(const struct chain_tracker *t, const struct pxc_request *req,
                  struct strbuf *sb);

/* True if a client with this MAC and option 97 (raw, type byte first) is
   a Raspberry Pi bootloader. */
bool pxc_is_raspberry_pi(const uint8_t *mac, size_t mac_len,
                         const uint8_t *uuid97, size_t uuid97_len);

/* True for classes of boot firmware proper (not a program it loaded): a
   request from one begins a chain. */
bool pxc_class_starts_chain(enum pxc_class cls);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

enum version_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct version_test {
  enum version_op op;
  uint8_t version[3];
};

#define RULE_MAX_ARCH 32

enum rule_kind {
  RULE_CLASS,
  RULE_ARCH,
  RULE_FEATURE,
  RULE_VERSION,
  RULE_BUSID,
  RULE_GUARD
};

struct rule {
  enum rule_kind kind;
  char *tag;
  char *text; /* "directive=value", for logs */
  union {
    uint32_t class_selectors; /* bits of enum class_selector */
    struct {
      uint32_t families;
      uint16_t codes[RULE_MAX_ARCH];
      unsigned code_count;
    } arch;
    uint8_t features[32];
    struct version_test version;
    struct {
      uint8_t bus_type;
      uint16_t vendor;
      int32_t device; /* -1: any */
    } busid;
  } u;
};

/* One identity of the site's own iPXE build: every set criterion must hold. */
struct identity {
  char *user_class; /* NULL: not a criterion */
  uint8_t features[32];
  bool has_version;
  struct version_test version;
  bool chained; /* follows a chainload hand-out (chain tracker) */
  char *text;
};

struct pxc_config {
  struct rule *rules;
  size_t rule_count, rule_alloc;
  struct identity *identities;
  size_t identity_count, identity_alloc;
  bool arch9_is_ebc; /* quirk off: 9 stays EBC */
  bool has_guard;    /* dhcp-chain-guard given */
  unsigned guard_hops;
  uint32_t window;   /* chain window, seconds */
  uint32_t capacity; /* chain table size, clients */
  struct chain_tracker *tracker; /* made by pxc_config_finish() if needed */
};

/* ------------------------------------------------------------------ */
/* Helpers shared between files                                        */

bool request_has_user_class(const struct pxc_request *req, const char *name);
bool version_test_matches(const struct version_test *t, const uint8_t v[3]);
void pxc_list_features(char *buf, size_t len);
void pxc_list_families(char *buf, size_t len);
void pxc_list_buses(char *buf, size_t len);

#endif /* PXC_INTERNAL_H */
