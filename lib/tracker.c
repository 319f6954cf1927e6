/*
 * The chain tracker: per-client memory of the boot chain (firmware → iPXE
 * binary → script), so that a request can be judged by what came before
 * it.  QEMU's iPXE ROM and Debian's undionly.kpxe send byte-identical
 * requests; only "this client was just handed a chainload" tells them
 * apart, and only counting hops catches a chainload loop.
 *
 * Memory is one fixed table, allocated when the tracker is made: no
 * allocation per request, O(1) work per request (a keyed hash lookup and
 * a scan of a client's eight stages).  Clients live on two LRU lists:
 * "idle" (no hop yet, or single requests such as a flood of random MACs)
 * and "mid-chain" (made a hop within the window).  Room is made by taking,
 * in this order, a mid-chain client whose window has passed, then the
 * least recently seen idle client; when every client is mid-chain and
 * fresh, the newcomer is not tracked rather than someone's chain broken.
 *
 * A request is judged by tracker_judge() (reading only, for
 * pxc_evaluate()) and written by pxc_tracker_record(); replies go to
 * pxc_tracker_reply() (DHCPv4) and pxc_tracker_reply6() (DHCPv6).
 *
 * Both families feed one table.  A client is keyed by its hardware
 * address, the DHCPv4 one (htype, chaddr) or the MAC a DHCPv6 request
 * names (option 79, a DUID-LL/LLT, or the caller's): the same key for
 * the same NIC, so a chain may cross families (EDK2 PXEv6 hands out
 * ipxe.efi, iPXE then asks DHCPv4).  A DHCPv6 request with no MAC is
 * keyed by its canonical UUID (DUID-UUID) instead; it then shares no key
 * with the machine's DHCPv4 requests, so a chain that crosses families
 * is seen as two (EDK2 PXEv6 → iPXE over DHCPv6 still is one: both send
 * the same UUID, EDK2's byte order turned round).  Without MAC or UUID
 * a DHCPv6 request is not tracked.  A relay's address is never a key.
 * A program asking both families at once (iPXE) is one stage: the
 * request of the family the newest stage has not seen joins it when the
 * stage had no hand-out yet or began within JOIN_SECONDS.  What each
 * DHCPv6 message type does is the table role6[].
 *
 * The hand-out is what the client was given and took.  Our address
 * offers name our server id (option 54); the tracker learns it from them
 * (a table of SERVER_IDS, one per address the server answers from) and
 * keeps, per client, which one its last hand-out came with.  A REQUEST of
 * the same stage naming another server takes that server's offer, not
 * ours: our file is struck from the stage, which keeps only "handed
 * another server's offer" (SERVER_FOREIGN).  The same program asking
 * again is then a retry, the same stage (that offer gave it nothing it
 * could boot: a router's plain offer); another program asking is the
 * next stage, a hop after the other server's file, whatever it was (a
 * loop through two servers is a loop; a second instance of the same
 * config counts the hops its peer served).  A proxy offer gives no
 * address and names no server the client takes (the client REQUESTs the
 * DHCP server's address and boots our file): it teaches nothing and is
 * never struck.
 *
 * A client takes 144 bytes (plus 4 of its hash bucket): its stages are
 * kept as parallel arrays of a 32-bit fingerprint, a start time, one byte
 * of ownership and flags, one of class, and one byte naming the boot file
 * handed out, an index into the tracker's table of distinct file names.  Only
 * the newest stage keeps its xid and fingerprint per family, and the newest
 * stage's last request or hand-out is the client's last_seen.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "strbuf.h"
#include "wire.h"

#define NONE UINT32_MAX

/* Boot files: each distinct value (as the reply carried it, without
   trailing NULs) is interned in a table of NAME_COUNT, found by its hash,
   with its last path component (at most NAME_LEN - 1 bytes) for logs; a
   stage holds its index.  Two hand-outs are of the same file when their
   values are. */
#define NAME_LEN       16
#define NAME_COUNT     254
#define NAME_NONE      0   /* no file handed out */
#define NAME_UNKNOWN   255 /* handed out, but the table was full */
#define NAME_SLOTS     512 /* hash slots of the name table, a power of 2 */

/* Our server ids (option 54 of our address offers, and dhcp-chain-peer's
   addresses): entry 0 unused, a client's byte naming none. */
#define SERVER_IDS 15
_Static_assert(CHAIN_PEERS_MAX < SERVER_IDS, "room for our own ids too");
/* ...a client's byte when its newest stage took another server's offer */
#define SERVER_FOREIGN 0xffu

/* A stage's byte of meta data: ownership, flags (its class has a byte
   of its own: there are more than eight). */
#define META_OWN(m)    ((m) & 3u)
/* ...the file came from a DHCPv6 reply: a DHCPv4 one replaces it */
#define META_HANDOUT6  0x04u
#define META_SEEN(f)   (0x08u << (f)) /* the stage asked family F */
#define META_HOP       0x20u /* began after a file was handed to the stage before */
#define META_HANDOUT   0x40u /* the server handed this stage a boot file */
#define META_XID_DONE  0x80u /* ...in a reply to the newest request's xid */
#define META(own)      ((uint8_t)(own))

_Static_assert(PXC_CLASS_COUNT <= 256, "a stage's class fits in a byte");
_Static_assert(META_SEEN(PXC_IP_FAMILY_COUNT - 1) < META_HOP,
               "a stage's families fit below its flags");

/* A request of the family the newest stage has not seen joins the stage
   after a hand-out only within this many seconds of the stage's start
   (iPXE's DISCOVER and SOLICIT leave within milliseconds; the clock has
   whole seconds). */
#define JOIN_SECONDS 1

/* What a DHCPv6 client message does to its client's chain, by type
   (dhcpv6.md §7.3, §7.6).  Every DHCPv4 request is ROLE_REQUEST. */
enum role {
  ROLE_NONE,    /* nothing: not a stage, never the end of a chain */
  ROLE_BEGIN,   /* begins a transaction: after a hand-out, a new stage */
  ROLE_REQUEST, /* continues a transaction, or begins a stage missed */
  ROLE_CONTINUE /* only continues the newest stage, never begins one */
};

static const uint8_t role6[] = {
    [DHCP6_SOLICIT] = ROLE_BEGIN,
    [DHCP6_REQUEST] = ROLE_REQUEST,
    /* the client keeps (or checks) an address it has: the same stage */
    [DHCP6_CONFIRM] = ROLE_CONTINUE,
    [DHCP6_RENEW] = ROLE_CONTINUE,
    [DHCP6_REBIND] = ROLE_CONTINUE,
    /* EDK2 releases its IAs before it runs the boot file (g1: its IP
       stack's and the PXE stack's), a DECLINE is about the address: the
       chain goes on, neither is the installed OS */
    [DHCP6_RELEASE] = ROLE_NONE,
    [DHCP6_DECLINE] = ROLE_NONE,
    /* iPXE's stateless mode: its whole transaction */
    [DHCP6_INFORMATION_REQUEST] = ROLE_BEGIN,
};

/* The DHCPv6 requests recorded last, so that a reply (which carries no
   MAC) finds its client by xid and client DUID. */
#define PENDING6                                                               \
  16 /* a power of 2: the ring index wraps with unsigned arithmetic */

struct pending6 {
  uint32_t xid;
  uint32_t duid_hash;
  uint32_t slot;
  uint8_t msg_type;
  uint8_t key[CHAIN_KEY_LEN];
};

enum list_id { LIST_FREE, LIST_IDLE, LIST_MID_CHAIN, LIST_COUNT };

/* One client (hardware type + address) and its recent stages, in rings
   indexed by stage; head is the ring index of the newest stage. */
struct client {
  uint8_t key[CHAIN_KEY_LEN];
  uint8_t count; /* stages kept, ≤ CHAIN_STAGES */
  uint8_t head;
  uint8_t list;
  uint8_t last_file; /* the file handed out last, whatever the stage */
  uint8_t server;    /* the server id of its last address hand-out, an
                        index into the tracker's; 0 if none; SERVER_FOREIGN
                        if the newest stage took another server's offer */
  uint8_t meta[CHAIN_STAGES];
  uint8_t cls[CHAIN_STAGES];  /* enum pxc_class of the stage */
  uint8_t file[CHAIN_STAGES];
  uint32_t prev, next; /* LRU list links, most recent at the head */
  uint32_t hash_next;
  uint32_t last_seen;  /* the newest stage's latest request or hand-out */
  uint32_t xid[PXC_IP_FAMILY_COUNT];    /* of the newest stage, by family */
  uint32_t fam_fp[PXC_IP_FAMILY_COUNT]; /* its fingerprint, by family */
  uint32_t fp[CHAIN_STAGES];    /* low half of the request fingerprint */
  uint32_t start[CHAIN_STAGES]; /* the stage's first request */
};

struct lru {
  uint32_t head, tail;
  size_t len;
};

/* The distinct boot files handed out; entry 0 is unused. */
struct names {
  uint8_t len[NAME_COUNT + 1];
  uint8_t value[NAME_COUNT + 1][255];  /* an option holds at most 255 */
  char text[NAME_COUNT + 1][NAME_LEN]; /* last path component */
  uint8_t slot[NAME_SLOTS];            /* hash → index, 0 if empty */
  unsigned count;
};

struct pxc_tracker {
  struct client *clients;
  uint32_t capacity;
  uint32_t *buckets;
  unsigned bucket_shift; /* 64 - log2 of the bucket count (≥ 2 buckets) */
  struct lru lists[LIST_COUNT];
  uint64_t seed;         /* of the DUID hashes of pending6 */
  uint64_t key_seed[2];  /* key_bucket()'s random words */
  uint64_t key_mul[3];   /* ...and its random odd multipliers */
  uint32_t window;
  unsigned max_hops;
  unsigned long evicted, untracked, trips;
  uint32_t last_recorded; /* the client pxc_tracker_record() wrote last */
  struct pending6 pending6[PENDING6];
  unsigned pending6_next;
  uint8_t pending6_xids[64]; /* pending requests by xid_bit() of xid */
  struct names names;
  uint32_t server_ids[SERVER_IDS + 1]; /* host order; entry 0 unused */
  unsigned server_id_count;
};

/* ------------------------------------------------------------------ */
/* Lists and hashing                                                   */

static inline void
lru_remove(struct pxc_tracker *t, uint32_t i)
{
  struct client *c = &t->clients[i];
  struct lru *l = &t->lists[c->list];

  if (c->prev != NONE)
    t->clients[c->prev].next = c->next;
  else
    l->head = c->next;
  if (c->next != NONE)
    t->clients[c->next].prev = c->prev;
  else
    l->tail = c->prev;
  l->len--;
}

/* Put client I at the head (most recent end) of list LIST. */
static inline void
lru_push(struct pxc_tracker *t, uint32_t i, enum list_id list)
{
  struct client *c = &t->clients[i];
  struct lru *l = &t->lists[list];

  c->list = (uint8_t)list;
  c->prev = NONE;
  c->next = l->head;
  if (l->head != NONE)
    t->clients[l->head].prev = i;
  else
    l->tail = i;
  l->head = i;
  l->len++;
}

/* Move client I to the head of LIST.  Inlined: every request and every
   hand-out moves its client. */
static inline __attribute__((always_inline)) void
lru_move(struct pxc_tracker *t, uint32_t i, enum list_id list)
{
  if (t->clients[i].list == list && t->lists[list].head == i)
    return;
  lru_remove(t, i);
  lru_push(t, i, list);
}

/* A client's key as values: hardware type, address length and the
   16-byte address as two words (memory order), taken from a request or
   a reply where they lie, never copied to a buffer first.  A client
   keeps its key as CHAIN_KEY_LEN bytes: type, length, address. */
struct ckey {
  uint8_t htype, hlen;
  uint64_t addr[2];
};

static inline struct ckey
ckey_of(uint8_t htype, uint8_t hlen, const uint8_t *chaddr)
{
  struct ckey k = {htype, hlen, {0, 0}};

  _Static_assert(CHAIN_KEY_LEN - 2 == sizeof(k.addr), "the address is two words");
  memcpy(k.addr, chaddr, sizeof(k.addr));
  return k;
}

/* A UUID key's first two bytes: hardware type 0 and a length no
   hardware address has. */
#define UUID_KEY_TYPE 0
#define UUID_KEY_LEN  0xff

/* The key of the client of REQ, of family F (family_of()): its hardware
   address; for a DHCPv6 request without one, its canonical UUID (see
   has_key()).  F is a constant where the hooks' paths are split by
   family, so the DHCPv4 path tests nothing. */
static inline struct ckey
request_key(const struct pxc_request *req, unsigned f)
{
  if (f == PXC_IPV6 && req->hlen == 0)
    return ckey_of(UUID_KEY_TYPE, UUID_KEY_LEN, req->uuid);
  return ckey_of(req->htype, req->hlen, req->chaddr);
}

/* The key a client keeps in KEY. */
static inline struct ckey
stored_key(const uint8_t *key)
{
  return ckey_of(key[0], key[1], key + 2);
}

/* Keep K in a client's KEY. */
static inline void
store_key(uint8_t *key, struct ckey k)
{
  key[0] = k.htype;
  key[1] = k.hlen;
  memcpy(key + 2, k.addr, sizeof(k.addr));
}

/* True if the key kept in KEY is K: three loads and compares, the type
   and length bytes read as one 16-bit word against K's in memory order. */
static inline bool
key_is(const uint8_t *key, struct ckey k)
{
  const uint8_t head[2] = {k.htype, k.hlen};
  uint16_t kept, want;
  uint64_t addr[2];

  memcpy(&kept, key, 2);
  memcpy(&want, head, 2);
  memcpy(addr, key + 2, sizeof(addr));
  return ((addr[0] ^ k.addr[0]) | (addr[1] ^ k.addr[1]) |
          (uint64_t)(uint16_t)(kept ^ want)) == 0;
}

/* Bucket of a client key: each of the key's words (the address's two,
   xored with the tracker's random seeds, and type and length) times its
   random odd multiplier, the products xored, then one xorshift-multiply
   round and the top bits: the product alone (multiply-shift) puts a run
   of consecutive MACs, as one vendor's NICs are, into a few buckets for
   one draw in dozens.  Random, so a flood of chosen MACs cannot be aimed
   at one bucket; inline and without the one hash's rounds, as it is on
   every request's path. */
static inline uint32_t
key_bucket(const struct pxc_tracker *t, struct ckey k)
{
  uint64_t h = ((k.addr[0] ^ t->key_seed[0]) * t->key_mul[0]) ^
               ((k.addr[1] ^ t->key_seed[1]) * t->key_mul[1]) ^
               ((uint64_t)(k.htype | k.hlen << 8) * t->key_mul[2]);

  h ^= h >> 32;
  return (uint32_t)((h * t->key_mul[0]) >> t->bucket_shift);
}

/* The client with key K, or NONE.  Inlined: it is most of both hooks. */
static inline __attribute__((always_inline)) uint32_t
find_client(const struct pxc_tracker *t, struct ckey k)
{
  uint32_t i = t->buckets[key_bucket(t, k)];

  while (i != NONE && !key_is(t->clients[i].key, k))
    i = t->clients[i].hash_next;
  return i;
}

static void
unhash_client(struct pxc_tracker *t, uint32_t i)
{
  uint32_t *link = &t->buckets[key_bucket(t, stored_key(t->clients[i].key))];

  while (*link != i)
    link = &t->clients[*link].hash_next;
  *link = t->clients[i].hash_next;
}

/* Forget client I: back to the free list. */
static void
drop_client(struct pxc_tracker *t, uint32_t i)
{
  unhash_client(t, i);
  lru_move(t, i, LIST_FREE);
}

/* True if REQ, of family F, has a key: a DHCPv6 request needs a MAC or
   a UUID. */
static inline bool
has_key(const struct pxc_request *req, unsigned f)
{
  return f != PXC_IPV6 || req->hlen != 0 || req->has_uuid;
}

/* The family of REQ as an index (a value out of range reads as IPv4). */
static unsigned
family_of(const struct pxc_request *req)
{
  return req->ip_family == PXC_IPV6 ? PXC_IPV6 : PXC_IPV4;
}

/* What REQ, of family F, does to its client's chain (see role6[]). */
static inline enum role
request_role(const struct pxc_request *req, unsigned f)
{
  if (f != PXC_IPV6)
    return ROLE_REQUEST;
  return req->msg_type < sizeof(role6) ? (enum role)role6[req->msg_type]
                                       : ROLE_NONE;
}

/* True if REQ, which names no boot program, means the machine's boot
   chain is over: any DHCPv4 one (the installed OS, an installer, an
   agent); a DHCPv6 one only when it names its agent or OS by its
   vendor class.  A bare DHCPv6 request (no class) is EDK2's IP stack
   (Ip6Config: options 1, 8, 3, 6 only) as much as an OS's client. */
static inline bool
ends_chain(const struct pxc_request *req, unsigned f)
{
  return f != PXC_IPV6 || req->fw_class != PXC_CLASS_NONE;
}

/* Seconds from THEN to NOW; a clock that went back reads as no time. */
static uint32_t
elapsed(uint32_t then, uint32_t now)
{
  return (int32_t)(now - then) > 0 ? now - then : 0;
}

static bool
expired(const struct pxc_tracker *t, uint32_t then, uint32_t now)
{
  return elapsed(then, now) > t->window;
}

/* The client's slot a newcomer would get: a free one; else a mid-chain
   client whose window has passed; else the least recently seen idle
   client.  NONE when every client is in a fresh chain: those are never
   evicted for a newcomer. */
static uint32_t
room_for_newcomer(const struct pxc_tracker *t, uint32_t now)
{
  uint32_t victim;

  if (t->lists[LIST_FREE].len > 0)
    return t->lists[LIST_FREE].tail;
  victim = t->lists[LIST_MID_CHAIN].tail;
  if (victim == NONE || !expired(t, t->clients[victim].last_seen, now))
    victim = t->lists[LIST_IDLE].tail;
  return victim;
}

/* ------------------------------------------------------------------ */
/* Stages                                                              */

/* Ring index of stage N of client C, 0 being the newest. */
static unsigned
stage_back(const struct client *c, unsigned n)
{
  return (c->head + CHAIN_STAGES - n) % CHAIN_STAGES;
}

static unsigned
oldest_stage(const struct client *c)
{
  return stage_back(c, c->count - 1u);
}

static uint32_t
request_fp(const struct pxc_request *req)
{
  return (uint32_t)req->fingerprint;
}

/* True if REQ continues the newest stage of C: a retransmission, the
   REQUEST after the DISCOVER, a retry before any hand-out, or a PXE
   boot-server request (port 4011: PXE picks its boot file there even when
   the proxy offer already named one).  Over DHCPv6 the xid tells nothing
   (EDK2 changes it per message, iPXE on OVMF sends the same every boot):
   only a SOLICIT (or INFORMATION-REQUEST) after a hand-out begins anew.
   A request of a family the stage has not seen joins it (see
   JOIN_SECONDS) when it comes from the same class.  F: REQ's family. */
static inline __attribute__((always_inline)) bool
same_stage(const struct client *c, const struct pxc_request *req, unsigned f,
           uint32_t now)
{
  unsigned s = c->head;
  bool handout = c->meta[s] & META_HANDOUT;

  if (c->cls[s] != (unsigned)req->fw_class)
    return false;
  if (!(c->meta[s] & META_SEEN(f)))
    return !handout || elapsed(c->start[s], now) <= JOIN_SECONDS;
  if (c->fam_fp[f] != request_fp(req))
    return false;
  if (f == PXC_IPV6)
    return !handout || request_role(req, f) != ROLE_BEGIN;
  return c->xid[f] == req->xid || !handout || req->has_boot_item ||
         c->server == SERVER_FOREIGN;
}

/*
 * True if REQ means the machine rebooted: a boot firmware (not a loaded
 * program) asked again, or the chain's first program came back after
 * another one.
 */
static inline __attribute__((always_inline)) bool
is_reboot(const struct client *c, const struct pxc_request *req)
{
  if (class_starts_chain(req->fw_class))
    return true;
  return c->count > 1 && c->fp[oldest_stage(c)] == request_fp(req) &&
         c->fp[c->head] != request_fp(req);
}

/* Hops among stages N0 … N1-1 of client C (0 the newest) that began
   within the window ending at NOW. */
static unsigned
hops_in_window(const struct pxc_tracker *t, const struct client *c,
               unsigned n0, unsigned n1, uint32_t now)
{
  unsigned hops = 0;

  for (unsigned n = n0; n < n1; n++) {
    unsigned s = stage_back(c, n);
    if ((c->meta[s] & META_HOP) && !expired(t, c->start[s], now))
      hops++;
  }
  return hops;
}

/* True if two stages were handed the same file (a name the table had no
   room for is taken as different from every other). */
static bool
same_file(uint8_t a, uint8_t b)
{
  return a == b && a != NAME_UNKNOWN;
}

/*
 * True if the newest stage of C, one of ours, was handed a file no
 * earlier stage of the chain was handed: our iPXE got its answer (its
 * script), so whatever asks next begins a new chain — typically the
 * machine rebooted, which QEMU's iPXE ROM, byte-identical to Debian's
 * undionly.kpxe, cannot otherwise show.  A file handed out again is a
 * loop going round, and counts on.
 */
static inline __attribute__((always_inline)) bool
chain_completed(const struct client *c)
{
  unsigned s = c->head;

  if (!(c->meta[s] & META_HANDOUT) || META_OWN(c->meta[s]) != PXC_OWN_OWN)
    return false;
  for (unsigned n = 1; n < c->count; n++) {
    unsigned older = stage_back(c, n);
    if ((c->meta[older] & META_HANDOUT) && same_file(c->file[older], c->file[s]))
      return false;
  }
  return true;
}

/* True if stage S of C, not one of ours, was handed a boot file: the next
   program to ask is the one it was chainloaded into. */
static bool
handed_a_chainload(const struct client *c, unsigned s)
{
  return (c->meta[s] & META_HANDOUT) && META_OWN(c->meta[s]) != PXC_OWN_OWN;
}

/* True if ID is none of ours (our own ids, dhcp-chain-peer's). */
static __attribute__((noinline)) bool
not_ours(const struct pxc_tracker *t, uint32_t id)
{
  for (unsigned k = 1; k <= t->server_id_count; k++)
    if (t->server_ids[k] == id)
      return false;
  return true;
}

/* True if REQ, of the newest stage of C, is a REQUEST naming a server
   other than ours, the stage having been handed our file in an address
   offer: the client took that server's offer, not our hand-out.  The id
   the offer came with is tried first.  (A DHCPv6 request names no
   server_id here; the unsigned compare leaves out 0, no id known, and
   SERVER_FOREIGN, struck already.) */
static inline __attribute__((always_inline)) bool
took_another_offer(const struct pxc_tracker *t, const struct client *c,
                   const struct pxc_request *req)
{
  return req->server_id != 0 && c->server - 1u < SERVER_IDS &&
         t->server_ids[c->server] != req->server_id &&
         (c->meta[c->head] & META_HANDOUT) && not_ours(t, req->server_id);
}

/* The chain fields of a request that begins a chain (new client, or the
   old chain forgotten). */
static void
judge_restart(struct pxc_chain_step *step, struct pxc_chain *out)
{
  step->flags |= STEP_RESTART;
  out->new_stage = true;
  out->restarted = true;
  out->stages = 1;
}

/* How REQ, of family F, continues the chain of client C (which has
   stages). */
static inline __attribute__((always_inline)) void
judge_known(const struct pxc_tracker *t, const struct client *c,
            const struct pxc_request *req, unsigned f,
            struct pxc_chain_step *step, struct pxc_chain *out)
{
  uint32_t now = step->now;
  unsigned kept;

  if (expired(t, c->last_seen, now)) {
    judge_restart(step, out);
    return;
  }
  if (same_stage(c, req, f, now)) {
    step->flags |= STEP_SAME_STAGE;
    if (took_another_offer(t, c, req))
      step->flags |= STEP_NOT_TAKEN;
    out->follows_chainload = c->count > 1 && (c->meta[c->head] & META_HOP) &&
                             handed_a_chainload(c, stage_back(c, 1));
    out->stages = c->count;
    out->hops = hops_in_window(t, c, 0, c->count, now);
    return;
  }
  out->rebooted = is_reboot(c, req);
  if (out->rebooted || chain_completed(c)) {
    judge_restart(step, out);
    return;
  }
  if (c->meta[c->head] & META_HANDOUT)
    step->flags |= STEP_HOP;
  out->follows_chainload = handed_a_chainload(c, c->head);
  out->new_stage = true;
  /* the new stage joins; when the ring is full, the oldest leaves */
  kept = c->count < CHAIN_STAGES ? c->count : CHAIN_STAGES - 1u;
  out->stages = kept + 1;
  out->hops = hops_in_window(t, c, 0, kept, now) +
              ((step->flags & STEP_HOP) ? 1 : 0);
}

/* tracker_judge() for a request REQ of family F: a constant in each of
   its two copies, so the DHCPv6 roles and keys cost the DHCPv4 path
   nothing. */
static inline __attribute__((always_inline)) void
judge_family(const struct pxc_tracker *t, const struct pxc_request *req,
             unsigned f, time_t now, struct pxc_chain_step *step,
             struct pxc_chain *out)
{
  uint32_t i;
  enum role role = request_role(req, f);

  step->now = (uint32_t)now;
  step->slot = STEP_NO_SLOT;
  step->flags = STEP_VALID;
  if (role == ROLE_NONE || !has_key(req, f))
    return;
  i = find_client(t, request_key(req, f));
  if (!class_is_netboot(req->fw_class)) {
    /* no boot program (the installed OS, an installer, an agent): this
       machine's boot chain is over */
    if (i != NONE && role != ROLE_CONTINUE && ends_chain(req, f)) {
      step->flags |= STEP_DROP;
      step->slot = i;
    }
    return;
  }
  if (role == ROLE_CONTINUE &&
      (i == NONE || t->clients[i].count == 0 ||
       expired(t, t->clients[i].last_seen, step->now) ||
       !same_stage(&t->clients[i], req, f, step->now)))
    return;
  if (i == NONE) {
    if (room_for_newcomer(t, step->now) == NONE) {
      step->flags |= STEP_UNTRACKED;
      return;
    }
    step->flags |= STEP_NEW_CLIENT;
    out->tracked = true;
    judge_restart(step, out);
    return;
  }
  step->slot = i;
  out->tracked = true;
  if (t->clients[i].count == 0)
    judge_restart(step, out);
  else
    judge_known(t, &t->clients[i], req, f, step, out);
  out->looping = t->max_hops > 0 && out->hops > t->max_hops;
  out->guard_tripped = out->looping && out->new_stage;
}

/* judge_family() for DHCPv6, a function of its own: the DHCPv4 copy
   keeps tracker_judge() to itself (its registers, its prologue). */
static __attribute__((noinline)) void
judge6(const struct pxc_tracker *t, const struct pxc_request *req, time_t now,
       struct pxc_chain_step *step, struct pxc_chain *out)
{
  judge_family(t, req, PXC_IPV6, now, step, out);
}

void
tracker_judge(const struct pxc_tracker *t, const struct pxc_request *req,
              time_t now, struct pxc_chain_step *step, struct pxc_chain *out)
{
  if (family_of(req) == PXC_IPV6)
    judge6(t, req, now, step, out);
  else
    judge_family(t, req, PXC_IPV4, now, step, out);
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */

/* A slot for the new client with KEY, hashed and on the idle list; NONE
   if there is no room. */
static uint32_t
add_client(struct pxc_tracker *t, struct ckey key, uint32_t now)
{
  uint32_t i = room_for_newcomer(t, now), bucket;
  struct client *c;

  if (i == NONE)
    return NONE;
  if (t->clients[i].list != LIST_FREE) {
    drop_client(t, i);
    t->evicted++;
  }
  c = &t->clients[i];
  store_key(c->key, key);
  c->count = 0;
  c->head = 0;
  c->last_file = NAME_NONE;
  c->server = 0;
  bucket = key_bucket(t, key);
  c->hash_next = t->buckets[bucket];
  t->buckets[bucket] = i;
  lru_move(t, i, LIST_IDLE);
  return i;
}

/* The slot of the verdict's client, checked against the request (a
   verdict made before the tracker changed names no one); NONE if gone.
   Inlined into each family's record_family(). */
static inline __attribute__((always_inline)) uint32_t
verdict_client(struct pxc_tracker *t, const struct pxc_verdict *v,
               struct ckey key)
{
  uint32_t i = v->step.slot;

  if (v->step.flags & STEP_NEW_CLIENT)
    return find_client(t, key) == NONE ? add_client(t, key, v->step.now)
                                       : NONE;
  if (i >= t->capacity || t->clients[i].list == LIST_FREE ||
      !key_is(t->clients[i].key, key))
    return NONE;
  return i;
}

/* The bits of stage S's meta data that a request REQ of the stage keeps:
   the hop and hand-out marks, the families seen, and "the hand-out came
   in a reply to the newest xid" while a DHCPv4 request keeps that xid
   (a DHCPv6 one leaves it to DHCPv4). */
static inline unsigned
kept_meta(const struct client *c, unsigned s, const struct pxc_request *req,
          unsigned f)
{
  unsigned keep = META_HOP | META_HANDOUT | META_HANDOUT6;

  for (unsigned g = 0; g < PXC_IP_FAMILY_COUNT; g++)
    keep |= META_SEEN(g);
  if (f == PXC_IPV6 || ((c->meta[s] & META_SEEN(f)) && c->xid[f] == req->xid))
    keep |= META_XID_DONE;
  return keep;
}

/* The bit of a 24-bit DHCPv6 xid in the filter of pending xids: its
   three bytes folded (EDK2 counts in the first byte on the wire, iPXE's
   are random). */
static inline unsigned
xid_bit(uint32_t xid)
{
  return (xid ^ xid >> 6 ^ xid >> 12 ^ xid >> 18) & 63u;
}

/* Note the DHCPv6 request REQ of client I (key KEY) among the pending
   ones, so that its reply finds the client; a request of the same xid
   and DUID (a retransmission, iPXE's REQUEST) takes its entry. */
static void
pending6_note(struct pxc_tracker *t, uint32_t i, struct ckey key,
              const struct pxc_request *req)
{
  uint32_t hash = (uint32_t)pxc_hash(t->seed, req->duid, req->duid_len);
  struct pending6 *p = NULL;

  if (req->duid_len == 0)
    return;
  for (unsigned k = 0; k < PENDING6 && !p; k++)
    if (t->pending6[k].xid == req->xid && t->pending6[k].duid_hash == hash &&
        t->pending6[k].msg_type != 0)
      p = &t->pending6[k];
  if (!p) {
    p = &t->pending6[t->pending6_next];
    t->pending6_next = (t->pending6_next + 1) % PENDING6;
    if (p->msg_type != 0) /* the oldest leaves */
      t->pending6_xids[xid_bit(p->xid)]--;
    t->pending6_xids[xid_bit(req->xid)]++;
  }
  *p = (struct pending6){req->xid, hash, i, req->msg_type, {0}};
  store_key(p->key, key);
}

/* Stage S of C, the newest, was handed a file the client did not take:
   it took another server's offer.  Our file goes; the stage keeps its
   hand-out mark as the other server's (see SERVER_FOREIGN), and a later
   offer of ours to the stage counts afresh. */
static __attribute__((noinline)) void
strike_handout(struct client *c, unsigned s)
{
  c->meta[s] &= (uint8_t)~(META_HANDOUT6 | META_XID_DONE);
  c->file[s] = NAME_NONE;
  c->server = SERVER_FOREIGN;
}

/* pxc_tracker_record() for a request of family F (a constant in each of
   its two copies, as for judge_family()). */
static inline __attribute__((always_inline)) void
record_family(struct pxc_tracker *t, const struct pxc_verdict *v, unsigned f)
{
  uint32_t flags, i;
  struct client *c;
  unsigned s;

  flags = v->step.flags;
  if (flags & STEP_UNTRACKED) {
    t->untracked++;
    return;
  }
  if (!(flags & STEP_DROP) && !v->chain.tracked)
    return;
  if (!has_key(v->req, f))
    return;
  i = verdict_client(t, v, request_key(v->req, f));
  if (i == NONE)
    return;
  if (flags & STEP_DROP) {
    drop_client(t, i);
    return;
  }
  c = &t->clients[i];
  if (flags & STEP_RESTART)
    c->count = 0;
  if (flags & STEP_SAME_STAGE) {
    s = c->head;
  } else {
    c->head = (uint8_t)((c->head + 1) % CHAIN_STAGES);
    if (c->count < CHAIN_STAGES)
      c->count++;
    s = c->head;
    c->fp[s] = request_fp(v->req);
    c->start[s] = v->step.now;
    c->file[s] = NAME_NONE;
    c->meta[s] = (flags & STEP_HOP) ? META_HOP : 0;
  }
  c->meta[s] = (uint8_t)((c->meta[s] & kept_meta(c, s, v->req, f)) | META_SEEN(f) |
                         META(v->own));
  if (flags & STEP_NOT_TAKEN)
    strike_handout(c, s);
  c->cls[s] = (uint8_t)v->req->fw_class;
  c->xid[f] = v->req->xid;
  c->fam_fp[f] = request_fp(v->req);
  c->last_seen = v->step.now;
  t->last_recorded = i;
  if (f == PXC_IPV6)
    pending6_note(t, i, request_key(v->req, f), v->req);
  if (v->chain.guard_tripped)
    t->trips++;
  lru_move(t, i, v->chain.hops > 0 ? LIST_MID_CHAIN : LIST_IDLE);
}

/* record_family() for DHCPv6, a function of its own (as judge6()). */
static __attribute__((noinline)) void
record6(struct pxc_tracker *t, const struct pxc_verdict *v)
{
  record_family(t, v, PXC_IPV6);
}

void
pxc_tracker_record(struct pxc_tracker *t, const struct pxc_verdict *v)
{
  if (!t || !v || !v->req || !(v->step.flags & STEP_VALID))
    return;
  if (family_of(v->req) == PXC_IPV6)
    record6(t, v);
  else
    record_family(t, v, PXC_IPV4);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Option 67 in the TLV area DATA (LEN bytes): true with it in OUT,
   without trailing NULs.  Notes option 52's value in *OVERLOAD (3 if
   malformed: trust neither field) when OVERLOAD is not NULL.  Stops at
   67, END, or an item that crosses the end of the area, as tlv_next()
   would.  Its own loop, not tlv_step(): a reply's options are walked for
   two codes only, and a server's reply (dnsmasq: ten or so options
   before 67) is well formed, so each item is one bounds test and two
   compares. */
static bool
find_bootfile(const uint8_t *data, size_t len, struct pxc_bytes *out,
              unsigned *overload)
{
  const uint8_t *p = data, *end = data + len;

  while (end - p >= 2) {
    unsigned code = p[0], n = p[1];
    if (code == DHCP_PAD) {
      p++;
      continue;
    }
    if (code == DHCP_END || n > (size_t)(end - p) - 2)
      return false;
    if (code == DHCP_BOOTFILE) {
      while (n > 0 && p[1 + n] == '\0') /* a C string sent with its NUL */
        n--;
      *out = (struct pxc_bytes){p + 2, n};
      return true;
    }
    if (code == DHCP_OVERLOAD && overload)
      *overload = n == 1 ? p[2] & 3u : 3u;
    p += 2 + n;
  }
  return false;
}

/*
 * The boot file of a reply (PKT, LEN ≥ BOOTP_HEADER_LEN bytes): option 67
 * (in the options, then in file and sname when option 52 says they hold
 * options, as dnsmasq's option_find() reads them), else the file field
 * unless option 52 overloads it.  dnsmasq sets 52 = 2 (sname only) when a
 * large reply needs room and file holds the boot file.
 */
static bool
reply_boot_file(const uint8_t *pkt, size_t len, struct pxc_bytes *out)
{
  static const struct {
    unsigned bit;
    size_t off, len;
  } areas[] = {
      {DHCP_OVERLOAD_FILE, offsetof(struct bootp_header, file), 128},
      {DHCP_OVERLOAD_SNAME, offsetof(struct bootp_header, sname), 64},
  };
  const uint8_t *file = pkt + offsetof(struct bootp_header, file);
  unsigned overload = 0;

  if (len >= DHCP_OPTIONS_OFF &&
      memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN) == 0) {
    if (find_bootfile(pkt + DHCP_OPTIONS_OFF, len - DHCP_OPTIONS_OFF, out,
                      &overload))
      return true;
    for (size_t a = 0; a < sizeof(areas) / sizeof(areas[0]); a++)
      if ((overload & areas[a].bit) &&
          find_bootfile(pkt + areas[a].off, areas[a].len, out, NULL))
        return true;
  }
  if (overload & DHCP_OVERLOAD_FILE)
    return false;
  *out = (struct pxc_bytes){file, strnlen((const char *)file, 128)};
  return true;
}

/* Option 54 (four bytes) in the options field of the reply PKT (LEN
   bytes, a hand-out: header read): the server id, host order; 0 if
   absent.  Read only for address hand-outs, where dnsmasq puts it right
   after option 53: that place is tried before a walk. */
static uint32_t
reply_server_id(const uint8_t *pkt, size_t len)
{
  const uint8_t *p = pkt + DHCP_OPTIONS_OFF, *end = pkt + len;

  if (len < DHCP_OPTIONS_OFF ||
      memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN) != 0)
    return 0;
  if (end - p >= 9 && p[0] == DHCP_MSG_TYPE && p[1] == 1 &&
      p[3] == DHCP_SERVER_ID && p[4] == 4)
    return be32_at(p + 5);
  while (end - p >= 2 && p[0] != DHCP_END) {
    if (p[0] == DHCP_PAD) {
      p++;
      continue;
    }
    if (p[1] > (size_t)(end - p) - 2)
      return 0;
    if (p[0] == DHCP_SERVER_ID)
      return p[1] == 4 ? be32_at(p + 2) : 0;
    p += 2 + p[1];
  }
  return 0;
}

/* The last path component of boot file F, made printable and cut to
   NAME_LEN - 1 bytes, into NAME. */
static void
file_name(struct pxc_bytes f, char name[NAME_LEN])
{
  size_t start = 0, n;

  for (size_t i = 0; i + 1 < f.len; i++)
    if (f.data[i] == '/')
      start = i + 1;
  n = f.len - start < NAME_LEN - 1 ? f.len - start : NAME_LEN - 1;
  memset(name, 0, NAME_LEN);
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = f.data[start + i];
    name[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
}

/* True if entry K of the table holds boot file F. */
static bool
names_hold(const struct names *names, uint8_t k, struct pxc_bytes f)
{
  return names->len[k] == f.len && memcmp(names->value[k], f.data, f.len) == 0;
}

/* The name table's slot hash of boot file F (1 to 255 bytes): the one
   hash of its length and its first and last eight bytes (the whole name
   when shorter), inline, so a long URL costs no more than a short name.
   Names alike there only probe further: a slot is taken by comparing the
   whole name. */
static inline uint64_t
name_hash(struct pxc_bytes f)
{
  uint64_t head = 0, tail = 0;

  if (f.len >= 8) {
    memcpy(&head, f.data, 8);
    memcpy(&tail, f.data + f.len - 8, 8);
  } else {
    for (size_t i = 0; i < f.len; i++)
      head |= (uint64_t)f.data[i] << (8 * i);
  }
  return pxc_hash_final(
      pxc_hash_word(pxc_hash_word(PXC_HASH_SEED ^ f.len, head), tail));
}

/* The index of boot file F (1 to 255 bytes) in the table of distinct
   files, added if new; NAME_UNKNOWN once the table is full.  KNOWN, the
   file the client was handed last, is tried first: a client is mostly
   handed the same file again (the next transaction, the next boot, a
   loop), and then nothing is hashed.  Inlined: in the DHCPv4 reply hook
   a call of its own costs what the DHCPv6 one needing it too took. */
static inline __attribute__((always_inline)) uint8_t
intern_file(struct names *names, struct pxc_bytes f, uint8_t known)
{
  uint64_t h;

  if (known != NAME_NONE && known != NAME_UNKNOWN &&
      names_hold(names, known, f))
    return known;
  h = name_hash(f);
  for (unsigned probe = 0; probe < NAME_SLOTS; probe++) {
    uint8_t *slot = &names->slot[(h + probe) & (NAME_SLOTS - 1)];
    if (*slot == 0) {
      if (names->count == NAME_COUNT)
        return NAME_UNKNOWN;
      *slot = (uint8_t)++names->count;
      names->len[*slot] = (uint8_t)f.len;
      memcpy(names->value[*slot], f.data, f.len);
      file_name(f, names->text[*slot]);
      return *slot;
    }
    if (names_hold(names, *slot, f))
      return *slot;
  }
  return NAME_UNKNOWN;
}

/* The client with KEY, for a reply: mostly the one whose request was
   recorded last (a server answers the request it has just read), so that
   one is tried before the hash.  A slot in use holds a hashed client, so
   this finds what find_client() finds. */
static inline uint32_t
reply_client(const struct pxc_tracker *t, struct ckey key)
{
  uint32_t i = t->last_recorded;

  if (i != NONE && t->clients[i].list != LIST_FREE &&
      key_is(t->clients[i].key, key))
    return i;
  return find_client(t, key);
}

/* The index of our server id ID in T's table, added if new; 0 for no id
   or once the table is full (the client's hand-out is then never
   struck).  The last one added is tried first: mostly there is one.
   (Entry 0, unused, is 0: with no id known the first test fails.) */
static uint8_t
server_index(struct pxc_tracker *t, uint32_t id)
{
  if (id == 0)
    return 0;
  if (t->server_ids[t->server_id_count] == id)
    return (uint8_t)t->server_id_count;
  for (unsigned k = t->server_id_count; k > 0; k--)
    if (t->server_ids[k] == id)
      return (uint8_t)k;
  if (t->server_id_count == SERVER_IDS)
    return 0;
  t->server_ids[++t->server_id_count] = id;
  return (uint8_t)t->server_id_count;
}

/* True if the reply PKT (a BOOTP header) gives the client an address:
   an address offer or ACK, not a proxy offer or a PXE boot server's
   reply, which give none. */
static bool
gives_address(const uint8_t *pkt)
{
  return be32_at(pkt + offsetof(struct bootp_header, yiaddr)) != 0;
}

/* A reply to the current stage that names a boot file is a hand-out;
   one that gives an address also names the server id (option 54) a
   REQUEST taking it names, read for the client's first such hand-out
   only: a client stays on its link, and a REQUEST is judged against
   every id of ours the tracker has learnt (so a second address of the
   server is known once any client was first answered from it).  The
   BOOTREPLY and xid checks come first: most replies cost a lookup. */
void
pxc_tracker_reply(struct pxc_tracker *t, const uint8_t *pkt, size_t len,
                  time_t now)
{
  struct pxc_bytes file;
  struct client *c;
  uint32_t i;

  if (!t || !pkt || len < BOOTP_HEADER_LEN || pkt[0] != BOOTP_REPLY)
    return;
  i = reply_client(t, ckey_of(pkt[offsetof(struct bootp_header, htype)],
                              pkt[offsetof(struct bootp_header, hlen)],
                              pkt + offsetof(struct bootp_header, chaddr)));
  if (i == NONE)
    return;
  c = &t->clients[i];
  if (c->count == 0 || !(c->meta[c->head] & META_SEEN(PXC_IPV4)) ||
      c->xid[PXC_IPV4] != be32_at(pkt + offsetof(struct bootp_header, xid)))
    return;
  if (c->meta[c->head] & META_XID_DONE) {
    /* the transaction's file is known: its OFFER named it, the ACK does
       again (a new xid, even in the same stage, is read afresh) */
    c->last_seen = (uint32_t)now;
    return;
  }
  if (!reply_boot_file(pkt, len, &file) || file.len == 0)
    return;
  c->file[c->head] = c->last_file =
      intern_file(&t->names, file, c->last_file);
  if (!gives_address(pkt))
    c->server = 0;
  else if (c->server - 1u >= SERVER_IDS) /* none yet, or struck */
    c->server = server_index(t, reply_server_id(pkt, len));
  c->meta[c->head] = (uint8_t)((c->meta[c->head] & ~META_HANDOUT6) |
                               META_HANDOUT | META_XID_DONE);
  c->last_seen = (uint32_t)now;
}

/* What a DHCPv6 reply says, as far as the tracker reads it. */
struct reply6 {
  struct pxc_bytes duid; /* option 1, the client's DUID */
  struct pxc_bytes url;  /* option 59 */
  bool failed;           /* a top-level status other than Success */
  bool address;          /* an IA_NA gives an address */
};

/* The server's message inside the RELAY-REPL wrappers of MSG (*LEN
   bytes; at most PXC_RELAY_MAX of them): their relay message (9).  MSG
   itself if it is no relay message; NULL if a wrapper is unreadable. */
static const uint8_t *
unwrap_reply6(const uint8_t *msg, size_t *len)
{
  for (unsigned depth = 0; *len > 0 && msg[0] == DHCP6_RELAY_REPL; depth++) {
    struct reader r;
    struct tlv6 opt;
    bool overrun;

    if (depth == PXC_RELAY_MAX || *len < DHCP6_RELAY_HEADER_LEN)
      return NULL;
    r = reader_of(msg + DHCP6_RELAY_HEADER_LEN, *len - DHCP6_RELAY_HEADER_LEN);
    do
      if (!tlv6_next(&r, &opt, &overrun))
        return NULL;
    while (opt.code != DHCP6_RELAY_MSG);
    msg = opt.data;
    *len = opt.len;
  }
  return msg;
}

/* True if a status code option (DATA, LEN bytes) says other than
   Success (a cut one is taken as a failure). */
static bool
status_failed(const uint8_t *data, size_t len)
{
  return len < 2 || be16_at(data) != 0;
}

/* True if the IA_NA DATA (LEN bytes) gives an address: an IAADDR with a
   valid lifetime, and no status but Success (dnsmasq 2.93 sends option
   59 in ADVERTISEs whose IA_NA says NoAddrsAvail; clients drop them). */
static bool
ia_na_gives_address(const uint8_t *data, size_t len)
{
  const size_t ia_header = 12, iaaddr_valid = 20; /* IAID, T1, T2 */
  struct reader r;
  struct tlv6 opt;
  bool overrun, address = false;

  if (len < ia_header)
    return false;
  r = reader_of(data + ia_header, len - ia_header);
  while (tlv6_next(&r, &opt, &overrun)) {
    if (opt.code == DHCP6_STATUS_CODE && status_failed(opt.data, opt.len))
      return false;
    if (opt.code == DHCP6_IAADDR && opt.len >= iaaddr_valid + 4 &&
        be32_at(opt.data + iaaddr_valid) != 0)
      address = true;
  }
  return address && !overrun;
}

/* Read the options of the server's message MSG (LEN ≥ 4 bytes) the
   tracker needs into OUT. */
static void
read_reply6(const uint8_t *msg, size_t len, struct reply6 *out)
{
  struct reader r = reader_of(msg + DHCP6_HEADER_LEN, len - DHCP6_HEADER_LEN);
  struct tlv6 opt;
  bool overrun;

  memset(out, 0, sizeof(*out));
  while (tlv6_next(&r, &opt, &overrun)) {
    if (opt.code == DHCP6_CLIENT_ID)
      out->duid = (struct pxc_bytes){opt.data, opt.len};
    else if (opt.code == DHCP6_BOOTFILE_URL)
      out->url = (struct pxc_bytes){opt.data, opt.len};
    else if (opt.code == DHCP6_STATUS_CODE)
      out->failed |= status_failed(opt.data, opt.len);
    else if (opt.code == DHCP6_IA_NA)
      out->address |= ia_na_gives_address(opt.data, opt.len);
  }
}

/* False if no pending DHCPv6 request has XID (true may be wrong): the
   reply to any other (EDK2's IP stack, a RELEASE) costs this test and
   nothing more. */
static inline bool
pending6_may_have_xid(const struct pxc_tracker *t, uint32_t xid)
{
  return t->pending6_xids[xid_bit(xid)] != 0;
}

/* The pending DHCPv6 request with XID whose DUID is DUID, if its client
   is still the one it was recorded for; NULL if none. */
static const struct pending6 *
pending6_find(const struct pxc_tracker *t, uint32_t xid, struct pxc_bytes duid)
{
  uint32_t hash = (uint32_t)pxc_hash(t->seed, duid.data, duid.len);

  for (unsigned n = 1; n <= PENDING6; n++) {
    const struct pending6 *p = &t->pending6[(t->pending6_next - n) % PENDING6];
    if (p->msg_type != 0 && p->xid == xid && p->duid_hash == hash)
      return t->clients[p->slot].list != LIST_FREE &&
                     key_is(t->clients[p->slot].key, stored_key(p->key))
                 ? p
                 : NULL;
  }
  return NULL;
}

/* A DHCPv6 reply to the newest stage that gives the client an address
   and names a bootfile-url is a hand-out; a DHCPv4 file of the same
   stage wins over it (iPXE boots that one, dhcpv6.md §5). */
void
pxc_tracker_reply6(struct pxc_tracker *t, const uint8_t *pkt, size_t len,
                   time_t now)
{
  const struct pending6 *p;
  struct reply6 reply;
  struct client *c;
  uint32_t xid;
  unsigned s;

  if (!t || !pkt)
    return;
  pkt = unwrap_reply6(pkt, &len);
  if (!pkt || len < DHCP6_HEADER_LEN ||
      (pkt[0] != DHCP6_ADVERTISE && pkt[0] != DHCP6_REPLY))
    return;
  xid = be32_at(pkt) & 0xffffff;
  if (!pending6_may_have_xid(t, xid))
    return;
  read_reply6(pkt, len, &reply);
  p = pending6_find(t, xid, reply.duid);
  if (!p)
    return;
  c = &t->clients[p->slot];
  s = c->head;
  if (c->count == 0 || !(c->meta[s] & META_SEEN(PXC_IPV6)) ||
      c->xid[PXC_IPV6] != xid)
    return;
  c->last_seen = (uint32_t)now;
  if (reply.failed || reply.url.len == 0 ||
      ((c->meta[s] & META_HANDOUT) && !(c->meta[s] & META_HANDOUT6)))
    return;
  if (!reply.address &&
      !(pkt[0] == DHCP6_REPLY && p->msg_type == DHCP6_INFORMATION_REQUEST))
    return;
  c->file[s] = c->last_file =
      reply.url.len <= sizeof(t->names.value[0])
          ? intern_file(&t->names, reply.url, c->last_file)
          : NAME_UNKNOWN; /* longer than a DHCPv4 file can be */
  c->meta[s] |= META_HANDOUT | META_HANDOUT6;
  c->server = 0; /* a DHCPv4 REQUEST names no DHCPv6 server */
}

/* ------------------------------------------------------------------ */
/* Life cycle and reporting                                            */

/* The tracker's random seeds: the DUID hashes' seed, key_bucket()'s
   words and odd multipliers.  From getrandom(); without it (no entropy yet
   this early in the boot), from the clock and the tracker's address run
   through the one hash. */
static void
random_seeds(struct pxc_tracker *t)
{
  uint64_t words[6];

  _Static_assert(sizeof(words) == sizeof(t->seed) + sizeof(t->key_seed) +
                                      sizeof(t->key_mul),
                 "a random word for each seed");
  if (getrandom(words, sizeof(words), GRND_NONBLOCK) != (ssize_t)sizeof(words)) {
    uint64_t h = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
      words[i] = h = pxc_hash_final(pxc_hash_word(h, i));
  }
  t->seed = words[0];
  t->key_seed[0] = words[1];
  t->key_seed[1] = words[2];
  for (size_t i = 0; i < sizeof(t->key_mul) / sizeof(t->key_mul[0]); i++)
    t->key_mul[i] = words[3 + i] | 1; /* odd: a multiply loses no bit */
}

struct pxc_tracker *
pxc_tracker_new(const struct pxc_config *cfg)
{
  struct pxc_guard_info info;
  struct pxc_tracker *t;
  uint32_t buckets = 1;
  unsigned shift = 64;

  if (!cfg || !cfg->finished || !pxc_config_tracker_info(cfg, &info)) {
    errno = EINVAL;
    return NULL;
  }
  t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  /* at least two, so the bucket's bits are a shift of less than 64 */
  while (buckets < info.capacity || buckets < 2) {
    buckets <<= 1;
    shift--;
  }
  t->clients = calloc(info.capacity, sizeof(*t->clients));
  t->buckets = calloc(buckets, sizeof(*t->buckets));
  if (!t->clients || !t->buckets) {
    pxc_tracker_free(t);
    errno = ENOMEM;
    return NULL;
  }
  t->capacity = info.capacity;
  t->bucket_shift = shift;
  t->window = info.window;
  t->max_hops = info.hops;
  t->last_recorded = NONE;
  /* the peers' ids count as ours: a REQUEST naming one strikes nothing */
  for (unsigned k = 0; k < cfg->peer_count; k++)
    t->server_ids[++t->server_id_count] = cfg->peer_ids[k];
  memset(t->buckets, 0xff, buckets * sizeof(*t->buckets));
  for (int l = 0; l < LIST_COUNT; l++)
    t->lists[l] = (struct lru){NONE, NONE, 0};
  for (uint32_t i = 0; i < t->capacity; i++)
    lru_push(t, i, LIST_FREE);
  random_seeds(t);
  return t;
}

void
pxc_tracker_free(struct pxc_tracker *t)
{
  if (!t)
    return;
  free(t->clients);
  free(t->buckets);
  free(t);
}

void
pxc_tracker_stats(const struct pxc_tracker *t, struct pxc_chain_stats *st)
{
  if (!st)
    return;
  memset(st, 0, sizeof(*st));
  if (!t)
    return;
  st->capacity = t->capacity;
  st->entry_bytes = sizeof(struct client) + sizeof(uint32_t);
  st->bytes = t->capacity * sizeof(struct client) +
              ((size_t)1 << (64 - t->bucket_shift)) * sizeof(uint32_t) +
              sizeof(*t);
  st->used = t->capacity - t->lists[LIST_FREE].len;
  st->mid_chain = t->lists[LIST_MID_CHAIN].len;
  st->evicted = t->evicted;
  st->untracked = t->untracked;
  st->trips = t->trips;
  st->window = t->window;
  st->max_hops = t->max_hops;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

/* "class/own@+Ns>file" for each stage of the client of REQ, oldest first. */
static void
format_stages(const struct pxc_tracker *t, const struct pxc_request *req,
              struct strbuf *sb)
{
  const struct client *c;
  uint32_t i;

  if (!has_key(req, family_of(req)))
    return;
  i = find_client(t, request_key(req, family_of(req)));
  if (i == NONE)
    return;
  c = &t->clients[i];
  for (unsigned n = c->count; n-- > 0;) {
    unsigned s = stage_back(c, n);
    unsigned own = META_OWN(c->meta[s]);
    if (n + 1 != c->count)
      strbuf_puts(sb, " ");
    strbuf_puts(sb, pxc_class_name((enum pxc_class)c->cls[s]));
    if (own != PXC_OWN_UNKNOWN) {
      strbuf_puts(sb, "/");
      strbuf_puts(sb, pxc_own_name((enum pxc_own)own));
    }
    strbuf_puts(sb, "@");
    strbuf_putu(sb, elapsed(c->start[oldest_stage(c)], c->start[s]));
    strbuf_puts(sb, "s");
    if ((c->meta[s] & META_HANDOUT) && c->file[s] == NAME_UNKNOWN)
      strbuf_puts(sb, ">?");
    else if ((c->meta[s] & META_HANDOUT) && c->file[s] == NAME_NONE)
      strbuf_puts(sb, ">(another server's)");
    else if (c->meta[s] & META_HANDOUT) {
      strbuf_puts(sb, ">");
      strbuf_puts(sb, t->names.text[c->file[s]]);
    }
  }
}

char *
pxc_format_chain(const struct pxc_tracker *trk, const struct pxc_verdict *v,
                 char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);

  if (trk && v && v->req)
    format_stages(trk, v->req, &sb);
  return buf;
}

char *
pxc_format_loop_warning(const struct pxc_config *cfg,
                        const struct pxc_tracker *trk,
                        const struct pxc_verdict *v, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);
  char mac[64];

  if (!trk || !v || !v->req || !v->chain.guard_tripped)
    return buf;
  /* the client's key: its MAC, or the UUID of a DHCPv6 one without */
  strbuf_puts(&sb, v->req->ip_family == PXC_IPV6 && v->req->hlen == 0
                       ? pxc_format_uuid(v->req, mac, sizeof(mac))
                       : pxc_format_mac(v->req, mac, sizeof(mac)));
  strbuf_puts(&sb, " made ");
  strbuf_putu(&sb, v->chain.hops);
  strbuf_puts(&sb, " hops within ");
  strbuf_putu(&sb, trk->window);
  strbuf_puts(&sb, "s (more than ");
  strbuf_putu(&sb, trk->max_hops);
  strbuf_puts(&sb, "), tag ");
  strbuf_puts(&sb, cfg && cfg->guard_tag ? cfg->guard_tag : "chain-loop");
  strbuf_puts(&sb, " set; chain: ");
  format_stages(trk, v->req, &sb);
  return buf;
}
