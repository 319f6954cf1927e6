/*
 * Benchmark: what the dnsmasq hooks cost per call, measured on the real
 * captures replayed through the hooks' call sequence with the config of
 * tests/dnsmasq/bench_dnsmasq.py (every rule kind the bench mix uses,
 * `chained` and a chain guard):
 *
 *   tag hook    pxc_classify → pxc_evaluate → pxc_rules_matched (a bit
 *               per rule) → pxc_tracker_record (then the loop warning if the guard
 *               tripped), for each request;
 *   reply hook  pxc_tracker_reply, for each reply.
 *
 * With --v6 the DHCPv6 datagrams instead, through the v6 hooks' sequence:
 * pxc_classify6 with the frame's source MAC as the caller's (dnsmasq's
 * neighbour table), the same evaluation and record; pxc_tracker_reply6
 * for each server message.
 *
 * Each round replays every capture as MACHINES machines (the MAC changed,
 * a round's clock a window later than the last), so the table holds many
 * clients and every chain is walked from its start.
 *
 * Prints nanoseconds per call, the stack each hook used (each hook runs
 * on a painted stack of its own), the tracker's bytes per client, and
 * with --callgrind the instructions per call: the program runs itself
 * under callgrind once per function measured, collecting only inside it.
 * The loop guard's warning (a log line, for the e3 loop capture's client
 * only) is counted apart from the evaluation.
 *
 * Each figure is printed against its budget (issue 9).  The stack is
 * measured here, deterministically: over STACK_BUDGET in a hook fails the
 * benchmark.  The instruction budgets of the hooks hold inside dnsmasq,
 * on its request mix (tests/dnsmasq/bench_dnsmasq.py judges them); here
 * they are shown for reference.  Time is shown, never judged: a timed
 * test on a shared machine would flake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "cli.h"

#define MAX_PACKETS 512
#define MACHINES 64
#define STACK_SIZE 65536

/* Issue 9's budgets: stack per request in each hook (a small router's
   dnsmasq), and instructions per call inside dnsmasq. */
#define STACK_BUDGET 2048
#define TAG_HOOK_BUDGET 1300
#define REPLY_HOOK_BUDGET 300

/* One datagram of a capture, and when it was sent (seconds from the
   start of its capture). */
struct packet {
  uint8_t *data;
  size_t len;
  long at;
  bool request;
  uint8_t mac[6]; /* DHCPv6: the frame's source, the caller's MAC */
};

struct corpus {
  struct packet pkt[MAX_PACKETS];
  size_t count, requests, replies;
  struct timeval first;
  bool have_first;
};

/* The pxeclass lines of bench_dnsmasq.py's PXECLASS_CONFIG. */
static const char *const bench_config[][2] = {
    {"dhcp-ipxe-own", "chained"},
    {"dhcp-pxe-class", "set:ipxe,ipxe,gpxe"},
    {"dhcp-pxe-class", "set:own,ipxe-own"},
    {"dhcp-pxe-arch", "set:efi64,efi-x64"},
    {"dhcp-pxe-class", "set:httpclient,http-boot"},
    {"dhcp-chain-guard", "3,60"},
};

static bool family6; /* --v6: the DHCPv6 datagrams and hooks */
static struct pxc_config *cfg;
static struct pxc_tracker *trk;
static size_t words;
static uint64_t *matched;
static unsigned long tags_set, loops_seen;

/* Keep every datagram of a capture (requests and replies, file order). */
static void
keep_packet(void *ctx, const struct captured *pkt)
{
  struct corpus *c = ctx;
  struct packet *p;

  if (c->count == MAX_PACKETS || pkt->len < 1 || pkt->ipv6 != family6)
    return;
  if (!c->have_first) {
    c->first = pkt->time;
    c->have_first = true;
  }
  p = &c->pkt[c->count++];
  p->data = malloc(pkt->len);
  if (!p->data)
    exit(1);
  memcpy(p->data, pkt->data, pkt->len);
  p->len = pkt->len;
  p->at = (long)(pkt->time.tv_sec - c->first.tv_sec);
  p->request = pkt->data[0] == 1;
  if (family6) { /* a client's message, not ADVERTISE, REPLY, RECONFIGURE
                    or RELAY-REPL */
    p->request = pkt->data[0] != 2 && pkt->data[0] != 7 && pkt->data[0] != 10 &&
                 pkt->data[0] != 13;
    memcpy(p->mac, pkt->src_mac, pkt->src_mac_len == 6 ? 6 : 0);
  }
  if (p->request)
    c->requests++;
  else
    c->replies++;
}

/* The loop guard's warning, logged whatever the log options: rare (a
   client looping), and a log line, so counted apart. */
__attribute__((noinline)) void
loop_warning(const struct pxc_verdict *verdict)
{
  static char line[1024];

  pxc_format_loop_warning(cfg, trk, verdict, line, sizeof(line));
  loops_seen++;
}

/* What the tag hook does after classifying: evaluate, match every rule
   in one call (the hook keeps the bitmap's words, as pxeclass_words),
   record. */
__attribute__((noinline)) void
judge_part(const struct pxc_request *req, time_t now)
{
  struct pxc_verdict verdict;

  pxc_evaluate(cfg, trk, req, now, &verdict);
  tags_set += pxc_rules_matched(cfg, &verdict, matched, words);
  pxc_tracker_record(trk, &verdict);
  if (verdict.chain.guard_tripped)
    loop_warning(&verdict);
}

/* The tag hook of dnsmasq-hooks/pxeclass-hooks.c, without dnsmasq
   (which keeps the request off the stack too); with --v6 the v6 one,
   given the client's MAC as dnsmasq knows it. */
__attribute__((noinline)) void
tag_hook(const uint8_t *pkt, size_t len, const uint8_t *mac, time_t now)
{
  static struct pxc_request req;

  if (family6) {
    pxc_classify6(cfg, pkt, len, &req);
    if (req.relay_depth == 0) {
      req.htype = 1;
      req.hlen = 6;
      memcpy(req.chaddr, mac, 6);
      req.mac_source = PXC_MAC_CALLER;
    }
  } else {
    pxc_classify(cfg, pkt, len, &req);
  }
  judge_part(&req, now);
}

/* The reply hook. */
__attribute__((noinline)) void
reply_hook(const uint8_t *pkt, size_t len, time_t now)
{
  if (family6)
    pxc_tracker_reply6(trk, pkt, len, now);
  else
    pxc_tracker_reply(trk, pkt, len, now);
}

/* ------------------------------------------------------------------ */
/* Stack: each hook called on a stack of its own, painted beforehand;
   the deepest byte written is what the hook (and the context switch's
   few words) used. */

static uint8_t tag_stack[STACK_SIZE], reply_stack[STACK_SIZE];
static ucontext_t caller, callee;
static const struct packet *call_pkt;
static time_t call_now;

static void
call_tag_hook(void)
{
  tag_hook(call_pkt->data, call_pkt->len, call_pkt->mac, call_now);
}

static void
call_reply_hook(void)
{
  reply_hook(call_pkt->data, call_pkt->len, call_now);
}

/* The deepest stack of the tag hook without and with a loop warning,
   and of the reply hook. */
static size_t tag_depth, warning_depth, reply_depth;

/* Bytes of STACK written since it was painted (it grows down from its
   end), painted again. */
static size_t
stack_depth(uint8_t *stack)
{
  size_t untouched = 0;

  while (untouched < STACK_SIZE && stack[untouched] == 0xa5)
    untouched++;
  memset(stack + untouched, 0xa5, STACK_SIZE - untouched);
  return STACK_SIZE - untouched;
}

/* Call P's hook on its own stack, and note how deep it went. */
static void
call_on_own_stack(const struct packet *p, time_t now)
{
  unsigned long warnings = loops_seen;
  uint8_t *stack = p->request ? tag_stack : reply_stack;
  size_t depth, *deepest;

  call_pkt = p;
  call_now = now;
  getcontext(&callee);
  callee.uc_stack.ss_sp = stack;
  callee.uc_stack.ss_size = STACK_SIZE;
  callee.uc_link = &caller;
  makecontext(&callee, p->request ? call_tag_hook : call_reply_hook, 0);
  swapcontext(&caller, &callee);
  depth = stack_depth(stack);
  deepest = !p->request ? &reply_depth
            : loops_seen != warnings ? &warning_depth
                                     : &tag_depth;
  if (depth > *deepest)
    *deepest = depth;
}

/* Machine M's copy of a packet: the MAC's fourth byte is M (DHCPv6:
   the caller's MAC; the DUIDs stay, a reply finds the machine that
   asked last). */
static void
as_machine(struct packet *p, unsigned m)
{
  if (family6)
    p->mac[3] = (uint8_t)m;
  else if (p->len > 31)
    p->data[31] = (uint8_t)m;
}

/* Print FIGURE (UNIT) against BUDGET; true if within it. */
static bool
against_budget(const char *what, double figure, double budget,
               const char *unit, const char *note)
{
  bool met = figure <= budget;

  printf("  %-34s %7.0f %-5s budget <= %5.0f  %s%s\n", what, figure, unit,
         budget, met ? "met" : "NOT met", note);
  return met;
}

/* Replay the corpus ROUNDS times; ON_OWN_STACK calls each hook on its
   own painted stack. */
static void
replay(struct corpus *c, unsigned rounds, bool on_own_stack)
{
  for (unsigned r = 0; r < rounds; r++) {
    time_t base = 1000000 + (time_t)(r / MACHINES) * 1000;
    for (size_t i = 0; i < c->count; i++) {
      struct packet *p = &c->pkt[i];
      as_machine(p, r % MACHINES);
      if (on_own_stack)
        call_on_own_stack(p, base + p->at);
      else if (p->request)
        tag_hook(p->data, p->len, p->mac, base + p->at);
      else
        reply_hook(p->data, p->len, base + p->at);
    }
  }
}

static double
seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Instructions callgrind counted inside FN over this program run with
   ARGS; -1 if valgrind could not be run. */
static double
callgrind_instructions(const char *self, const char *fn, const char *args)
{
  char cmd[4096], line[512];
  double total = -1;
  FILE *f;

  snprintf(cmd, sizeof(cmd),
           "valgrind --tool=callgrind --collect-atstart=no "
           "--toggle-collect=%s --callgrind-out-file=/dev/null %s %s 2>&1",
           fn, self, args);
  f = popen(cmd, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f)) {
    const char *at = strstr(line, "Collected :");
    if (at)
      total = strtod(at + strlen("Collected :"), NULL);
  }
  pclose(f);
  return total;
}

static void
setup(void)
{
  char err[256];

  cfg = pxc_config_new();
  for (size_t i = 0; i < sizeof(bench_config) / sizeof(bench_config[0]); i++)
    if (pxc_config_add(cfg, bench_config[i][0], bench_config[i][1], err,
                       sizeof(err)) < 0) {
      fprintf(stderr, "bench-hooks: %s\n", err);
      exit(1);
    }
  if (pxc_config_finish(cfg, err, sizeof(err)) < 0 ||
      !(trk = pxc_tracker_new(cfg))) {
    fprintf(stderr, "bench-hooks: %s\n", err);
    exit(1);
  }
  words = (pxc_rule_count(cfg) + 63) / 64;
  if (!(matched = calloc(words ? words : 1, sizeof(*matched)))) {
    fprintf(stderr, "bench-hooks: out of memory\n");
    exit(1);
  }
}

int
main(int argc, char **argv)
{
  static struct corpus corpus;
  unsigned rounds = 2000;
  bool callgrind = false, quiet = false;
  char err[512], args[3072] = "";
  size_t used = 0;
  struct pxc_chain_stats st;
  double t0, t1;
  int first = 1;
  bool stack_ok = true;

  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "--callgrind") == 0)
      callgrind = true;
    else if (strcmp(argv[first], "--quiet") == 0)
      quiet = true;
    else if (strcmp(argv[first], "--v6") == 0)
      family6 = true;
    else if (strcmp(argv[first], "--rounds") == 0 && first + 1 < argc)
      rounds = (unsigned)strtoul(argv[++first], NULL, 10);
    else
      break;
  }
  if (first == argc) {
    fprintf(stderr, "usage: bench-hooks [--callgrind] [--v6] [--rounds N] "
                    "CAPTURE.pcap...\n");
    return 2;
  }
  for (int i = first; i < argc; i++) {
    corpus.have_first = false;
    if (capture_each(argv[i], keep_packet, &corpus, err, sizeof(err)) < 0) {
      fprintf(stderr, "bench-hooks: %s\n", err);
      return 1;
    }
    used += (size_t)snprintf(args + used, sizeof(args) - used, " %s", argv[i]);
    if (used >= sizeof(args))
      return 1;
  }
  setup();

  /* warm (the first calls also bind the library's symbols, which takes
     the dynamic linker's stack), then the stack */
  replay(&corpus, MACHINES, false);
  memset(tag_stack, 0xa5, sizeof(tag_stack));
  memset(reply_stack, 0xa5, sizeof(reply_stack));
  replay(&corpus, MACHINES, true);
  t0 = seconds();
  replay(&corpus, rounds, false);
  t1 = seconds();
  if (quiet)
    return 0;
  pxc_tracker_stats(trk, &st);
  printf("bench-hooks: %s, %zu requests and %zu replies per round, %u "
         "rounds, %u machines\n",
         family6 ? "DHCPv6" : "DHCPv4", corpus.requests, corpus.replies, rounds,
         MACHINES);
  printf("  both hooks: %.0f ns per packet (%lu tags set, %lu loop "
         "warnings)\n",
         (t1 - t0) * 1e9 / ((double)rounds * (double)corpus.count), tags_set,
         loops_seen);
  printf("  tracker: %zu bytes per client, %zu clients tracked, %lu "
         "evicted\n",
         st.entry_bytes, st.used, st.evicted);
  printf("  stack per call (measured: painted stacks), against issue 9's "
         "budget:\n");
  stack_ok &= against_budget("tag hook", (double)tag_depth, STACK_BUDGET,
                             "bytes", "");
  stack_ok &= against_budget("tag hook with a loop warning",
                             (double)warning_depth, STACK_BUDGET, "bytes", "");
  stack_ok &= against_budget("reply hook", (double)reply_depth, STACK_BUDGET,
                             "bytes", "");
  if (callgrind) {
    unsigned cg_rounds = 200;
    char cg_args[3200];
    /* the two warm-up replays run under callgrind too */
    double requests =
        (double)(cg_rounds + 2 * MACHINES) * (double)corpus.requests;
    double replies = (double)(cg_rounds + 2 * MACHINES) * (double)corpus.replies;
    double tag, judge, warn, reply;

    snprintf(cg_args, sizeof(cg_args), "--quiet%s --rounds %u%s",
             family6 ? " --v6" : "", cg_rounds, args);
    tag = callgrind_instructions(argv[0], "tag_hook", cg_args);
    judge = callgrind_instructions(argv[0], "judge_part", cg_args);
    warn = callgrind_instructions(argv[0], "loop_warning", cg_args);
    reply = callgrind_instructions(argv[0], "reply_hook", cg_args);
    if (tag < 0 || judge < 0 || warn < 0 || reply < 0) {
      printf("  instructions: valgrind not available\n");
      return stack_ok ? 0 : 1;
    }
    printf("  instructions per request: tag hook %.0f = classify %.0f + "
           "evaluate, rules and record %.0f + loop warnings %.0f\n",
           tag / requests, (tag - judge) / requests, (judge - warn) / requests,
           warn / requests);
    printf("  instructions per reply: reply hook %.0f\n", reply / replies);
    printf("  instructions on the captures' mix, for reference (the budgets "
           "hold inside dnsmasq:\n  benchmark dnsmasq-<version>-request-cost "
           "judges them):\n");
    against_budget("tag hook, no loop warning", (tag - warn) / requests,
                   TAG_HOOK_BUDGET, "instr", " (here)");
    against_budget("reply hook", reply / replies, REPLY_HOOK_BUDGET, "instr",
                   " (here)");
  }
  return stack_ok ? 0 : 1;
}
