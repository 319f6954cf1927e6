/*
 * Benchmark: classifications per second on the real captures' requests,
 * alone, with every rule kind evaluated, and through the chain tracker
 * with a random-MAC workload.  Prints figures; it asserts nothing, since a
 * timed test on a shared machine would flake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define MAX_PACKETS 256

struct corpus {
  uint8_t *data[MAX_PACKETS];
  size_t len[MAX_PACKETS];
  size_t count;
};

/* Keep the client requests of a capture. */
static void
keep_request(void *ctx, const struct captured *pkt)
{
  struct corpus *c = ctx;

  if (c->count == MAX_PACKETS || pkt->len < 1 || pkt->data[0] != 1)
    return;
  c->data[c->count] = malloc(pkt->len);
  memcpy(c->data[c->count], pkt->data, pkt->len);
  c->len[c->count++] = pkt->len;
}

static double
seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
  pxc_config_finish(cfg, err, sizeof(err));
  return cfg;
}

/* Run ROUNDS passes over the corpus; EVAL adds evaluation of every rule,
   RANDOM_MAC gives each request a new MAC (a table-filling workload). */
static void
run(const char *label, struct pxc_config *cfg, const struct corpus *c,
    long rounds, bool eval, bool random_mac)
{
  static struct pxc_request req;
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
      if (!eval)
        continue;
      pxc_evaluate(cfg, &req, (time_t)(n / 100000), &v);
      for (size_t k = 0; k < pxc_rule_count(cfg); k++)
        matched += pxc_rule_matches(cfg, k, &v);
    }
  elapsed = seconds() - start;
  printf("%-40s %10.0f requests/s  %7.1f ns/request  (%ld requests, %lu tags)\n",
         label, (double)n / elapsed, elapsed * 1e9 / (double)n, n, matched);
}

int
main(int argc, char **argv)
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
  struct corpus c = {0};
  char err[512];
  long rounds = argc > 1 ? atol(argv[1]) : 20000;

  for (int i = 2; i < argc; i++)
    if (capture_each(argv[i], keep_request, &c, err, sizeof(err)) < 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
  if (c.count == 0) {
    fprintf(stderr, "usage: bench-classify ROUNDS capture.pcap...\n");
    return 2;
  }
  printf("%zu distinct requests from %d captures, %ld rounds\n", c.count,
         argc - 2, rounds);
  run("classify only", NULL, &c, rounds, false, false);
  run("classify + 8 rules", config(rules, 8), &c, rounds, true, false);
  run("classify + chain tracker (same MACs)", config(tracked, 3), &c, rounds,
      true, false);
  run("classify + chain tracker (random MACs)", config(tracked, 3), &c, rounds,
      true, true);
  return 0;
}
