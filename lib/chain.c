/*
 * The chain tracker: per-client memory of the boot chain (firmware → iPXE
 * binary → script), so that a request can be judged by what came before
 * it.  QEMU's iPXE ROM and Debian's undionly.kpxe send byte-identical
 * requests; only "this client was just handed a chainload" tells them
 * apart, and only counting hops catches a chainload loop.
 *
 * Memory is one fixed table, allocated when the configuration is finished:
 * no allocation per request, O(1) work per request (a keyed hash lookup and
 * a scan of a client's eight stages).  Clients live on two LRU lists:
 * "idle" (no hop yet, or single requests such as a flood of random MACs)
 * and "mid-chain" (made a hop within the window).  Room is made by taking,
 * in this order, a mid-chain client whose window has passed, then the
 * least recently seen idle client; when every client is mid-chain and
 * fresh, the newcomer is not tracked rather than someone's chain broken.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "internal.h"

#define NONE UINT32_MAX

enum stage_flag {
  STAGE_HOP = 1,     /* began after a boot file was handed to the stage before */
  STAGE_HANDOUT = 2, /* the server handed this stage a boot file */
};

enum list_id { LIST_FREE, LIST_IDLE, LIST_MID_CHAIN, LIST_COUNT };

/* One program's DHCP transaction. 40 bytes. */
struct stage {
  uint64_t fingerprint;
  uint32_t start; /* first request, seconds since the tracker's epoch */
  uint32_t time;  /* latest request or hand-out */
  uint32_t xid;
  uint8_t fw_class;
  uint8_t own;
  uint8_t flags;
  char file[CHAIN_FILE_MAX]; /* last part of the boot file handed out */
};

/* One client (hardware type + address) and its recent stages. */
struct client {
  uint8_t key[CHAIN_KEY_LEN];
  uint8_t count; /* stages kept, ≤ CHAIN_STAGES */
  uint8_t head;  /* ring index of the newest stage */
  uint8_t list;
  uint32_t prev, next; /* LRU list links, most recent at the head */
  uint32_t hash_next;
  uint32_t last_seen;
  struct stage stages[CHAIN_STAGES];
};

struct lru {
  uint32_t head, tail;
  size_t len;
};

struct chain_tracker {
  struct client *clients;
  uint32_t capacity;
  uint32_t *buckets;
  uint32_t bucket_mask;
  struct lru lists[LIST_COUNT];
  uint64_t hash_key[2];
  time_t epoch;
  bool have_epoch;
  uint32_t window;
  unsigned max_hops;
  unsigned long evicted, untracked, trips;
};

/* ------------------------------------------------------------------ */
/* Lists and hashing                                                   */

static void
lru_remove(struct chain_tracker *t, uint32_t i)
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
static void
lru_push(struct chain_tracker *t, uint32_t i, enum list_id list)
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

static void
lru_move(struct chain_tracker *t, uint32_t i, enum list_id list)
{
  lru_remove(t, i);
  lru_push(t, i, list);
}

/*
 * Hash of a client key, mixed with a per-tracker random key so that a
 * flood of chosen MACs cannot be aimed at one bucket.
 */
static uint32_t
key_hash(const struct chain_tracker *t, const uint8_t *key)
{
  uint64_t h = t->hash_key[0];

  for (size_t i = 0; i < CHAIN_KEY_LEN; i++) {
    h ^= key[i];
    h *= 0x100000001b3ULL;
  }
  h ^= t->hash_key[1];
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (uint32_t)h & t->bucket_mask;
}

/* The client with KEY, or NONE. */
static uint32_t
find_client(const struct chain_tracker *t, const uint8_t *key)
{
  uint32_t i = t->buckets[key_hash(t, key)];

  while (i != NONE && memcmp(t->clients[i].key, key, CHAIN_KEY_LEN) != 0)
    i = t->clients[i].hash_next;
  return i;
}

static void
unhash_client(struct chain_tracker *t, uint32_t i)
{
  uint32_t *link = &t->buckets[key_hash(t, t->clients[i].key)];

  while (*link != i)
    link = &t->clients[*link].hash_next;
  *link = t->clients[i].hash_next;
}

/* Forget client I: back to the free list. */
static void
drop_client(struct chain_tracker *t, uint32_t i)
{
  unhash_client(t, i);
  lru_move(t, i, LIST_FREE);
}

/* Key of a client: hardware type, address length and address, as in the
   BOOTP header (PKT, at least BOOTP_HEADER_LEN bytes). */
static void
packet_key(const uint8_t *pkt, uint8_t *key)
{
  key[0] = pkt[1];
  key[1] = pkt[2];
  memcpy(key + 2, pkt + BOOTP_CHADDR_OFF, CHAIN_KEY_LEN - 2);
}

static void
request_key(const struct pxc_request *req, uint8_t *key)
{
  key[0] = req->htype;
  key[1] = req->hlen;
  memcpy(key + 2, req->chaddr, CHAIN_KEY_LEN - 2);
}

/* Seconds since the tracker's epoch; a clock going back reads as no time. */
static uint32_t
tracker_time(struct chain_tracker *t, time_t now)
{
  if (!t->have_epoch) {
    t->epoch = now;
    t->have_epoch = true;
  }
  if (now <= t->epoch)
    return 0;
  return (uint32_t)(now - t->epoch);
}

static bool
expired(const struct chain_tracker *t, uint32_t then, uint32_t now)
{
  return now - then > t->window;
}

/*
 * A free slot for a new client: a free one; else a mid-chain client whose
 * window has passed; else the least recently seen idle client.  NONE when
 * every client is in a fresh chain: those are never evicted for a newcomer.
 */
static uint32_t
make_room(struct chain_tracker *t, uint32_t now)
{
  uint32_t victim;

  if (t->lists[LIST_FREE].len > 0)
    return t->lists[LIST_FREE].tail;
  victim = t->lists[LIST_MID_CHAIN].tail;
  if (victim == NONE || !expired(t, t->clients[victim].last_seen, now))
    victim = t->lists[LIST_IDLE].tail;
  if (victim == NONE)
    return NONE;
  drop_client(t, victim);
  t->evicted++;
  return victim;
}

/* The client for KEY, created if needed; NONE if there is no room. */
static uint32_t
get_client(struct chain_tracker *t, const uint8_t *key, uint32_t now)
{
  uint32_t i = find_client(t, key), bucket;
  struct client *c;

  if (i != NONE)
    return i;
  i = make_room(t, now);
  if (i == NONE)
    return NONE;
  c = &t->clients[i];
  memcpy(c->key, key, CHAIN_KEY_LEN);
  c->count = 0;
  c->head = 0;
  bucket = key_hash(t, key);
  c->hash_next = t->buckets[bucket];
  t->buckets[bucket] = i;
  lru_move(t, i, LIST_IDLE);
  return i;
}

/* ------------------------------------------------------------------ */
/* Stages                                                              */

/* Stage N of client C, 0 being the newest. */
static struct stage *
stage_back(struct client *c, unsigned n)
{
  return &c->stages[(c->head + CHAIN_STAGES - n) % CHAIN_STAGES];
}

static struct stage *
oldest_stage(struct client *c)
{
  return stage_back(c, c->count - 1u);
}

/* True if REQ continues stage S: a retransmission, the REQUEST after the
   DISCOVER, a retry before any hand-out, or a PXE boot-server request
   (port 4011: PXE picks its boot file there even when the proxy offer
   already named one). */
static bool
same_stage(const struct stage *s, const struct pxc_request *req)
{
  return s->fw_class == req->fw_class && s->fingerprint == req->fingerprint &&
         (s->xid == req->xid || !(s->flags & STAGE_HANDOUT) ||
          req->has_boot_item);
}

/*
 * True if REQ means the machine rebooted: a boot firmware (not a loaded
 * program) asked again, or the chain's first program came back after
 * another one.
 */
static bool
is_reboot(struct client *c, const struct pxc_request *req)
{
  if (pxc_class_starts_chain(req->fw_class))
    return true;
  return c->count > 1 && oldest_stage(c)->fingerprint == req->fingerprint &&
         stage_back(c, 0)->fingerprint != req->fingerprint;
}

/* Hops of client C that began within the window ending at NOW. */
static unsigned
hops_in_window(const struct chain_tracker *t, struct client *c, uint32_t now)
{
  unsigned hops = 0;

  for (unsigned n = 0; n < c->count; n++) {
    const struct stage *s = stage_back(c, n);
    if (!expired(t, s->start, now) && (s->flags & STAGE_HOP))
      hops++;
  }
  return hops;
}

/*
 * True if stage S, one of ours, was handed a file no earlier stage of the
 * chain was handed: our iPXE got its answer (its script), so whatever asks
 * next begins a new chain — typically the machine rebooted, which QEMU's
 * iPXE ROM, byte-identical to Debian's undionly.kpxe, cannot otherwise
 * show.  A file handed out again is a loop going round, and counts on.
 */
static bool
chain_completed(struct client *c, const struct stage *s)
{
  if (!(s->flags & STAGE_HANDOUT) || s->own != PXC_OWN_OWN)
    return false;
  for (unsigned n = 1; n < c->count; n++) {
    const struct stage *older = stage_back(c, n);
    if ((older->flags & STAGE_HANDOUT) &&
        strncmp(older->file, s->file, sizeof(s->file)) == 0)
      return false;
  }
  return true;
}

/* True if stage S, not one of ours, was handed a boot file: the next
   program to ask is the one it was chainloaded into. */
static bool
handed_a_chainload(const struct stage *s)
{
  return (s->flags & STAGE_HANDOUT) && s->own != PXC_OWN_OWN;
}

/*
 * First half of recording REQ: find (or make) its client and work out how
 * the request relates to the chain so far.  Ownership may depend on the
 * answer (`chained`), so the stage is written by chain_commit() after.
 */
void
chain_begin(struct chain_tracker *t, const struct pxc_request *req, time_t now,
            struct chain_step *step, struct pxc_chain *out)
{
  uint8_t key[CHAIN_KEY_LEN];
  const struct stage *before = NULL; /* the stage this one follows */
  struct client *c;
  struct stage *last;

  memset(step, 0, sizeof(*step));
  step->now = tracker_time(t, now);
  step->client = NONE;
  request_key(req, key);

  if (req->fw_class == PXC_CLASS_NONE) {
    /* the installed OS: this machine's boot chain is over */
    uint32_t i = find_client(t, key);
    if (i != NONE)
      drop_client(t, i);
    return;
  }
  step->client = get_client(t, key, step->now);
  if (step->client == NONE) {
    t->untracked++;
    return;
  }
  out->tracked = true;
  c = &t->clients[step->client];
  if (c->count == 0) {
    step->restart = true;
    return;
  }
  last = stage_back(c, 0);
  if (expired(t, last->time, step->now)) {
    step->restart = true;
  } else if (same_stage(last, req)) {
    step->same_stage = true;
    if (c->count > 1 && (last->flags & STAGE_HOP))
      before = stage_back(c, 1);
  } else if (is_reboot(c, req)) {
    step->restart = true;
    out->rebooted = true;
  } else if (chain_completed(c, last)) {
    step->restart = true;
  } else {
    step->hop = (last->flags & STAGE_HANDOUT) != 0;
    before = last;
  }
  out->follows_chainload = before && handed_a_chainload(before);
}

/* Second half: record the request with its ownership, and judge hops. */
void
chain_commit(struct chain_tracker *t, const struct pxc_request *req,
             const struct chain_step *step, enum pxc_own own,
             struct pxc_chain *out)
{
  struct client *c;
  struct stage *s;

  if (step->client == NONE)
    return;
  c = &t->clients[step->client];
  if (step->restart)
    c->count = 0;
  if (step->same_stage) {
    s = stage_back(c, 0);
    s->xid = req->xid;
  } else {
    c->head = (uint8_t)((c->head + 1) % CHAIN_STAGES);
    if (c->count < CHAIN_STAGES)
      c->count++;
    s = stage_back(c, 0);
    s->fingerprint = req->fingerprint;
    s->xid = req->xid;
    s->fw_class = (uint8_t)req->fw_class;
    s->flags = step->hop ? STAGE_HOP : 0;
    s->start = step->now;
    out->new_stage = true;
  }
  s->time = step->now;
  s->own = (uint8_t)own;
  c->last_seen = step->now;

  out->restarted = step->restart;
  out->stages = c->count;
  out->hops = hops_in_window(t, c, step->now);
  out->looping = t->max_hops > 0 && out->hops > t->max_hops;
  out->guard_tripped = out->looping && out->new_stage;
  if (out->guard_tripped)
    t->trips++;
  lru_move(t, step->client, out->hops > 0 ? LIST_MID_CHAIN : LIST_IDLE);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/*
 * The boot file of a reply: option 67, else the file field unless it is
 * overloaded with options.  Its last path component goes into FILE (SIZE
 * bytes), made printable for logs.  False if the reply names no file.
 */
static bool
reply_boot_file(struct dhcp_index *ix, const uint8_t *pkt, char *file,
                size_t size)
{
  struct pxc_bytes opt;
  size_t start = 0, n;

  if (!dhcp_index_get(ix, DHCP_BOOTFILE, &opt)) {
    if (bit_test(ix->seen, DHCP_OVERLOAD))
      return false;
    opt.data = pkt + BOOTP_FILE_OFF;
    opt.len = strnlen((const char *)opt.data, BOOTP_FILE_LEN);
  }
  while (opt.len > 0 && opt.data[opt.len - 1] == '\0')
    opt.len--;
  if (opt.len == 0)
    return false;
  for (size_t i = 0; i + 1 < opt.len; i++)
    if (opt.data[i] == '/')
      start = i + 1;
  n = opt.len - start < size - 1 ? opt.len - start : size - 1;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = opt.data[start + i];
    file[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  file[n] = '\0';
  return true;
}

/* A reply to the current stage that names a boot file is a hand-out. */
void
chain_reply(struct chain_tracker *t, const uint8_t *pkt, size_t len,
            time_t now)
{
  static const uint8_t bootreply = 2;
  uint8_t scratch[PXC_SCRATCH_SIZE], key[CHAIN_KEY_LEN];
  struct dhcp_index ix;
  struct client *c;
  struct stage *s;
  uint32_t i, xid;

  if (len < BOOTP_HEADER_LEN || pkt[0] != bootreply)
    return;
  packet_key(pkt, key);
  i = find_client(t, key);
  if (i == NONE)
    return;
  c = &t->clients[i];
  s = stage_back(c, 0);
  xid = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 |
        (uint32_t)pkt[6] << 8 | pkt[7];
  if (c->count == 0 || s->xid != xid)
    return;
  dhcp_index_build(&ix, pkt, len, scratch, sizeof(scratch));
  if (!reply_boot_file(&ix, pkt, s->file, sizeof(s->file)))
    return;
  s->flags |= STAGE_HANDOUT;
  s->time = c->last_seen = tracker_time(t, now);
}

/* ------------------------------------------------------------------ */
/* Life cycle and reporting                                            */

struct chain_tracker *
chain_new(uint32_t capacity, uint32_t window, unsigned max_hops)
{
  struct chain_tracker *t = calloc(1, sizeof(*t));
  uint32_t buckets = 1;

  if (!t)
    return NULL;
  while (buckets < capacity)
    buckets <<= 1;
  t->clients = calloc(capacity, sizeof(*t->clients));
  t->buckets = malloc(buckets * sizeof(*t->buckets));
  if (!t->clients || !t->buckets) {
    chain_free(t);
    return NULL;
  }
  t->capacity = capacity;
  t->bucket_mask = buckets - 1;
  t->window = window;
  t->max_hops = max_hops;
  memset(t->buckets, 0xff, buckets * sizeof(*t->buckets));
  for (int l = 0; l < LIST_COUNT; l++)
    t->lists[l] = (struct lru){NONE, NONE, 0};
  for (uint32_t i = 0; i < capacity; i++) {
    t->clients[i].list = LIST_FREE;
    lru_push(t, i, LIST_FREE);
  }
  if (getrandom(t->hash_key, sizeof(t->hash_key), GRND_NONBLOCK) !=
      (ssize_t)sizeof(t->hash_key))
    t->hash_key[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
  return t;
}

void
chain_free(struct chain_tracker *t)
{
  if (!t)
    return;
  free(t->clients);
  free(t->buckets);
  free(t);
}

void
chain_stats(const struct chain_tracker *t, struct pxc_chain_stats *st)
{
  memset(st, 0, sizeof(*st));
  st->capacity = t->capacity;
  st->entry_bytes = sizeof(struct client) + sizeof(uint32_t);
  st->bytes = t->capacity * sizeof(struct client) +
              (t->bucket_mask + 1u) * sizeof(uint32_t) + sizeof(*t);
  st->used = t->capacity - t->lists[LIST_FREE].len;
  st->mid_chain = t->lists[LIST_MID_CHAIN].len;
  st->evicted = t->evicted;
  st->untracked = t->untracked;
  st->trips = t->trips;
  st->window = t->window;
  st->max_hops = t->max_hops;
}

/* "class/own@+Ns>file" for each stage of the client of REQ, oldest first. */
void
chain_format(const struct chain_tracker *t, const struct pxc_request *req,
             struct strbuf *sb)
{
  uint8_t key[CHAIN_KEY_LEN];
  uint32_t i;
  struct client *c;

  request_key(req, key);
  i = find_client(t, key);
  if (i == NONE)
    return;
  c = &t->clients[i];
  for (unsigned n = c->count; n-- > 0;) {
    const struct stage *s = stage_back(c, n);
    strbuf_printf(sb, "%s%s", n + 1 == c->count ? "" : " ",
                  pxc_class_name((enum pxc_class)s->fw_class));
    if (s->own != PXC_OWN_UNKNOWN)
      strbuf_printf(sb, "/%s", pxc_own_name((enum pxc_own)s->own));
    strbuf_printf(sb, "@%us", s->start - oldest_stage(c)->start);
    if (s->flags & STAGE_HANDOUT)
      strbuf_printf(sb, ">%s", s->file);
  }
}
