/*
 * Unit tests of the chain tracker (lib/tracker.c) with a simulated clock:
 * the real loop capture trips the guard at the configured hop, QEMU's ROM
 * and the undionly.kpxe it chainloads are told apart by `chained`, reboots
 * and expired windows restart a chain, retransmissions are no hop, a
 * reply's boot file is found where dnsmasq puts it (option 52), judging
 * writes nothing, and a full table or a flood of random MACs never breaks
 * a client's chain, in at most 160 bytes per client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "pxeclass.h"
#include "suites.h"
#include "wire.h"

#define MAX_PACKETS 64

static const uint8_t arch0[2] = {0, 0}, arch7[2] = {0, 7};

/* A finished config and the tracker made from it. */
struct world {
  struct pxc_config *cfg;
  struct pxc_tracker *trk;
};

/* The world of LINES; the test fails if the config needs no tracker. */
static struct world
world_of(const char *const *lines)
{
  struct world w = {config_of(lines), NULL};

  w.trk = pxc_tracker_new(w.cfg);
  ck_assert_ptr_nonnull(w.trk);
  return w;
}

static void
world_free(struct world *w)
{
  pxc_tracker_free(w->trk);
  pxc_config_free(w->cfg);
}

/* What a server does with a request: judge it, then record it. */
static void
judge(struct world *w, const struct pxc_request *req, time_t now,
      struct pxc_verdict *v)
{
  pxc_evaluate(w->cfg, w->trk, req, now, v);
  pxc_tracker_record(w->trk, v);
}

static struct pxc_chain_stats
stats(const struct world *w)
{
  struct pxc_chain_stats st;

  pxc_tracker_stats(w->trk, &st);
  return st;
}

/* The verdicts of each request of capture NAME, replayed with its replies
   through W in time order.  Returns the number of requests. */
static size_t
replay_capture(struct world *w, const char *name, struct pxc_verdict *out,
               size_t max)
{
  static struct loaded pkts[MAX_PACKETS];
  static struct pxc_request reqs[MAX_PACKETS];
  size_t n = load_capture(name, pkts, MAX_PACKETS), k = 0;

  for (size_t i = 0; i < n; i++) {
    if (!pkts[i].request) {
      pxc_tracker_reply(w->trk, pkts[i].data, pkts[i].len, pkts[i].time.tv_sec);
      continue;
    }
    ck_assert_uint_lt(k, max);
    pxc_classify(w->cfg, pkts[i].data, pkts[i].len, &reqs[k]);
    judge(w, &reqs[k], pkts[i].time.tv_sec, &out[k]);
    k++;
  }
  free_loaded(pkts, n);
  return k;
}

/* True if rule TAG is set for V. */
static bool
tagged(const struct pxc_config *cfg, const struct pxc_verdict *v,
       const char *tag)
{
  for (size_t i = 0; i < pxc_rule_count(cfg); i++)
    if (strcmp(pxc_rule_tag(cfg, i), tag) == 0 && pxc_rule_matches(cfg, i, v))
      return true;
  return false;
}

/* ------------------------------------------------------------------ */
/* Crafted clients                                                     */

struct client {
  uint8_t mac[6];
  uint32_t xid;
  struct builder b;
  struct pxc_request req;
};

/* A request of the kind KIND from client C: "rom" (QEMU's iPXE ROM),
   "pxe" (EDK2 PXE), "vbox" (VirtualBox's iPXE), "own" (a CSTM build),
   "os" (an ordinary client). */
static struct pxc_request *
request(struct world *w, struct client *c, const char *kind, uint8_t msg)
{
  static const uint8_t rom175[] = {0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00,
                                   0xeb, 3, 1, 0, 0, 0x13, 1, 1, 0x15, 1, 1};
  static const uint8_t vbox175[] = {0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e,
                                    0xeb, 3, 1, 21, 1, 0x15, 1, 1};

  builder_request(&c->b, c->mac, c->xid, msg);
  if (strcmp(kind, "os") == 0) {
    builder_string(&c->b, 60, "MSFT 5.0");
  } else if (strcmp(kind, "pxe") == 0) {
    builder_string(&c->b, 60, "PXEClient:Arch:00007:UNDI:003000");
    builder_option(&c->b, 93, arch7, 2);
  } else {
    builder_string(&c->b, 60, "PXEClient:Arch:00000:UNDI:002001");
    builder_option(&c->b, 93, arch0, 2);
    builder_string(&c->b, 77, strcmp(kind, "own") == 0 ? "CSTM" : "iPXE");
    if (strcmp(kind, "vbox") == 0)
      builder_option(&c->b, 175, vbox175, sizeof(vbox175));
    else
      builder_option(&c->b, 175, rom175, sizeof(rom175));
  }
  builder_end(&c->b);
  pxc_classify(w->cfg, c->b.buf, c->b.len, &c->req);
  return &c->req;
}

/* The server's reply (an ACK) to C's current transaction, without END. */
static void
reply_to(struct builder *r, const struct client *c)
{
  static const uint8_t ack = 5;

  builder_request(r, c->mac, c->xid, 0);
  r->buf[0] = 2; /* BOOTREPLY */
  builder_option(r, 53, &ack, 1);
}

/* The server's reply to C's current transaction, handing out FILE. */
static void
hand_out(struct world *w, struct client *c, const char *file, time_t now)
{
  struct builder r;

  reply_to(&r, c);
  builder_string(&r, 67, file);
  builder_end(&r);
  pxc_tracker_reply(w->trk, r.buf, r.len, now);
}

/* One whole stage: DISCOVER, hand-out, REQUEST, hand-out, with a new
   xid.  Returns the verdict on the DISCOVER, which began the stage. */
static struct pxc_verdict
stage(struct world *w, struct client *c, const char *kind, const char *file,
      time_t now)
{
  struct pxc_verdict v, again;

  c->xid++;
  judge(w, request(w, c, kind, 1), now, &v);
  if (file)
    hand_out(w, c, file, now);
  judge(w, request(w, c, kind, 3), now + 1, &again);
  ck_assert_int_eq(again.own, v.own); /* one stage, one verdict */
  ck_assert(!again.chain.new_stage);
  if (file)
    hand_out(w, c, file, now + 1);
  return v;
}

/* ------------------------------------------------------------------ */

/* e3: the ROM is handed undionly.kpxe, which is handed undionly.kpxe … */
START_TEST(loop_capture_trips_guard)
{
  const char *lines[] = {"dhcp-chain-guard=3,60", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  size_t n = replay_capture(&w, "e3-loop-fast-seabios-virtio", v, MAX_PACKETS);
  struct pxc_chain_stats st;

  ck_assert_uint_eq(n, 18); /* six stages of DISCOVER, DISCOVER, REQUEST */
  for (size_t i = 0; i < n; i++) {
    unsigned stage_no = (unsigned)i / 3;
    ck_assert_uint_eq(v[i].chain.hops, stage_no);
    ck_assert(v[i].chain.new_stage == (i % 3 == 0));
    ck_assert_msg(v[i].chain.looping == (stage_no > 3), "request %zu", i);
    ck_assert(tagged(w.cfg, &v[i], "chain-loop") == (stage_no > 3));
    ck_assert(v[i].chain.guard_tripped == (i == 12 || i == 15));
  }
  st = stats(&w);
  ck_assert_uint_eq(st.trips, 2);
  ck_assert_uint_eq(st.used, 1);
  world_free(&w);
}
END_TEST

/* The same requests under `chained`: the ROM is vendor, the undionly.kpxe
   it was handed is own, and the undionly.kpxe that one was handed is not
   (it follows a hand-out to our own build, not a chainload). */
START_TEST(loop_capture_chained_ownership)
{
  const char *lines[] = {"dhcp-ipxe-own=chained",
                         "dhcp-pxe-class=set:own,ipxe-own", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  size_t n = replay_capture(&w, "e3-loop-fast-seabios-virtio", v, MAX_PACKETS);

  for (size_t i = 0; i < n; i++) {
    enum pxc_own want = (i / 3) % 2 ? PXC_OWN_OWN : PXC_OWN_VENDOR;
    ck_assert_msg(v[i].own == want, "request %zu: %s", i, pxc_own_name(v[i].own));
    ck_assert(v[i].chain.follows_chainload == (want == PXC_OWN_OWN));
    ck_assert(!v[i].chain.looping); /* no guard configured */
  }
  world_free(&w);
}
END_TEST

/* EDK2 PXE hands over to ipxe.efi: that iPXE follows a chainload. */
START_TEST(ovmf_capture_chained)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  size_t n = replay_capture(&w, "c2-ovmf-virtio-norom", v, MAX_PACKETS);
  char text[256];

  ck_assert_uint_eq(n, 5);
  ck_assert_int_eq(v[0].own, PXC_OWN_UNKNOWN); /* EDK2 is not iPXE */
  for (size_t i = 2; i < n; i++) {
    ck_assert_int_eq(v[i].own, PXC_OWN_OWN);
    ck_assert_uint_eq(v[i].chain.hops, 1);
  }
  ck_assert_str_eq(pxc_format_chain(w.trk, &v[4], text, sizeof(text)),
                   "pxe@0s>ipxe.efi ipxe/own@10s>boot.ipxe");
  world_free(&w);
}
END_TEST

/* proxyDHCP: the boot-server request to port 4011 (xid 0, short vendor
   class) belongs to the stage of the DISCOVER before it. */
START_TEST(proxy_capture_one_stage)
{
  const char *lines[] = {"dhcp-chain-guard=2,60", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  size_t n = replay_capture(&w, "f2a-proxy-seabios-virtio", v, MAX_PACKETS);

  ck_assert_uint_eq(n, 4);
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_eq(v[i].chain.stages, 1);
    ck_assert_uint_eq(v[i].chain.hops, 0);
  }
  world_free(&w);
}
END_TEST

/* QEMU: ROM (vendor) → undionly.kpxe (own) → script; the machine reboots:
   the ROM is vendor again, though its requests are byte-identical. */
START_TEST(qemu_rom_then_undionly_then_reboot)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {0x52, 0x54, 0, 0x77, 0, 1}};
  struct pxc_verdict v;

  v = stage(&w, &c, "rom", "undionly.kpxe", 100);
  ck_assert_int_eq(v.own, PXC_OWN_VENDOR);
  v = stage(&w, &c, "rom", "boot.ipxe", 106);
  ck_assert_int_eq(v.own, PXC_OWN_OWN);
  ck_assert_uint_eq(v.chain.hops, 1);
  v = stage(&w, &c, "rom", "undionly.kpxe", 130); /* reboot, within window */
  ck_assert_int_eq(v.own, PXC_OWN_VENDOR);
  ck_assert(v.chain.restarted); /* our iPXE had got its script */
  ck_assert_uint_eq(v.chain.hops, 0);
  v = stage(&w, &c, "rom", "boot.ipxe", 136);
  ck_assert_int_eq(v.own, PXC_OWN_OWN);
  ck_assert_uint_eq(v.chain.hops, 1);
  /* after the window, a new chain starts whatever came before */
  v = stage(&w, &c, "rom", NULL, 500);
  ck_assert_int_eq(v.own, PXC_OWN_VENDOR);
  ck_assert(v.chain.restarted);
  ck_assert_uint_eq(v.chain.hops, 0);
  world_free(&w);
}
END_TEST

/* A reply goes to its own client, whoever's request was recorded last
   (the tracker tries that one first): A's hand-out reaches A, not B. */
START_TEST(reply_to_a_client_not_recorded_last)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", NULL};
  struct world w = world_of(lines);
  struct client a = {.mac = {0x52, 0x54, 0, 0x77, 0, 10}};
  struct client b = {.mac = {0x52, 0x54, 0, 0x77, 0, 11}};
  struct pxc_verdict v;

  a.xid = 100;
  b.xid = 100; /* the same xid: only the MAC tells them apart */
  judge(&w, request(&w, &a, "rom", 1), 100, &v);
  judge(&w, request(&w, &b, "rom", 1), 100, &v);
  hand_out(&w, &a, "undionly.kpxe", 100);
  a.xid++;
  judge(&w, request(&w, &a, "rom", 1), 106, &v);
  ck_assert_int_eq(v.own, PXC_OWN_OWN);
  ck_assert_uint_eq(v.chain.hops, 1);
  b.xid++;
  judge(&w, request(&w, &b, "rom", 1), 106, &v);
  ck_assert_int_eq(v.own, PXC_OWN_VENDOR); /* B was handed nothing */
  ck_assert_uint_eq(v.chain.hops, 0);
  world_free(&w);
}
END_TEST

/* QEMU rebooting again and again within the window: each boot is vendor
   ROM → undionly.kpxe → script, a complete chain, so the guard never
   trips; the same ROM handed undionly.kpxe by its own stage too (the
   loop) is counted on. */
START_TEST(quick_reboots_are_no_loop)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", "dhcp-chain-guard=3,60",
                         NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {0x52, 0x54, 0, 0x77, 0, 2}};
  struct pxc_verdict v;

  for (int boot = 0; boot < 5; boot++) {
    v = stage(&w, &c, "rom", "undionly.kpxe", 10 * boot);
    ck_assert_int_eq(v.own, PXC_OWN_VENDOR);
    ck_assert_uint_eq(v.chain.hops, 0);
    v = stage(&w, &c, "rom", "boot.ipxe", 10 * boot + 4);
    ck_assert_int_eq(v.own, PXC_OWN_OWN);
    ck_assert_uint_eq(v.chain.hops, 1);
    ck_assert(!v.chain.looping);
  }
  for (int hop = 0; hop < 5; hop++) /* now undionly.kpxe for ever */
    v = stage(&w, &c, "rom", "undionly.kpxe", 100 + 5 * hop);
  ck_assert_uint_eq(v.chain.hops, 4);
  ck_assert(v.chain.looping);
  world_free(&w);
}
END_TEST

/* A firmware request, or the chain's first program coming back, is a
   reboot: the hop count starts again. */
START_TEST(reboot_resets_hops)
{
  const char *lines[] = {"dhcp-chain-guard=2,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 9}};
  struct pxc_verdict v;

  stage(&w, &c, "pxe", "ipxe.efi", 0);
  v = stage(&w, &c, "own", "boot.ipxe", 10);
  ck_assert_uint_eq(v.chain.hops, 1);
  v = stage(&w, &c, "pxe", "ipxe.efi", 20);
  ck_assert(v.chain.rebooted);
  ck_assert_uint_eq(v.chain.hops, 0);
  ck_assert_uint_eq(v.chain.stages, 1);

  /* VirtualBox: its ROM, then our build, then its ROM again */
  stage(&w, &c, "vbox", "undionly.kpxe", 100);
  v = stage(&w, &c, "own", "boot.ipxe", 105);
  ck_assert_uint_eq(v.chain.hops, 1);
  v = stage(&w, &c, "vbox", "undionly.kpxe", 110);
  ck_assert(v.chain.rebooted);
  ck_assert_uint_eq(v.chain.hops, 0);
  world_free(&w);
}
END_TEST

/* Retransmissions and retries before any hand-out stay in one stage; a
   new transaction after a hand-out is a hop. */
START_TEST(retransmissions_are_no_hop)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 10}, .xid = 7};
  struct pxc_verdict v;

  for (int i = 0; i < 5; i++) {
    judge(&w, request(&w, &c, "rom", 1), 10 + i, &v);
    ck_assert_uint_eq(v.chain.stages, 1);
  }
  c.xid++; /* a retry with a new xid, nothing handed out yet */
  judge(&w, request(&w, &c, "rom", 1), 16, &v);
  ck_assert_uint_eq(v.chain.stages, 1);
  ck_assert_uint_eq(v.chain.hops, 0);
  hand_out(&w, &c, "undionly.kpxe", 16);
  judge(&w, request(&w, &c, "rom", 3), 17, &v);
  ck_assert_uint_eq(v.chain.hops, 0);
  c.xid++;
  judge(&w, request(&w, &c, "rom", 1), 20, &v);
  ck_assert(v.chain.new_stage);
  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(!v.chain.looping);
  world_free(&w);
}
END_TEST

/* proxyDHCP that names the boot file in its offer: iPXE still asks the
   boot server on port 4011 (xid 0, option 43 boot item): the same stage. */
START_TEST(boot_server_request_after_proxy_offer_with_file)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 14}, .xid = 5};
  static const uint8_t item[] = {71, 4, 0x80, 0x02, 0, 0, 255};
  struct pxc_verdict v;
  char text[128];

  judge(&w, request(&w, &c, "rom", 1), 10, &v);
  hand_out(&w, &c, "boot.ipxe", 10); /* the proxy offer */
  c.xid = 0;
  request(&w, &c, "rom", 3);
  c.b.len--; /* drop the END and append option 43 */
  builder_option(&c.b, 43, item, sizeof(item));
  builder_end(&c.b);
  pxc_classify(w.cfg, c.b.buf, c.b.len, &c.req);
  ck_assert(c.req.has_boot_item);
  ck_assert_uint_eq(c.req.boot_item_type, 0x8002);
  judge(&w, &c.req, 12, &v);
  ck_assert(!v.chain.new_stage);
  ck_assert_uint_eq(v.chain.hops, 0);
  /* the boot server's ACK (a transaction of its own) names the file the
     client boots: it replaces the offer's */
  hand_out(&w, &c, "undionly.kpxe", 12);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)),
                   "ipxe@0s>undionly.kpxe");
  world_free(&w);
}
END_TEST

/* One transaction, one file: the replies after the first hand-out to an
   xid (the ACK after the OFFER, a retransmitted OFFER) are not read
   again, only their time counts. */
START_TEST(one_file_per_transaction)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 15}, .xid = 5};
  struct pxc_verdict v;
  char text[128];

  judge(&w, request(&w, &c, "rom", 1), 10, &v);
  hand_out(&w, &c, "first.efi", 10);
  judge(&w, request(&w, &c, "rom", 3), 11, &v);
  hand_out(&w, &c, "second.efi", 70); /* a late ACK */
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)),
                   "ipxe@0s>first.efi");
  /* the ACK kept the client's time: 55 s after it the chain goes on,
     though 115 s have passed since the last request */
  c.xid++;
  judge(&w, request(&w, &c, "rom", 1), 125, &v);
  ck_assert(!v.chain.restarted);
  ck_assert(v.chain.new_stage);
  ck_assert_uint_eq(v.chain.hops, 1);
  world_free(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rival servers and relays: the hand-out is what the client took      */

static const uint8_t our_id[4] = {10, 0, 0, 1}, rival_id[4] = {10, 0, 0, 99},
                     lent[4] = {10, 0, 0, 50};

/* Our reply to C's current transaction handing out FILE, with our server
   id: an address offer (ADDRESS) or a proxy offer (no yiaddr).  GIADDR,
   if not NULL, is the relay it goes to. */
static void
offer(struct world *w, struct client *c, const char *file, bool address,
      const uint8_t *giaddr, time_t now)
{
  struct builder r;

  reply_to(&r, c);
  if (address)
    memcpy(r.buf + offsetof(struct bootp_header, yiaddr), lent, 4);
  if (giaddr)
    memcpy(r.buf + offsetof(struct bootp_header, giaddr), giaddr, 4);
  builder_option(&r, 54, our_id, 4);
  builder_string(&r, 67, file);
  builder_end(&r);
  pxc_tracker_reply(w->trk, r.buf, r.len, now);
}

/* C's REQUEST of kind KIND naming server ID (option 54, LEN bytes). */
static struct pxc_request *
request_naming(struct world *w, struct client *c, const char *kind,
               const uint8_t *id, size_t len)
{
  request(w, c, kind, 3);
  c->b.len--; /* drop the END and append option 54 */
  builder_option(&c->b, 54, id, len);
  builder_end(&c->b);
  pxc_classify(w->cfg, c->b.buf, c->b.len, &c->req);
  return &c->req;
}

/* EDK2 PXE is offered ipxe.efi by us; a plain server answers too, and
   the client REQUESTs that server's address.  The verdict on iPXE, next,
   with the REQUEST naming SERVER (LEN bytes). */
static struct pxc_verdict
rival_then_ipxe(struct world *w, struct client *c, bool address,
                const uint8_t *server, size_t len)
{
  struct pxc_verdict v;

  judge(w, request(w, c, "pxe", 1), 10, &v);
  offer(w, c, "ipxe.efi", address, NULL, 10);
  judge(w, request_naming(w, c, "pxe", server, len), 11, &v);
  ck_assert(!v.chain.new_stage);
  c->xid++;
  judge(w, request(w, c, "rom", 1), 14, &v);
  ck_assert(v.chain.new_stage);
  return v;
}

/* The firmware took the rival's offer: our file is struck.  The same
   program asking again is a retry (the rival's offer gave it nothing to
   boot), not a hop after our file; another program asking next booted
   the rival's file: a hop, chained, after "another server's" hand-out. */
START_TEST(request_naming_a_rival_strikes_our_file)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 30}, .xid = 5};
  struct pxc_verdict v = rival_then_ipxe(&w, &c, true, rival_id, 4);
  struct client d = {.mac = {2, 0, 0, 0, 0, 37}, .xid = 5};
  char text[128];

  ck_assert_uint_eq(c.req.server_id, 0);
  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)),
                   "pxe@0s>(another server's) ipxe@4s");
  /* the firmware retries after taking the rival's fileless offer */
  judge(&w, request(&w, &d, "pxe", 1), 10, &v);
  offer(&w, &d, "ipxe.efi", true, NULL, 10);
  judge(&w, request_naming(&w, &d, "pxe", rival_id, 4), 11, &v);
  d.xid++;
  judge(&w, request(&w, &d, "pxe", 1), 16, &v);
  ck_assert(!v.chain.new_stage);
  ck_assert_uint_eq(v.chain.hops, 0);
  /* ...and this time takes our offer: ours again */
  offer(&w, &d, "ipxe.efi", true, NULL, 16);
  judge(&w, request_naming(&w, &d, "pxe", our_id, 4), 17, &v);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)),
                   "pxe@0s>ipxe.efi");
  world_free(&w);
}
END_TEST

/* ...and the same REQUEST naming us, or a server id that is no address
   (no option 54 read), keeps the hand-out. */
START_TEST(request_naming_us_keeps_handout)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 31}, .xid = 5};
  struct client d = {.mac = {2, 0, 0, 0, 0, 32}, .xid = 5};
  struct pxc_verdict v = rival_then_ipxe(&w, &c, true, our_id, 4);

  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  v = rival_then_ipxe(&w, &d, true, rival_id, 3);
  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  world_free(&w);
}
END_TEST

/* Two instances of one config (dhcp-chain-peer names the other): the
   client taking the peer's offer took the same file, so ours stands and
   the next program is chained whichever instance answers it.  A bad
   peer address is refused. */
START_TEST(request_naming_a_peer_keeps_handout)
{
  const char *lines[] = {"dhcp-chain-guard=1,60",
                         "dhcp-chain-peer=10.0.0.7,10.0.0.99", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 38}, .xid = 5};
  struct pxc_verdict v = rival_then_ipxe(&w, &c, true, rival_id, 4);
  struct pxc_config *bad = pxc_config_new();
  char text[128];

  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)),
                   "pxe@0s>ipxe.efi ipxe@4s");
  ck_assert_int_lt(pxc_config_add(bad, "dhcp-chain-peer", "10.0.0.300", text,
                                  sizeof(text)),
                   0);
  ck_assert_ptr_nonnull(strstr(text, "10.0.0.300"));
  pxc_config_free(bad);
  world_free(&w);
}
END_TEST

/* A proxy offer gives no address: the client always REQUESTs the DHCP
   server's and boots our file, so naming that server strikes nothing. */
START_TEST(proxy_offer_taken_with_another_servers_address)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 33}, .xid = 5};
  struct pxc_verdict v = rival_then_ipxe(&w, &c, false, rival_id, 4);

  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  world_free(&w);
}
END_TEST

/* The ROM offered undionly.kpxe again and again, each time taking a
   rival's plain offer and asking again: retries, no loop.  A REQUEST's
   option 54 reads as the server it names. */
START_TEST(rival_taken_every_stage_is_no_loop)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 34}, .xid = 5};
  struct pxc_verdict v;

  for (int i = 0; i < 4; i++) {
    c.xid++;
    judge(&w, request(&w, &c, "rom", 1), 10 + 5 * i, &v);
    ck_assert_uint_eq(v.chain.hops, 0);
    ck_assert(!v.chain.looping);
    offer(&w, &c, "undionly.kpxe", true, NULL, 10 + 5 * i);
    judge(&w, request_naming(&w, &c, "rom", rival_id, 4), 11 + 5 * i, &v);
    ck_assert_uint_eq(c.req.server_id, 0x0a000063);
  }
  ck_assert_uint_eq(stats(&w).trips, 0);
  world_free(&w);
}
END_TEST

/* A relayed client is keyed by htype/chaddr, never by the relay's giaddr:
   the ROM asks directly, its chainloaded iPXE through a relay (another
   giaddr, hops counted by the relay) and is the same chain; two clients
   behind one relay are two chains; a reply sent to the relay is a
   hand-out. */
START_TEST(relayed_requests_keyed_by_chaddr)
{
  static const uint8_t relay1[4] = {10, 0, 1, 1}, relay2[4] = {10, 0, 2, 1};
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 35}, .xid = 5};
  struct client d = {.mac = {2, 0, 0, 0, 0, 36}, .xid = 5};
  struct pxc_verdict v;
  const size_t giaddr = offsetof(struct bootp_header, giaddr),
               hops = offsetof(struct bootp_header, hops);

  judge(&w, request(&w, &c, "pxe", 1), 10, &v);
  offer(&w, &c, "ipxe.efi", true, NULL, 10);
  c.xid++;
  request(&w, &c, "rom", 1);
  memcpy(c.b.buf + giaddr, relay1, 4);
  c.b.buf[hops] = 1;
  pxc_classify(w.cfg, c.b.buf, c.b.len, &c.req);
  judge(&w, &c.req, 12, &v);
  ck_assert(v.chain.new_stage);
  ck_assert_uint_eq(v.chain.hops, 1);
  ck_assert(v.chain.follows_chainload);
  offer(&w, &c, "boot.ipxe", true, relay1, 12);
  /* another client behind the same relay: a chain of its own */
  request(&w, &d, "rom", 1);
  memcpy(d.b.buf + giaddr, relay1, 4);
  pxc_classify(w.cfg, d.b.buf, d.b.len, &d.req);
  judge(&w, &d.req, 13, &v);
  ck_assert(v.chain.restarted);
  ck_assert_uint_eq(v.chain.stages, 1);
  /* the first client again, through another relay: its third stage,
     after the hand-out the relayed reply carried */
  c.xid++;
  request(&w, &c, "vbox", 1);
  memcpy(c.b.buf + giaddr, relay2, 4);
  pxc_classify(w.cfg, c.b.buf, c.b.len, &c.req);
  judge(&w, &c.req, 14, &v);
  ck_assert_uint_eq(v.chain.stages, 3);
  ck_assert_uint_eq(v.chain.hops, 2);
  ck_assert(v.chain.looping);
  world_free(&w);
}
END_TEST

/* A reply to another transaction, or naming no file, is no hand-out. */
START_TEST(replies_must_match)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 11}, .xid = 7};
  struct pxc_verdict v;

  judge(&w, request(&w, &c, "rom", 1), 10, &v);
  c.xid = 99;
  hand_out(&w, &c, "undionly.kpxe", 10); /* someone else's xid */
  c.xid = 7;
  hand_out(&w, &c, "", 10);
  c.xid = 8;
  judge(&w, request(&w, &c, "rom", 1), 12, &v);
  ck_assert_uint_eq(v.chain.stages, 1);
  world_free(&w);
}
END_TEST

/* The boot file of a reply is found where dnsmasq puts it: option 67, or
   the file field, which option 52 = 2 (only sname holds options, what
   dnsmasq sends when a large PXE menu needs room) leaves to the boot file;
   52 = 1 or 3 makes file hold options, 67 among them maybe. */
START_TEST(reply_boot_file_and_option_52)
{
  static const struct {
    uint8_t overload;          /* option 52, 0: none */
    const char *file_field;    /* the file field as text, or NULL */
    const uint8_t *file_opts;  /* or options in it */
    const uint8_t *sname_opts; /* options in sname */
    const char *want;          /* the hand-out, NULL: none */
  } cases[] = {
      {0, "pxelinux.0", NULL, NULL, "pxelinux.0"},
      {2, "menu/undionly.kpxe", NULL, (const uint8_t *)"\x42\x01x\xff",
       "undionly.kpxe"},
      {1, NULL, (const uint8_t *)"\x43\x08ipxe.efi\xff", NULL, "ipxe.efi"},
      {1, NULL, (const uint8_t *)"\x42\x01x\xff", NULL, NULL},
      {3, NULL, (const uint8_t *)"\x42\x01x\xff",
       (const uint8_t *)"\x43\x09" "boot.ipxe\xff", "boot.ipxe"},
  };
  const char *lines[] = {"dhcp-chain-guard=3,60", NULL};

  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    struct world w = world_of(lines);
    struct client c = {.mac = {2, 0, 0, 0, 1, (uint8_t)k}, .xid = 40};
    struct pxc_verdict v;
    struct builder r;
    char text[128], want[128];

    judge(&w, request(&w, &c, "rom", 1), 10, &v);
    reply_to(&r, &c);
    if (cases[k].overload)
      builder_option(&r, 52, &cases[k].overload, 1);
    builder_end(&r);
    if (cases[k].file_field)
      strcpy((char *)r.buf + 108, cases[k].file_field);
    if (cases[k].file_opts)
      memcpy(r.buf + 108, cases[k].file_opts,
             strlen((const char *)cases[k].file_opts));
    if (cases[k].sname_opts)
      memcpy(r.buf + 44, cases[k].sname_opts,
             strlen((const char *)cases[k].sname_opts));
    pxc_tracker_reply(w.trk, r.buf, r.len, 10);
    snprintf(want, sizeof(want), "ipxe@0s%s%s", cases[k].want ? ">" : "",
             cases[k].want ? cases[k].want : "");
    ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)), want);
    c.xid++; /* the program it was handed asks: a hop if it was handed one */
    judge(&w, request(&w, &c, "rom", 1), 12, &v);
    ck_assert_uint_eq(v.chain.hops, cases[k].want ? 1 : 0);
    world_free(&w);
  }
}
END_TEST

/* pxc_evaluate() only reads: the same request judged twice gets the same
   verdict, and nothing changes until pxc_tracker_record(). */
START_TEST(evaluate_writes_nothing)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", "dhcp-chain-guard=1,60",
                         NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 2, 1}};
  struct pxc_verdict v1, v2;

  stage(&w, &c, "pxe", "ipxe.efi", 0);
  stage(&w, &c, "rom", "ipxe.efi", 5);
  c.xid++;
  request(&w, &c, "rom", 1);
  pxc_evaluate(w.cfg, w.trk, &c.req, 10, &v1);
  pxc_evaluate(w.cfg, w.trk, &c.req, 10, &v2);
  ck_assert(memcmp(&v1, &v2, sizeof(v1)) == 0);
  ck_assert(v1.chain.guard_tripped);
  ck_assert_uint_eq(v1.chain.hops, 2);
  ck_assert_uint_eq(v1.chain.stages, 3);
  ck_assert_uint_eq(stats(&w).trips, 0);
  pxc_tracker_record(w.trk, &v1);
  ck_assert_uint_eq(stats(&w).trips, 1);
  /* recorded once, the same request is the same stage now */
  pxc_evaluate(w.cfg, w.trk, &c.req, 10, &v2);
  ck_assert(!v2.chain.new_stage);
  ck_assert_uint_eq(v2.chain.stages, 3);

  /* a verdict on a newcomer recorded twice makes one client */
  struct client d = {.mac = {2, 0, 0, 0, 2, 2}};
  pxc_evaluate(w.cfg, w.trk, request(&w, &d, "pxe", 1), 20, &v1);
  ck_assert_uint_eq(stats(&w).used, 1);
  pxc_tracker_record(w.trk, &v1);
  pxc_tracker_record(w.trk, &v1);
  ck_assert_uint_eq(stats(&w).used, 2);
  world_free(&w);
}
END_TEST

/* Boot file names live in a fixed table of distinct names: past its size
   a hand-out still counts, shown as "?", and never taken for another. */
/* Names alike in length and in their first and last eight bytes (all the
   name table's hash reads) are still distinct files: the table fills up
   after 254 of them, as with any names. */
START_TEST(file_names_alike_at_both_ends)
{
  const char *lines[] = {"dhcp-chain-guard=3,60,512", NULL};
  struct world w = world_of(lines);
  struct client c;
  struct pxc_verdict v;
  char file[32], text[128];

  for (int i = 0; i < 300; i++) {
    memset(&c, 0, sizeof(c));
    c.mac[0] = 2, c.mac[4] = (uint8_t)(i >> 8), c.mac[5] = (uint8_t)i;
    snprintf(file, sizeof(file), "/srv/tftp/%03d/ipxe.efi", i);
    v = stage(&w, &c, "pxe", file, 0);
    pxc_format_chain(w.trk, &v, text, sizeof(text));
    ck_assert_str_eq(text, i < 254 ? "pxe@0s>ipxe.efi" : "pxe@0s>?");
  }
  world_free(&w);
}
END_TEST

START_TEST(file_name_table_full)
{
  const char *lines[] = {"dhcp-chain-guard=3,60,512", NULL};
  struct world w = world_of(lines);
  struct client c;
  struct pxc_verdict v;
  char file[32], text[128];

  for (int i = 0; i < 300; i++) {
    memset(&c, 0, sizeof(c));
    c.mac[0] = 2, c.mac[4] = (uint8_t)(i >> 8), c.mac[5] = (uint8_t)i;
    snprintf(file, sizeof(file), "dir/file-%d.efi", i);
    v = stage(&w, &c, "pxe", file, 0);
    pxc_format_chain(w.trk, &v, text, sizeof(text));
    if (i < 254)
      ck_assert_msg(strcmp(text + strlen("pxe@0s>"), file + 4) == 0, "%s", text);
    else
      ck_assert_str_eq(text, "pxe@0s>?");
    v = stage(&w, &c, "rom", NULL, 3);
    ck_assert_uint_eq(v.chain.hops, 1);
  }
  world_free(&w);
}
END_TEST

/* The installed OS asking for a lease ends the chain: the client leaves
   the table, so ordinary DHCP clients never take room. */
START_TEST(os_request_ends_chain)
{
  const char *lines[] = {"dhcp-chain-guard=2,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0, 12}};
  struct pxc_chain_stats st;
  struct pxc_verdict v;

  stage(&w, &c, "pxe", "ipxe.efi", 0);
  st = stats(&w);
  ck_assert_uint_eq(st.used, 1);
  v = stage(&w, &c, "os", NULL, 30);
  ck_assert(!v.chain.tracked);
  st = stats(&w);
  ck_assert_uint_eq(st.used, 0);
  world_free(&w);
}
END_TEST

/* A full table: idle clients make room, clients mid-chain do not, and a
   newcomer that finds only fresh chains is simply not tracked. */
START_TEST(table_full)
{
  const char *lines[] = {"dhcp-chain-guard=3,60,16", NULL};
  struct world w = world_of(lines);
  struct client c[40];
  struct pxc_chain_stats st;
  struct pxc_verdict v;

  memset(c, 0, sizeof(c));
  for (int i = 0; i < 40; i++)
    c[i].mac[5] = (uint8_t)i, c[i].mac[0] = 2;
  for (int i = 0; i < 16; i++) { /* 16 clients make a hop */
    stage(&w, &c[i], "pxe", "ipxe.efi", 0);
    stage(&w, &c[i], "rom", "boot.ipxe", 5);
  }
  st = stats(&w);
  ck_assert_uint_eq(st.used, 16);
  ck_assert_uint_eq(st.mid_chain, 16);
  v = stage(&w, &c[20], "pxe", "ipxe.efi", 10);
  ck_assert(!v.chain.tracked);
  st = stats(&w);
  ck_assert_uint_eq(st.untracked, 2);
  ck_assert_uint_eq(st.evicted, 0);

  /* once their window has passed, the oldest chain makes room */
  v = stage(&w, &c[21], "pxe", "ipxe.efi", 100);
  ck_assert(v.chain.tracked);
  st = stats(&w);
  ck_assert_uint_eq(st.evicted, 1);
  ck_assert_uint_eq(st.used, 16);
  world_free(&w);
}
END_TEST

/* A million random MACs: the table never grows, and a client in the middle
   of its chain keeps its state through the flood. */
START_TEST(flood_of_random_macs)
{
  const char *lines[] = {"dhcp-chain-guard=3,600,1024", NULL};
  struct world w = world_of(lines);
  struct client victim = {.mac = {0x52, 0x54, 0, 0x77, 0, 1}};
  struct client flood = {.mac = {2}};
  struct pxc_chain_stats before, after;
  struct pxc_verdict v;
  uint64_t x = 88172645463325252ULL;

  before = stats(&w);
  stage(&w, &victim, "pxe", "ipxe.efi", 0);
  stage(&w, &victim, "rom", "boot.ipxe", 5);
  request(&w, &flood, "pxe", 1);
  for (long i = 0; i < 1000000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    memcpy(flood.req.chaddr + 1, &x, 5);
    flood.req.xid = (uint32_t)x;
    judge(&w, &flood.req, 10 + i / 10000, &v);
    ck_assert(v.chain.tracked);
  }
  after = stats(&w);
  ck_assert_uint_eq(after.bytes, before.bytes);
  ck_assert_uint_eq(after.capacity, 1024);
  ck_assert_uint_eq(after.used, 1024);
  ck_assert_uint_ge(after.evicted, 1000000 - 1023);
  ck_assert_uint_eq(after.mid_chain, 1);

  /* the victim's next stage still knows its chain */
  victim.xid++;
  judge(&w, request(&w, &victim, "rom", 1), 110, &v);
  ck_assert_uint_eq(v.chain.stages, 3);
  ck_assert_uint_eq(v.chain.hops, 2);
  world_free(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Both families (DHCPv6: dhcpv6.md §7.3, §7.5, §7.6)                  */

/* A datagram of either family of a capture, in time order. */
struct both {
  struct loaded *pkt;
  bool ipv6;
};

static int
by_time(const void *a, const void *b)
{
  const struct loaded *x = ((const struct both *)a)->pkt;
  const struct loaded *y = ((const struct both *)b)->pkt;

  if (x->time.tv_sec != y->time.tv_sec)
    return x->time.tv_sec < y->time.tv_sec ? -1 : 1;
  if (x->time.tv_usec != y->time.tv_usec)
    return x->time.tv_usec < y->time.tv_usec ? -1 : 1;
  return 0;
}

/* The verdicts of each request of capture NAME, both families, replayed
   with their replies through W in time order.  A direct DHCPv6 request
   gets its frame's source MAC as the caller's (dnsmasq's neighbour
   table) when CALLER_MAC; else it has none (the captures' DUIDs are
   DUID-UUIDs).  FAMILY[k] says which family request k was. */
static size_t
replay_both(struct world *w, const char *name, bool caller_mac,
            struct pxc_verdict *out, enum pxc_ip_family *family, size_t max)
{
  static struct loaded v4[MAX_PACKETS], v6[MAX_PACKETS];
  static struct pxc_request reqs[MAX_PACKETS];
  struct both all[2 * MAX_PACKETS];
  size_t n4 = load_capture(name, v4, MAX_PACKETS);
  size_t n6 = load_capture6(name, v6, MAX_PACKETS), n = 0, k = 0;

  for (size_t i = 0; i < n4; i++)
    all[n++] = (struct both){&v4[i], false};
  for (size_t i = 0; i < n6; i++)
    all[n++] = (struct both){&v6[i], true};
  qsort(all, n, sizeof(all[0]), by_time);
  for (size_t i = 0; i < n; i++) {
    const struct loaded *p = all[i].pkt;
    if (!p->request) {
      (all[i].ipv6 ? pxc_tracker_reply6 : pxc_tracker_reply)(
          w->trk, p->data, p->len, p->time.tv_sec);
      continue;
    }
    ck_assert_uint_lt(k, max);
    if (all[i].ipv6) {
      pxc_classify6(w->cfg, p->data, p->len, &reqs[k]);
      if (caller_mac && reqs[k].relay_depth == 0 && p->src_mac_len == 6) {
        reqs[k].htype = 1;
        reqs[k].hlen = 6;
        memcpy(reqs[k].chaddr, p->src_mac, 6);
        reqs[k].mac_source = PXC_MAC_CALLER;
      }
    } else {
      pxc_classify(w->cfg, p->data, p->len, &reqs[k]);
    }
    family[k] = reqs[k].ip_family;
    judge(w, &reqs[k], p->time.tv_sec, &out[k]);
    k++;
  }
  free_loaded(v4, n4);
  free_loaded(v6, n6);
  return k;
}

/* "4n 6s 6- …": per request its family and whether it began a stage
   (n), continued one (s) or was not tracked (-). */
static const char *
chain_marks(const struct pxc_verdict *v, const enum pxc_ip_family *family,
            size_t n)
{
  static char text[4 * MAX_PACKETS];
  size_t used = 0;

  for (size_t i = 0; i < n; i++)
    used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%c%c",
                             i ? " " : "", family[i] == PXC_IPV6 ? '6' : '4',
                             !v[i].chain.tracked    ? '-'
                             : v[i].chain.new_stage ? 'n'
                                                    : 's');
  return text;
}

/* g1: OVMF PXEv6 → ipxe.efi → boot.ipxe, one chain.  Ip6Config's bare
   SOLICIT/REQUEST and both RELEASEs are not tracked (they neither begin
   a stage nor end the chain, as the RELEASE did when the tracker took it
   for the OS); the REQUEST continues the PXEv6 stage though EDK2 changed
   the xid; iPXE's DISCOVER is the hop, its SOLICIT 13 ms later the same
   stage, and the v6 REPLY's option 59 its hand-out. */
START_TEST(g1_pxev6_chain)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", "dhcp-chain-guard=3,60",
                         NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  enum pxc_ip_family fam[MAX_PACKETS];
  size_t n = replay_both(&w, "g1-ovmf-pxev6", true, v, fam, MAX_PACKETS);
  char text[256];

  ck_assert_str_eq(chain_marks(v, fam, n),
                   "6- 6- 6n 6s 6- 6- 4n 6s 6s 4s 4s 4s");
  ck_assert_uint_eq(v[3].chain.stages, 1);
  ck_assert(v[2].chain.restarted && !v[3].chain.restarted);
  for (size_t i = 6; i < n; i++) {
    ck_assert_int_eq(v[i].own, PXC_OWN_OWN);
    ck_assert(v[i].chain.follows_chainload);
    ck_assert_uint_eq(v[i].chain.hops, 1);
    ck_assert(!v[i].chain.restarted);
  }
  ck_assert_str_eq(pxc_format_chain(w.trk, &v[n - 1], text, sizeof(text)),
                   "pxe@0s>ipxe.efi ipxe/own@18s>boot.ipxe");
  ck_assert_uint_eq(stats(&w).used, 1);
  world_free(&w);
}
END_TEST

/* g1 with no MAC for the DHCPv6 requests (a relay without option 79):
   keyed by the canonical UUID, which EDK2 and iPXE share once EDK2's
   byte order is turned round, so the v6 chain still holds; what is lost
   is the link with DHCPv4: iPXE's DISCOVER is a client of its own. */
START_TEST(g1_without_mac_keyed_by_uuid)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  enum pxc_ip_family fam[MAX_PACKETS];
  size_t n = replay_both(&w, "g1-ovmf-pxev6", false, v, fam, MAX_PACKETS);
  char text[256];

  ck_assert_str_eq(chain_marks(v, fam, n),
                   "6- 6- 6n 6s 6- 6- 4n 6n 6s 4s 4s 4s");
  ck_assert(v[6].chain.restarted && !v[6].chain.follows_chainload);
  ck_assert_int_eq(v[6].own, PXC_OWN_VENDOR);
  ck_assert(v[7].chain.follows_chainload && !v[7].chain.restarted);
  ck_assert_int_eq(v[7].own, PXC_OWN_OWN);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v[8], text, sizeof(text)),
                   "pxe@0s>ipxe.efi ipxe/own@18s>boot.ipxe");
  ck_assert_str_eq(pxc_format_chain(w.trk, &v[6], text, sizeof(text)),
                   "ipxe/vendor@0s");
  ck_assert_uint_eq(stats(&w).used, 2);
  world_free(&w);
}
END_TEST

/* g3: QEMU's iPXE ROM asks both families at once: one stage, handed the
   DHCPv4 file (iPXE boots that one), not the v6 boot6.ipxe; g3b (no
   DHCPv4 answer): the v6 file counts. */
START_TEST(g3_dual_stack_one_stage)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  const char *const names[] = {"g3-seabios-ipxe-dualstack",
                               "g3b-seabios-ipxe-v6only"};
  const char *const marks[] = {"4n 6s 6s 4s 4s", "4n 6s 6s 4s 4s 4s"};

  for (size_t c = 0; c < 2; c++) {
    struct world w = world_of(lines);
    struct pxc_verdict v[MAX_PACKETS];
    enum pxc_ip_family fam[MAX_PACKETS];
    size_t n = replay_both(&w, names[c], true, v, fam, MAX_PACKETS);
    char text[256];

    ck_assert_str_eq(chain_marks(v, fam, n), marks[c]);
    for (size_t i = 0; i < n; i++)
      ck_assert(v[i].chain.hops == 0 && !v[i].chain.looping);
    ck_assert_str_eq(pxc_format_chain(w.trk, &v[n - 1], text, sizeof(text)),
                     "ipxe@0s>boot.ipxe");
    world_free(&w);
  }
}
END_TEST

/* g2: HTTP Boot over IPv4 times out, then over IPv6: the same stage
   retried (not a reboot), handed ipxe.efi by option 59. */
START_TEST(g2_httpv4_then_v6_one_stage)
{
  const char *lines[] = {"dhcp-ipxe-own=chained", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v[MAX_PACKETS];
  enum pxc_ip_family fam[MAX_PACKETS];
  size_t n = replay_both(&w, "g2-ovmf-httpv6", true, v, fam, MAX_PACKETS);
  char text[256];

  ck_assert_uint_ge(n, 6);
  ck_assert(v[4].chain.tracked && !v[4].chain.new_stage);
  ck_assert_int_eq(fam[4], PXC_IPV6);
  for (size_t i = 0; i < n; i++)
    ck_assert(!v[i].chain.rebooted);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v[n - 1], text, sizeof(text)),
                   "http-boot@0s>ipxe.efi ipxe/own@72s>boot.ipxe");
  world_free(&w);
}
END_TEST

/* Crafted DHCPv6 messages. */

static void
opt6(struct builder *b, uint16_t code, const void *data, size_t len)
{
  uint8_t h[4] = {(uint8_t)(code >> 8), (uint8_t)code, (uint8_t)(len >> 8),
                  (uint8_t)len};

  builder_raw(b, h, 4);
  builder_raw(b, data, len);
}

static const uint8_t duid_a[] = {0, 3, 0, 1, 2, 0, 0, 0, 0, 0x61};
static const uint8_t duid_b[] = {0, 3, 0, 1, 2, 0, 0, 0, 0, 0x62};

/* Message TYPE, xid XID, client DUID, then nothing. */
static void
msg6(struct builder *b, uint8_t type, uint32_t xid, const uint8_t *duid,
     size_t duid_len)
{
  uint8_t h[4] = {type, (uint8_t)(xid >> 16), (uint8_t)(xid >> 8),
                  (uint8_t)xid};

  b->len = 0;
  builder_raw(b, h, 4);
  opt6(b, 1, duid, duid_len);
}

/* iPXE's SOLICIT (or REQUEST …: TYPE) from DUID-LL client DUID, xid XID:
   its MAC is the DUID's. */
static struct pxc_request *
ipxe6(struct world *w, uint8_t type, uint32_t xid, const uint8_t *duid)
{
  static struct pxc_request req;
  static const uint8_t ia[12] = {0xaa, 0x6c, 0x8e, 0xb4};
  static const uint8_t vc[] = {
      0,   0,   1,   0x57, 0,   32,  'P', 'X', 'E', 'C', 'l', 'i', 'e',
      'n', 't', ':', 'A',  'r', 'c', 'h', ':', '0', '0', '0', '0', '0',
      ':', 'U', 'N', 'D',  'I', ':', '0', '0', '2', '0', '0', '1'};
  static const uint8_t uc[] = {0, 4, 'i', 'P', 'X', 'E'};
  struct builder b;

  msg6(&b, type, xid, duid, sizeof(duid_a));
  opt6(&b, 3, ia, sizeof(ia));
  opt6(&b, 16, vc, sizeof(vc));
  opt6(&b, 61, arch0, 2);
  opt6(&b, 15, uc, sizeof(uc));
  pxc_classify6(w->cfg, b.buf, b.len, &req);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_int_eq(req.mac_source, PXC_MAC_DUID_LL);
  return &req;
}

/* IA_NA of a reply: none; an address; NoAddrsAvail (2.93's advertise);
   an address of valid lifetime 0; an address and NoAddrsAvail. */
enum ia_kind { IA_NONE, IA_ADDRESS, IA_NOADDRS, IA_EXPIRED, IA_BOTH };

/* The server's TYPE to xid XID of DUID (DUID_LEN bytes): an IA_NA of kind IA,
   option 59 URL (none if NULL), a top-level status STATUS (none if negative).
 */
static void
reply6(struct world *w, uint8_t type, uint32_t xid, const uint8_t *duid,
       size_t duid_len, enum ia_kind ia, const char *url, int status,
       time_t now)
{
  uint8_t na[12 + 4 + 24 + 4 + 2] = {0xaa, 0x6c, 0x8e, 0xb4};
  size_t na_len = 12;
  struct builder b;

  msg6(&b, type, xid, duid, duid_len);
  if (ia == IA_ADDRESS || ia == IA_EXPIRED || ia == IA_BOTH) {
    uint8_t *a = na + 12;
    a[1] = 5, a[3] = 24, a[4] = 0xfd, a[5] = 0x77, a[19] = 0x10;
    a[23] = 0x60;                        /* preferred */
    a[27] = ia == IA_EXPIRED ? 0 : 0x70; /* valid */
    na_len += 28;
  }
  if (ia == IA_NOADDRS || ia == IA_BOTH) {
    uint8_t *st = na + na_len;
    st[1] = 13, st[3] = 2, st[5] = 2; /* NoAddrsAvail */
    na_len += 6;
  }
  if (ia != IA_NONE)
    opt6(&b, 3, na, na_len);
  if (status >= 0) {
    uint8_t st[2] = {0, (uint8_t)status};
    opt6(&b, 13, st, 2);
  }
  if (url)
    opt6(&b, 59, url, strlen(url));
  pxc_tracker_reply6(w->trk, b.buf, b.len, now);
}

/* Stage count and newest file of the client of REQ after judging it. */
static const char *
chain_of(struct world *w, const struct pxc_request *req, time_t now)
{
  static char text[256];
  struct pxc_verdict v;

  pxc_evaluate(w->cfg, w->trk, req, now, &v); /* judged, not recorded */
  return pxc_format_chain(w->trk, &v, text, sizeof(text));
}

/* Option 59 is a hand-out only from an ADVERTISE/REPLY that gives the
   client an address, with no failing status, to the client's DUID and
   xid (dnsmasq 2.93 sends 59 in NoAddrsAvail advertises too). */
START_TEST(reply6_handout_rules)
{
  const char *lines[] = {"dhcp-chain-guard=3,60", NULL};
  struct world w = world_of(lines);
  struct pxc_request *req = ipxe6(&w, 1, 0x1234, duid_a);
  struct pxc_verdict v;

  judge(&w, req, 100, &v);
  ck_assert(v.chain.tracked && v.chain.new_stage);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_NOADDRS,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_NONE,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_EXPIRED,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_BOTH,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_ADDRESS,
         "http://[fd77::1]/a.ipxe", 2, 100);
  reply6(&w, 2, 0x1235, duid_a, sizeof(duid_a), IA_ADDRESS,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_b, sizeof(duid_b), IA_ADDRESS,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 10, 0x1234, duid_a, sizeof(duid_a), IA_ADDRESS,
         "http://[fd77::1]/a.ipxe", -1, 100);
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_ADDRESS, NULL, -1, 100);
  ck_assert_str_eq(chain_of(&w, req, 100), "ipxe@0s");
  reply6(&w, 2, 0x1234, duid_a, sizeof(duid_a), IA_ADDRESS,
         "http://[fd77::1]/x/a.ipxe", 0, 100);
  ck_assert_str_eq(chain_of(&w, req, 100), "ipxe@0s>a.ipxe");
  world_free(&w);
}
END_TEST

/* A reply wrapped in RELAY-REPL is read inside; the REPLY to an
   INFORMATION-REQUEST (iPXE's stateless mode) needs no address. */
START_TEST(reply6_relayed_and_stateless)
{
  const char *lines[] = {"dhcp-chain-guard=3,60", NULL};
  struct world w = world_of(lines);
  struct pxc_request *req = ipxe6(&w, 1, 0x77, duid_a);
  struct pxc_verdict v;
  struct builder inner, outer;
  uint8_t relay[34] = {13, 0};

  judge(&w, req, 5, &v);
  msg6(&inner, 2, 0x77, duid_a, sizeof(duid_a));
  {
    uint8_t na[40] = {1, 2, 3, 4};
    na[13] = 5, na[15] = 24, na[39] = 9;
    opt6(&inner, 3, na, sizeof(na));
  }
  opt6(&inner, 59, "tftp://[fd77::1]/ipxe.efi", 25);
  outer.len = 0;
  builder_raw(&outer, relay, sizeof(relay));
  opt6(&outer, 9, inner.buf, inner.len);
  pxc_tracker_reply6(w.trk, outer.buf, outer.len - 1, 5); /* cut: nothing */
  ck_assert_str_eq(chain_of(&w, req, 5), "ipxe@0s");
  pxc_tracker_reply6(w.trk, outer.buf, outer.len, 5);
  ck_assert_str_eq(chain_of(&w, req, 5), "ipxe@0s>ipxe.efi");

  req = ipxe6(&w, 11, 0x99, duid_b); /* another client, stateless */
  judge(&w, req, 6, &v);
  reply6(&w, 7, 0x99, duid_b, sizeof(duid_b), IA_NONE,
         "http://[fd77::1]/s.ipxe", -1, 6);
  ck_assert_str_eq(chain_of(&w, req, 6), "ipxe@0s>s.ipxe");
  world_free(&w);
}
END_TEST

/* Per message type (role6[]): RELEASE and DECLINE do nothing, RENEW and
   CONFIRM continue the newest stage and never begin one, a SOLICIT
   after a hand-out begins a new stage though the xid is the same (iPXE
   on OVMF sends one xid every boot): a v6 loop trips the guard.  A bare
   DHCPv6 SOLICIT (class none) leaves the chain; a DHCPv4 OS ends it. */
START_TEST(v6_message_roles)
{
  const char *lines[] = {"dhcp-chain-guard=2,60", NULL};
  struct world w = world_of(lines);
  struct pxc_request *req;
  struct pxc_verdict v;
  struct builder b;
  static struct pxc_request bare;

  judge(&w, ipxe6(&w, 1, 0x42, duid_a), 0, &v);
  reply6(&w, 7, 0x42, duid_a, sizeof(duid_a), IA_ADDRESS,
         "http://[fd77::1]/ipxe.efi", -1, 0);
  judge(&w, ipxe6(&w, 8, 0x43, duid_a), 1, &v); /* RELEASE */
  ck_assert(!v.chain.tracked);
  judge(&w, ipxe6(&w, 9, 0x44, duid_a), 1, &v); /* DECLINE */
  ck_assert(!v.chain.tracked);
  judge(&w, ipxe6(&w, 5, 0x45, duid_a), 2, &v); /* RENEW */
  ck_assert(v.chain.tracked && !v.chain.new_stage);
  ck_assert_uint_eq(v.chain.stages, 1);
  judge(&w, ipxe6(&w, 4, 0x46, duid_b), 2, &v); /* CONFIRM, unknown client */
  ck_assert(!v.chain.tracked);
  ck_assert_uint_eq(stats(&w).used, 1);

  msg6(&b, 1, 0x50, duid_a, sizeof(duid_a)); /* Ip6Config: bare */
  pxc_classify6(w.cfg, b.buf, b.len, &bare);
  ck_assert_int_eq(bare.fw_class, PXC_CLASS_NONE);
  judge(&w, &bare, 3, &v);
  ck_assert(!v.chain.tracked);
  ck_assert_uint_eq(stats(&w).used, 1);

  for (unsigned hop = 1; hop <= 3; hop++) {
    req = ipxe6(&w, 1, 0x42, duid_a);
    judge(&w, req, 3 + 5 * hop, &v);
    ck_assert(v.chain.new_stage);
    ck_assert_uint_eq(v.chain.hops, hop);
    ck_assert(v.chain.guard_tripped == (hop == 3));
    if (hop == 3) {
      char text[256];
      pxc_format_loop_warning(w.cfg, w.trk, &v, text, sizeof(text));
      ck_assert_str_eq(text,
                       "02:00:00:00:00:61 made 3 hops within 60s (more "
                       "than 2), tag chain-loop set; chain: ipxe@0s>ipxe.efi "
                       "ipxe@8s>ipxe.efi ipxe@13s>ipxe.efi ipxe@18s");
    }
    judge(&w, ipxe6(&w, 3, 0x42, duid_a), 3 + 5 * hop, &v); /* REQUEST */
    ck_assert(!v.chain.new_stage);
    reply6(&w, 7, 0x42, duid_a, sizeof(duid_a), IA_ADDRESS,
           "http://[fd77::1]/ipxe.efi", -1, 3 + 5 * hop);
  }
  world_free(&w);
}
END_TEST

/* Replies find the last 16 DHCPv6 requests recorded (the ring wraps
   and its xid filter follows), not older ones. */
START_TEST(reply6_pending_ring)
{
  const char *lines[] = {"dhcp-chain-guard=3,60,64", NULL};
  struct world w = world_of(lines);
  struct pxc_verdict v;
  uint8_t duid[20][10];
  static struct pxc_request reqs[20];

  for (unsigned k = 0; k < 20; k++) {
    memcpy(duid[k], duid_a, sizeof(duid_a));
    duid[k][9] = (uint8_t)(0x80 + k);
    reqs[k] = *ipxe6(&w, 1, 0x3000 + 7 * k, duid[k]);
    judge(&w, &reqs[k], 1, &v);
    ck_assert(v.chain.tracked);
  }
  for (unsigned k = 0; k < 20; k++)
    reply6(&w, 7, 0x3000 + 7 * k, duid[k], sizeof(duid[k]), IA_ADDRESS,
           "tftp://[fd77::1]/ipxe.efi", -1, 2);
  for (unsigned k = 0; k < 20; k++)
    ck_assert_str_eq(chain_of(&w, &reqs[k], 2),
                     k < 4 ? "ipxe@0s" : "ipxe@0s>ipxe.efi");
  world_free(&w);
}
END_TEST

/* A DHCPv6 client without a MAC is keyed by its UUID, and the loop
   warning names it by that key. */
START_TEST(v6_uuid_key_in_loop_warning)
{
  const char *lines[] = {"dhcp-chain-guard=1,60", NULL};
  struct world w = world_of(lines);
  static const uint8_t duid_uuid[] = {0,    4,    0x00, 0x11, 0x22, 0x33,
                                      0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  static const uint8_t uc[] = {0, 4, 'i', 'P', 'X', 'E'};
  static struct pxc_request req;
  struct pxc_verdict v;
  struct builder b;
  char text[256];

  for (unsigned hop = 0; hop <= 2; hop++) {
    msg6(&b, 1, 0x10, duid_uuid, sizeof(duid_uuid));
    opt6(&b, 15, uc, sizeof(uc));
    pxc_classify6(w.cfg, b.buf, b.len, &req);
    ck_assert(req.hlen == 0 && req.has_uuid);
    judge(&w, &req, 10 * hop, &v);
    ck_assert(v.chain.tracked);
    ck_assert_uint_eq(v.chain.hops, hop);
    reply6(&w, 7, 0x10, duid_uuid, sizeof(duid_uuid), IA_ADDRESS,
           "tftp://[fd77::1]/ipxe.efi", -1, 10 * hop);
  }
  ck_assert(v.chain.guard_tripped);
  pxc_format_loop_warning(w.cfg, w.trk, &v, text, sizeof(text));
  ck_assert_str_eq(text,
                   "00112233-4455-6677-8899-aabbccddeeff made 2 hops "
                   "within 60s (more than 1), tag chain-loop set; chain: "
                   "ipxe@0s>ipxe.efi ipxe@10s>ipxe.efi ipxe@20s>ipxe.efi");
  world_free(&w);
}
END_TEST

/* iPXE's v6 REPLY may come before its v4 ACK: the v6 file is kept only
   until the stage's DHCPv4 file comes; and a DHCPv4 file already there
   is not replaced by a v6 one. */
START_TEST(v4_file_wins_over_v6)
{
  const char *lines[] = {"dhcp-chain-guard=3,60", NULL};
  struct world w = world_of(lines);
  struct client c = {.mac = {2, 0, 0, 0, 0x61, 0}, .xid = 0x500};
  static const uint8_t duid_c[] = {0, 3, 0, 1, 2, 0, 0, 0, 0x61, 0};
  struct pxc_request *req;
  struct pxc_verdict v;

  judge(&w, request(&w, &c, "rom", 1), 50, &v);
  req = ipxe6(&w, 1, 0x600, duid_c);
  judge(&w, req, 50, &v);
  ck_assert(v.chain.tracked && !v.chain.new_stage);
  reply6(&w, 7, 0x600, duid_c, sizeof(duid_c), IA_ADDRESS,
         "http://[fd77::1]/boot6.ipxe", -1, 50);
  ck_assert_str_eq(chain_of(&w, req, 50), "ipxe@0s>boot6.ipxe");
  hand_out(&w, &c, "http://10.77.0.1/boot.ipxe", 51);
  ck_assert_str_eq(chain_of(&w, req, 51), "ipxe@0s>boot.ipxe");
  reply6(&w, 7, 0x600, duid_c, sizeof(duid_c), IA_ADDRESS,
         "http://[fd77::1]/boot6.ipxe", -1, 51);
  ck_assert_str_eq(chain_of(&w, req, 51), "ipxe@0s>boot.ipxe");
  world_free(&w);
}
END_TEST

/* Memory is fixed by the configuration and reported: at most 160 bytes
   per client (364 before the tracker was made lean). */
START_TEST(stats_and_defaults)
{
  const char *guard[] = {"dhcp-chain-guard=4,90,64,set:loop", NULL};
  const char *chained[] = {"dhcp-ipxe-own=chained", NULL};
  const char *neither[] = {"dhcp-pxe-class=set:x,pxe", NULL};
  struct world w = world_of(guard);
  struct pxc_config *cfg;
  struct pxc_chain_stats st = stats(&w);
  struct pxc_guard_info info;

  ck_assert_uint_eq(st.capacity, 64);
  ck_assert_uint_eq(st.window, 90);
  ck_assert_uint_eq(st.max_hops, 4);
  ck_assert_uint_le(st.entry_bytes, 160);
  ck_assert_uint_ge(st.bytes, 64 * st.entry_bytes);
  ck_assert_str_eq(pxc_rule_tag(w.cfg, 0), "loop");
  ck_assert(pxc_config_tracker_info(w.cfg, &info));
  ck_assert(info.guard);
  ck_assert_uint_eq(info.hops, 4);
  ck_assert_uint_eq(info.window, 90);
  ck_assert_uint_eq(info.capacity, 64);
  ck_assert_str_eq(info.tag, "loop");
  world_free(&w);

  w = world_of(chained);
  st = stats(&w);
  ck_assert_uint_eq(st.capacity, 2048);
  ck_assert_uint_eq(st.window, 60);
  ck_assert_uint_eq(st.max_hops, 0);
  ck_assert(pxc_config_tracker_info(w.cfg, &info));
  ck_assert(!info.guard);
  ck_assert_ptr_null(info.tag);
  world_free(&w);

  cfg = config_of(neither);
  ck_assert(!pxc_config_tracker_info(cfg, &info));
  ck_assert_ptr_null(pxc_tracker_new(cfg));
  pxc_config_free(cfg);
}
END_TEST

/* Assert that dhcp-chain-guard=VALUE is refused with WANT in the message. */
static void
guard_refused(const char *value, const char *want)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  ck_assert_msg(pxc_config_add(cfg, "dhcp-chain-guard", value, err,
                               sizeof(err)) < 0,
                "%s accepted", value);
  ck_assert_msg(strstr(err, want), "'%s' lacks '%s'", err, want);
  pxc_config_free(cfg);
}

START_TEST(guard_parse_errors)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  guard_refused("0,60", "bad hop count '0' (expected 1 to 7)");
  guard_refused("8,60", "bad hop count '8'");
  guard_refused("x,60", "bad hop count 'x'");
  guard_refused("3", "bad window ''");
  guard_refused("3,0", "bad window '0'");
  guard_refused("3,86401", "bad window '86401'");
  guard_refused("3,60,8", "bad table size '8' (expected 16 to");
  guard_refused("3,60,99999999", "bad table size");
  guard_refused("3,60,set:", "bad tag name ''");
  guard_refused("3,60,set:a,64", "expected set:<tag> last, not 'set:a'");
  guard_refused("3,60,64,65", "expected set:<tag> last, not '65'");
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-chain-guard", "3,60", err,
                                  sizeof(err)), 0);
  ck_assert_int_lt(pxc_config_add(cfg, "dhcp-chain-guard", "3,60", err,
                                  sizeof(err)), 0);
  ck_assert(strstr(err, "given twice"));
  pxc_config_free(cfg);
}
END_TEST

/* Without a tracker, evaluation keeps no state and `chained` is unused. */
START_TEST(no_tracker_no_state)
{
  const char *lines[] = {"dhcp-ipxe-own=user-class:CSTM", NULL};
  struct world w = {config_of(lines), NULL};
  struct client c = {.mac = {2, 0, 0, 0, 0, 13}};
  struct pxc_verdict v;
  char text[64];

  v = stage(&w, &c, "rom", "undionly.kpxe", 0);
  ck_assert(!v.chain.tracked);
  ck_assert_int_eq(v.own, PXC_OWN_VENDOR);
  ck_assert_str_eq(pxc_format_chain(w.trk, &v, text, sizeof(text)), "");
  pxc_tracker_reply(NULL, c.b.buf, c.b.len, 0);
  world_free(&w);
}
END_TEST

Suite *
chain_suite(void)
{
  Suite *s = suite_create("chain");
  TCase *tc = tcase_create("tracker");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, loop_capture_trips_guard);
  tcase_add_test(tc, loop_capture_chained_ownership);
  tcase_add_test(tc, ovmf_capture_chained);
  tcase_add_test(tc, proxy_capture_one_stage);
  tcase_add_test(tc, qemu_rom_then_undionly_then_reboot);
  tcase_add_test(tc, reply_to_a_client_not_recorded_last);
  tcase_add_test(tc, reboot_resets_hops);
  tcase_add_test(tc, quick_reboots_are_no_loop);
  tcase_add_test(tc, retransmissions_are_no_hop);
  tcase_add_test(tc, boot_server_request_after_proxy_offer_with_file);
  tcase_add_test(tc, one_file_per_transaction);
  tcase_add_test(tc, replies_must_match);
  tcase_add_test(tc, request_naming_a_rival_strikes_our_file);
  tcase_add_test(tc, request_naming_us_keeps_handout);
  tcase_add_test(tc, request_naming_a_peer_keeps_handout);
  tcase_add_test(tc, proxy_offer_taken_with_another_servers_address);
  tcase_add_test(tc, rival_taken_every_stage_is_no_loop);
  tcase_add_test(tc, relayed_requests_keyed_by_chaddr);
  tcase_add_test(tc, reply_boot_file_and_option_52);
  tcase_add_test(tc, evaluate_writes_nothing);
  tcase_add_test(tc, file_name_table_full);
  tcase_add_test(tc, file_names_alike_at_both_ends);
  tcase_add_test(tc, os_request_ends_chain);
  tcase_add_test(tc, table_full);
  tcase_add_test(tc, flood_of_random_macs);
  tcase_add_test(tc, g1_pxev6_chain);
  tcase_add_test(tc, g1_without_mac_keyed_by_uuid);
  tcase_add_test(tc, g3_dual_stack_one_stage);
  tcase_add_test(tc, g2_httpv4_then_v6_one_stage);
  tcase_add_test(tc, reply6_handout_rules);
  tcase_add_test(tc, reply6_relayed_and_stateless);
  tcase_add_test(tc, v6_message_roles);
  tcase_add_test(tc, v4_file_wins_over_v6);
  tcase_add_test(tc, v6_uuid_key_in_loop_warning);
  tcase_add_test(tc, reply6_pending_ring);
  tcase_add_test(tc, stats_and_defaults);
  tcase_add_test(tc, guard_parse_errors);
  tcase_add_test(tc, no_tracker_no_state);
  suite_add_tcase(s, tc);
  return s;
}
