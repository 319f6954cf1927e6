/*
 * Benchmark: classifications per second on the real captures' requests,
 * the one-pass classifier next to the 0.1 one (tests/bench/legacy/, kept
 * for this comparison only) in the same run, as a time ratio and, under
 * callgrind, as instructions per request; then with every rule kind
 * evaluated, and through the chain tracker with a random-MAC workload.
 * Prints figures; it asserts nothing, since a timed test on a shared
 * machine would flake.  DHCPv6 is measured on its own mix: a request of
 * each firmware's layout (shared/research/dhcpv6.md §2) and the DHCPv6
 * client messages of the captures, next to the DHCPv4 figures.
 *
 * Instruction counts: the benchmark runs itself under valgrind
 * --tool=callgrind (PXC_VALGRIND, found at build time), once per
 * classifier, counting only inside pass_new() / pass_legacy().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "legacy/legacy.h"

#define MAX_PACKETS 256
#define CALLGRIND_ROUNDS 20
#define TURNS 25

struct corpus {
  uint8_t *data[MAX_PACKETS];
  size_t len[MAX_PACKETS];
  size_t count;
};

/* DHCPv6 requests of each firmware's layout, as hex (the bytes of the
   unit tests, tests/unit/test_classify6.c). */
static const char *const v6_mix[] = {
    /* EDK2 PXEv6 SOLICIT (PxeBcDhcp6.c) */
    "01640da600010012000433221100554477668899aabbccddeeff000800020000"
    "0003000c776c5fdfffffffffffffffff00060008003b003c00170010003e0003"
    "010300003d0002000700100026000001570020505845436c69656e743a417263"
    "683a30303030373a554e44493a303033303030",
    /* EDK2 HTTP Boot v6 SOLICIT (HttpBootDhcp6.c) */
    "01650da600010012000433221100554477668899aabbccddeeff000800020000"
    "0003000c00001234ffffffffffffffff00060008003b003c00170010003e0003"
    "010300003d000200100010002700000157002148545450436c69656e743a4172"
    "63683a30303031363a554e44493a303033303030",
    /* EDK2 Ip6Config SOLICIT (no class) */
    "01630da600010012000433221100554477668899aabbccddeeff000800020000"
    "0003000c7f53775bffffffffffffffff000600020017",
    /* iPXE SOLICIT (dhcpv6.c) */
    "015985f400010012000400112233445566778899aabbccddeeff0003000caa6c"
    "8eb400000000000000000006000800170018003b003c00100026000001570020"
    "505845436c69656e743a417263683a30303030373a554e44493a303033303130"
    "003d00020007003e000301030a000f0006000469505845000800020000",
    /* U-Boot SOLICIT (net/dhcpv6.c) */
    "010a0b0c0001000a000300015254007700010008000200000003000c00001234"
    "000000000000000000060004003b0052003d000200160010000c000000000006"
    "552d426f6f74003e0003010000",
    /* iPXE SOLICIT relayed, interface-id and option 79 */
    "0c0020010db8000000000000000000000011fe80000000000000505400fffe77"
    "00010012000465746830004f000800015254007700010009007d015985f40001"
    "0012000400112233445566778899aabbccddeeff0003000caa6c8eb400000000"
    "000000000006000800170018003b003c00100026000001570020505845436c69"
    "656e743a417263683a30303030373a554e44493a303033303130003d00020007"
    "003e000301030a000f0006000469505845000800020000",
};

/* Add a copy of LEN bytes of DATA to C. */
static void
corpus_add(struct corpus *c, const uint8_t *data, size_t len)
{
  if (c->count == MAX_PACKETS)
    return;
  c->data[c->count] = malloc(len ? len : 1);
  if (!c->data[c->count])
    exit(1);
  memcpy(c->data[c->count], data, len);
  c->len[c->count++] = len;
}

/* Add the v6_mix[] requests to C. */
static void
add_v6_mix(struct corpus *c)
{
  for (size_t k = 0; k < sizeof(v6_mix) / sizeof(v6_mix[0]); k++) {
    uint8_t buf[512];
    size_t n = strlen(v6_mix[k]) / 2;
    for (size_t i = 0; i < n && i < sizeof(buf); i++) {
      unsigned v;
      sscanf(v6_mix[k] + 2 * i, "%2x", &v);
      buf[i] = (uint8_t)v;
    }
    corpus_add(c, buf, n < sizeof(buf) ? n : sizeof(buf));
  }
}

/* The two corpora: DHCPv4 requests, DHCPv6 client messages. */
struct corpora {
  struct corpus v4, v6;
};

/* Keep the client requests of a capture: BOOTREQUESTs, and DHCPv6
   messages to the server port (SOLICIT, REQUEST … RELAY-FORW; not
   ADVERTISE, REPLY, RECONFIGURE or RELAY-REPL). */
static void
keep_request(void *ctx, const struct captured *pkt)
{
  struct corpora *c = ctx;

  if (pkt->len < 1)
    return;
  if (!pkt->ipv6 && pkt->data[0] == 1)
    corpus_add(&c->v4, pkt->data, pkt->len);
  else if (pkt->ipv6 && pkt->dst_port == 547 && pkt->data[0] != 2 &&
           pkt->data[0] != 7 && pkt->data[0] != 10 && pkt->data[0] != 13)
    corpus_add(&c->v6, pkt->data, pkt->len);
}

static double
seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass of the new classifier over the corpus (callgrind counts from
   here: not inlined, not static).  Returns a sum of the classes. */
__attribute__((noinline)) unsigned long
pass_new(const struct corpus *c)
{
  static struct pxc_request req;
  unsigned long sum = 0;

  for (size_t i = 0; i < c->count; i++) {
    pxc_classify(NULL, c->data[i], c->len[i], &req);
    sum += req.fw_class;
  }
  return sum;
}

/* One pass of the DHCPv6 classifier over its corpus. */
__attribute__((noinline)) unsigned long
pass_v6(const struct corpus *c)
{
  static struct pxc_request req;
  unsigned long sum = 0;

  for (size_t i = 0; i < c->count; i++) {
    pxc_classify6(NULL, c->data[i], c->len[i], &req);
    sum += req.fw_class;
  }
  return sum;
}

/* The same pass with the 0.1 classifier. */
__attribute__((noinline)) unsigned long
pass_legacy(const struct corpus *c)
{
  unsigned long sum = 0;

  for (size_t i = 0; i < c->count; i++)
    sum += (unsigned long)legacy_classify_only(c->data[i], c->len[i]);
  return sum;
}

/* Seconds per request of ROUNDS passes of PASS. */
static double
time_pass(unsigned long (*pass)(const struct corpus *), const struct corpus *c,
          long rounds, unsigned long *sink)
{
  double start = seconds();

  for (long r = 0; r < rounds; r++)
    *sink += pass(c);
  return (seconds() - start) / (double)rounds / (double)c->count;
}

/*
 * Time both classifiers in short alternating turns (TURNS each, the best
 * turn of each kept: on a shared machine a busy neighbour slows some
 * turns of both, rarely the best) and print both figures and their ratio.
 */
static void
compare_times(const struct corpus *c, long rounds)
{
  double best_new = 1e9, best_old = 1e9;
  unsigned long sink = 0;

  for (int turn = 0; turn < TURNS; turn++) {
    double t_old = time_pass(pass_legacy, c, rounds / TURNS + 1, &sink);
    double t_new = time_pass(pass_new, c, rounds / TURNS + 1, &sink);
    if (t_old < best_old)
      best_old = t_old;
    if (t_new < best_new)
      best_new = t_new;
  }
  printf("%-40s %10.0f requests/s  %7.1f ns/request\n", "classify, 0.1 (legacy)",
         1 / best_old, best_old * 1e9);
  printf("%-40s %10.0f requests/s  %7.1f ns/request\n", "classify, one pass",
         1 / best_new, best_new * 1e9);
  printf("%-40s %10.2f  (goal <= 0.50)%s\n", "time ratio new/legacy",
         best_new / best_old, sink == 42 ? " " : "");
}

/* Instructions callgrind counted in the file PATH ("totals:" line), or
   -1. */
static double
callgrind_total(const char *path)
{
  FILE *f = fopen(path, "r");
  char line[512];
  double total = -1;

  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0)
      total = strtod(line + (line[0] == 't' ? 7 : 8), NULL);
  fclose(f);
  return total;
}

/* Run this program under callgrind counting inside pass_WHICH() only, for
   CALLGRIND_ROUNDS passes; instructions per request, or -1. */
static double
count_instructions(const char *which, int argc, char **argv, size_t requests)
{
  char out[96], out_arg[128], toggle[64], rounds[16];
  double total;
  pid_t pid;
  int status;

  if (PXC_VALGRIND[0] == '\0')
    return -1;
  snprintf(out, sizeof(out), "/tmp/pxc-bench-callgrind.%ld", (long)getpid());
  snprintf(out_arg, sizeof(out_arg), "--callgrind-out-file=%s", out);
  snprintf(toggle, sizeof(toggle), "--toggle-collect=pass_%s", which);
  snprintf(rounds, sizeof(rounds), "%d", CALLGRIND_ROUNDS);
  pid = fork();
  if (pid == 0) {
    char *args[64];
    int n = 0;
    args[n++] = (char *)PXC_VALGRIND;
    args[n++] = (char *)"--tool=callgrind";
    args[n++] = (char *)"--collect-atstart=no";
    args[n++] = toggle;
    args[n++] = out_arg;
    args[n++] = argv[0];
    args[n++] = (char *)"--pass";
    args[n++] = (char *)which;
    args[n++] = rounds;
    for (int i = 2; i < argc && n < 63; i++)
      args[n++] = argv[i];
    args[n] = NULL;
    if (!freopen("/dev/null", "w", stderr))
      _exit(127);
    execv(PXC_VALGRIND, args);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return -1;
  total = callgrind_total(out);
  unlink(out);
  return total < 0 ? -1 : total / (double)(requests * CALLGRIND_ROUNDS);
}

/* Print the instruction counts of both classifiers, and of the DHCPv6
   one on its mix. */
static void
compare_instructions(int argc, char **argv, const struct corpora *c)
{
  double i_old = count_instructions("legacy", argc, argv, c->v4.count);
  double i_new = count_instructions("new", argc, argv, c->v4.count);
  double i_v6 = count_instructions("v6", argc, argv, c->v6.count);

  if (i_old < 0 || i_new < 0 || i_v6 < 0) {
    printf("instructions per request: callgrind not available\n");
    return;
  }
  printf("%-40s %10.0f instructions/request\n", "classify, 0.1 (legacy)", i_old);
  printf("%-40s %10.0f instructions/request  (goal <= 1000)\n",
         "classify, one pass", i_new);
  printf("%-40s %10.2f\n", "instruction ratio new/legacy", i_new / i_old);
  printf("%-40s %10.0f instructions/request\n", "classify6, DHCPv6 mix", i_v6);
}

/* Time the DHCPv6 classifier on its mix (best of TURNS turns). */
static void
time_v6(const struct corpus *c, long rounds)
{
  double best = 1e9;
  unsigned long sink = 0;

  for (int turn = 0; turn < TURNS; turn++) {
    double t = time_pass(pass_v6, c, rounds / TURNS + 1, &sink);
    if (t < best)
      best = t;
  }
  printf("%-40s %10.0f requests/s  %7.1f ns/request%s\n",
         "classify6, DHCPv6 mix", 1 / best, best * 1e9, sink == 42 ? " " : "");
}

static struct pxc_config *
config(const char *const lines[][2], size_t n)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[256];

  for (size_t i = 0; i < n; i++)
    if (pxc_config_add(cfg, lines[i][0], lines[i][1], err, sizeof(err)) < 0) {
      fprintf(stderr, "%s\n", err);
      exit(1);
    }
  if (pxc_config_finish(cfg, err, sizeof(err)) < 0) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  return cfg;
}

/* Run ROUNDS passes over the corpus with every rule of CFG evaluated and
   the tracker (if CFG needs one) recording; RANDOM_MAC gives each request
   a new MAC (a table-filling workload). */
static void
run(const char *label, struct pxc_config *cfg, const struct corpus *c,
    long rounds, bool random_mac)
{
  static struct pxc_request req;
  struct pxc_tracker *trk = pxc_tracker_new(cfg);
  unsigned long matched = 0;
  uint64_t x = 88172645463325252ULL;
  double start = seconds(), elapsed;
  long n = 0;

  for (long r = 0; r < rounds; r++)
    for (size_t i = 0; i < c->count; i++, n++) {
      struct pxc_verdict v;
      pxc_classify(cfg, c->data[i], c->len[i], &req);
      if (random_mac) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(req.chaddr, &x, 6);
      }
      pxc_evaluate(cfg, trk, &req, (time_t)(n / 100000), &v);
      for (size_t k = 0; k < pxc_rule_count(cfg); k++)
        matched += pxc_rule_matches(cfg, k, &v);
      if (trk)
        pxc_tracker_record(trk, &v);
    }
  elapsed = seconds() - start;
  pxc_tracker_free(trk);
  printf("%-40s %10.0f requests/s  %7.1f ns/request  (%ld requests, %lu tags)\n",
         label, (double)n / elapsed, elapsed * 1e9 / (double)n, n, matched);
}

/* Classification with rules, and through the chain tracker. */
static void
run_rules(const struct corpus *c, long rounds)
{
  static const char *const rules[][2] = {
      {"dhcp-pxe-class", "set:fw,pxe,http-boot"},
      {"dhcp-pxe-class", "set:own,ipxe-own"},
      {"dhcp-pxe-arch", "set:efi,efi"},
      {"dhcp-pxe-arch", "set:bios,bios"},
      {"dhcp-ipxe-feature", "set:https,https"},
      {"dhcp-ipxe-version", "set:new,>=1.21.1"},
      {"dhcp-ipxe-busid", "set:virtio,pci:1af4"},
      {"dhcp-ipxe-own", "user-class:CSTM"},
  };
  static const char *const tracked[][2] = {
      {"dhcp-ipxe-own", "chained"},
      {"dhcp-pxe-class", "set:own,ipxe-own"},
      {"dhcp-chain-guard", "4,60,4096"},
  };

  run("classify + 8 rules", config(rules, 8), c, rounds, false);
  run("classify + chain tracker (same MACs)", config(tracked, 3), c, rounds,
      false);
  run("classify + chain tracker (random MACs)", config(tracked, 3), c, rounds,
      true);
}

int
main(int argc, char **argv)
{
  static struct corpora cs;
  struct corpus *c = &cs.v4;
  char err[512];
  bool pass_only = argc > 3 && strcmp(argv[1], "--pass") == 0;
  int first = pass_only ? 4 : 2;
  long rounds = atol(argv[first - 1 < argc ? first - 1 : 0]);

  if (argc <= first || rounds <= 0) {
    fprintf(stderr, "usage: bench-classify ROUNDS capture.pcap...\n");
    return 2;
  }
  for (int i = first; i < argc; i++)
    if (capture_each(argv[i], keep_request, &cs, err, sizeof(err)) < 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
  add_v6_mix(&cs.v6);
  if (c->count == 0) {
    fprintf(stderr, "no requests in the captures\n");
    return 2;
  }
  if (pass_only) { /* under callgrind, see count_instructions() */
    unsigned long sink = 0;
    for (long r = 0; r < rounds; r++)
      sink += strcmp(argv[2], "new") == 0  ? pass_new(c)
              : strcmp(argv[2], "v6") == 0 ? pass_v6(&cs.v6)
                                           : pass_legacy(c);
    return sink == 1 ? 3 : 0;
  }
  printf("%zu distinct requests from %d captures, %ld rounds; DHCPv6 mix of "
         "%zu\n",
         c->count, argc - 2, rounds, cs.v6.count);
  compare_times(c, rounds);
  time_v6(&cs.v6, rounds);
  compare_instructions(argc, argv, &cs);
  run_rules(c, rounds);
  return 0;
}
