/*
 * Internal declarations of the configuration (config.c), its pure
 * evaluation (eval.c) and the chain tracker (tracker.c).  Kept apart from
 * the classifier's internal headers: the classifier reads a config only
 * through the public pxc_config_* functions.
 */
#ifndef PXC_CONFIG_H
#define PXC_CONFIG_H

#include "pxeclass.h"

/* ------------------------------------------------------------------ */
/* The chain tracker's sizes                                           */

#define CHAIN_KEY_LEN  18 /* htype, hlen, chaddr[16] */
#define CHAIN_STAGES   8  /* stages kept per client: at most 7 hops seen */
#define CHAIN_DEFAULT_WINDOW   60
#define CHAIN_DEFAULT_CAPACITY 2048
#define CHAIN_MAX_CAPACITY     (1u << 22)
#define CHAIN_PEERS_MAX        8 /* dhcp-chain-peer addresses */

/* ------------------------------------------------------------------ */
/* Rules and identities                                                */

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
  RULE_GUARD,
  RULE_KIND_COUNT
};

/* The selectors of dhcp-pxe-class past the class names, in the order of
   pxc_class_selector_name(): bit N of a class rule is selector N.  The
   agent names follow them: selector SELECTOR_COUNT + A - 1 is agent A
   (agent 0, none, is no selector), bit A of the rule's agents. */
enum selector_extra {
  SELECTOR_IPXE_OWN = PXC_CLASS_COUNT,
  SELECTOR_IPXE_VENDOR,
  SELECTOR_NETBOOT,
  SELECTOR_COUNT
};

#define SELECTOR_AGENTS (PXC_AGENT_COUNT - 1)

/* The boot programs' classes as bits, from PXC_CLASSES' netboot column:
   what `netboot` selects and the tracker follows, one test without a
   call (pxc_class_is_netboot() reads the same column). */
#define NETBOOT_BIT_(id, name, starts, netboot)                                \
  | ((netboot) ? 1u << PXC_CLASS_##id : 0u)
#define NETBOOT_CLASSES (0u PXC_CLASSES(NETBOOT_BIT_))

_Static_assert(PXC_CLASS_COUNT <= 32, "the classes are bits of a word");

static inline bool
class_is_netboot(enum pxc_class cls)
{
  return (unsigned)cls < PXC_CLASS_COUNT && (NETBOOT_CLASSES >> cls & 1u);
}

/* The classes that start a chain (PXC_CLASSES' starts column) as bits,
   for the tracker's reboot test (pxc_class_starts_chain() reads the same
   column). */
#define STARTS_CHAIN_BIT_(id, name, starts, netboot)                           \
  | ((starts) ? 1u << PXC_CLASS_##id : 0u)
#define CHAIN_START_CLASSES (0u PXC_CLASSES(STARTS_CHAIN_BIT_))

static inline bool
class_starts_chain(enum pxc_class cls)
{
  return (unsigned)cls < PXC_CLASS_COUNT && (CHAIN_START_CLASSES >> cls & 1u);
}

_Static_assert(PXC_AGENT_COUNT <= 32, "a class rule's agents are 32 bits");

struct rule {
  enum rule_kind kind;
  const char *directive; /* static: the directive table's name */
  char *tag;
  char *text; /* "directive=value", for logs */
  union {
    struct {
      uint32_t selectors; /* bit N: selector N (below SELECTOR_COUNT) */
      uint32_t agents;    /* bit A: agent A */
    } cls;
    struct {
      uint32_t families;
      uint16_t codes[RULE_MAX_ARCH];
      unsigned code_count;
      /* made by pxc_config_finish(): bit C set if code C (< 64) matches,
         by a family or as listed; codes from 64 on are in codes[] */
      uint64_t low;
    } arch;
    uint8_t features[16]; /* as in pxc_ipxe.features */
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
  size_t user_class_len;
  uint8_t features[16];
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
  bool finished;     /* pxc_config_finish() succeeded: read-only now */
  bool arch9_is_ebc; /* quirk off: 9 stays EBC */
  bool has_guard;    /* dhcp-chain-guard given */
  bool uses_chained; /* an identity has `chained` */
  unsigned guard_hops;
  uint32_t window;   /* chain window, seconds */
  uint32_t capacity; /* chain table size, clients */
  const char *guard_tag; /* the guard rule's tag, NULL without a guard */
  uint32_t peer_ids[CHAIN_PEERS_MAX]; /* dhcp-chain-peer, host order */
  unsigned peer_count;
  /* made by pxc_config_finish(), for pxc_rules_matched(): for word K
     of the rules, entry K * MATCH_ROW + B holds the rules of that word
     that key bit B accepts (class_key(): a class rule's selectors and
     agents, the guard's loop), and entry K * MATCH_ROW + 64 + C the arch
     rules that code C (< 64) matches; the other rules are tested one by
     one, their indexes in other_rules: first those any request may
     match (other_any of them), then those only a request with option 175
     can (feature and version rules), each part in rule order */
  uint64_t *match_words;
  uint64_t key_used; /* the key bits some rule of the table has */
  size_t *other_rules;
  /* 32 bits each, so the config stays 104 bytes (a 112-byte malloc
     chunk): one more chunk size moves every string dnsmasq allocates
     after it, and glibc's strcmp of dnsmasq's tags then crossed pages
     for 50 more instructions per request (the benchmark's docstring);
     2^32 rules would take 480 GB of struct rule */
  uint32_t other_count, other_any;
};

#define MATCH_ROW 128
#define KEY_LOOPING 31 /* the key bit of a looping client: the guard's */

_Static_assert(SELECTOR_COUNT <= KEY_LOOPING, "the loop bit is past the selectors");

/* The key of a judged request in match_words: its selector bits, the
   loop bit if the tracker judged it looping, and its agent's bit from
   bit 32 on (none past the agents). */
static inline uint64_t
class_key(uint32_t selectors, bool looping, unsigned agent)
{
  return selectors | (uint32_t)looping << KEY_LOOPING |
         (agent < 32 ? UINT64_C(1) << 32 << agent : 0);
}

/* The operator's text (">=") of a version test. */
const char *version_op_text(enum version_op op);

/* The next capacity of a growing array of ELEM-byte elements that holds
   ALLOC now; false if its size in bytes would overflow a size_t. */
bool array_next_capacity(size_t alloc, size_t elem, size_t *out);

/* True if V compares true against test T. */
bool version_test_matches(const struct version_test *t, const uint8_t v[3]);

/* ------------------------------------------------------------------ */
/* Between evaluation and the tracker                                  */

/* Bits of pxc_chain_step.flags. */
enum step_flag {
  STEP_VALID = 1,       /* made by pxc_evaluate() with a tracker */
  STEP_DROP = 2,        /* the client leaves the table (the OS asked) */
  STEP_UNTRACKED = 4,   /* no room: counted, not recorded */
  STEP_NEW_CLIENT = 8,  /* the client gets a slot */
  STEP_SAME_STAGE = 16, /* the request continues the newest stage */
  STEP_RESTART = 32,    /* the stages so far are forgotten */
  STEP_HOP = 64,        /* the new stage follows a hand-out */
  STEP_NOT_TAKEN = 128  /* the REQUEST takes another server's offer: the
                           stage's hand-out was not taken */
};

/* pxc_evaluate() also keeps, above these flags, the selectors of
   dhcp-pxe-class that accept the request (bit N: selector N), so each
   class rule is one test. */
#define STEP_SELECTOR_SHIFT 8

_Static_assert(STEP_NOT_TAKEN < 1u << STEP_SELECTOR_SHIFT &&
                   SELECTOR_COUNT + STEP_SELECTOR_SHIFT <= 32,
               "the selectors fit above the step flags");

#define STEP_NO_SLOT UINT32_MAX

/* Where REQ stands in its client's chain at NOW: fills STEP and every
   field of OUT but `own`-dependent ones (none are).  FOLLOWS_HANDOUT
   tells whether the stage REQ continues or begins follows a stage that
   was handed a file and was not our own iPXE: `chained` needs it.
   Reads the tracker only. */
void tracker_judge(const struct pxc_tracker *trk,
                   const struct pxc_request *req, time_t now,
                   struct pxc_chain_step *step, struct pxc_chain *out);

#endif /* PXC_CONFIG_H */
