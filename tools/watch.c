/*
 * pxeclass watch: the DHCP requests of an interface as they arrive, each
 * printed as explain prints a capture's (the same code), the chain of
 * each client followed as it goes (requests and the server's replies go
 * to the tracker, as explain --config does) and loops flagged when the
 * guard trips.  It only listens: the capture is opened read-only and
 * nothing is ever sent, so capture rights (CAP_NET_RAW) are all it needs.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* How long one poll(2) waits at most: the stop conditions are checked
   at least this often. */
#define POLL_MS 250
/* --seconds beyond a year is taken as a year (no overflow). */
#define MAX_SECONDS (86400UL * 365)
#define FNV_OFFSET  0xcbf29ce484222325ULL
#define FNV_PRIME   0x100000001b3ULL

/* The clients seen, as 64-bit hashes of their MAC (or DUID when a
   DHCPv6 request has no MAC): an open-addressing set, 0 marking a free
   slot, grown to stay at most half full. */
struct client_set {
  uint64_t *slots;
  size_t cap, used;
};

struct watch {
  struct explain ex;
  struct client_set clients;
  unsigned long count; /* --count, 0 for no limit */
  unsigned long loops; /* requests on which the loop guard tripped */
  bool done;           /* --count reached */
  bool failed;         /* out of memory counting clients */
};

static volatile sig_atomic_t stop_signal;

/* SIGINT/SIGTERM: end the loop (poll returns EINTR) and print the
   summary. */
static void
on_signal(int sig)
{
  stop_signal = sig;
}

/* FNV-1a of LEN bytes of DATA after TAG (which keeps a MAC and a DUID
   of the same bytes apart); never 0, the free-slot mark. */
static uint64_t
client_hash(uint8_t tag, const uint8_t *data, size_t len)
{
  uint64_t h = (FNV_OFFSET ^ tag) * FNV_PRIME;

  for (size_t i = 0; i < len; i++)
    h = (h ^ data[i]) * FNV_PRIME;
  return h ? h : 1;
}

/* Put H into the slots of SET (which has room); true if it was new. */
static bool
client_slot_put(struct client_set *set, uint64_t h)
{
  size_t i = (size_t)(h & (set->cap - 1));

  while (set->slots[i] && set->slots[i] != h)
    i = (i + 1) & (set->cap - 1);
  if (set->slots[i])
    return false;
  set->slots[i] = h;
  set->used++;
  return true;
}

/* Double SET's table (64 slots at first).  -1 out of memory. */
static int
client_set_grow(struct client_set *set)
{
  struct client_set bigger = {0};

  bigger.cap = set->cap ? set->cap * 2 : 64;
  bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
  if (!bigger.slots)
    return -1;
  for (size_t i = 0; i < set->cap; i++)
    if (set->slots[i])
      client_slot_put(&bigger, set->slots[i]);
  free(set->slots);
  *set = bigger;
  return 0;
}

/* Count the client of REQ: by its MAC (a DHCPv6 request's comes from
   the link or option 79), else by its DUID; neither, not counted.  The
   same machine asking over both families counts once when its DHCPv6
   MAC is known.  -1 out of memory. */
static int
client_count(struct client_set *set, const struct pxc_request *req)
{
  uint64_t h;

  if (req->hlen)
    h = client_hash(req->htype, req->chaddr, req->hlen);
  else if (req->duid_len)
    h = client_hash(0, req->duid, req->duid_len);
  else
    return 0;
  if ((set->used + 1) * 2 > set->cap && client_set_grow(set) != 0)
    return -1;
  client_slot_put(set, h);
  return 0;
}

/* Each DHCP datagram of the interface: explain's judgement and output,
   flushed per line (log shippers read a pipe), then the counts. */
static void
watch_packet(void *ctx, const struct captured *pkt)
{
  struct watch *w = ctx;
  struct pxc_verdict v;

  if (w->done || !explain_packet(&w->ex, pkt, &v))
    return;
  fflush(stdout);
  if (client_count(&w->clients, v.req) != 0)
    w->failed = true;
  if (v.chain.guard_tripped)
    w->loops++;
  if (w->count && w->ex.requests >= w->count)
    w->done = true;
}

/* Milliseconds of the monotonic clock. */
static long long
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGINT and SIGTERM interrupt poll(2) (no SA_RESTART) and stop. */
static void
catch_stop_signals(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* Read LC until a signal, --count requests or DEADLINE (ms of now_ms(),
   0 for none).  Returns 0, or 1 after a capture error. */
static int
watch_loop(struct watch *w, struct live_capture *lc, long long deadline)
{
  struct pollfd pfd = {.fd = capture_live_fd(lc), .events = POLLIN};
  char err[512];

  while (!stop_signal && !w->done && !w->failed) {
    long long wait = POLL_MS;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0)
        break;
      wait = left < wait ? left : wait;
    }
    if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR) {
      fprintf(stderr, "pxeclass watch: poll: %s\n", strerror(errno));
      return 1;
    }
    if (capture_live_read(lc, watch_packet, w, err, sizeof(err)) < 0) {
      fprintf(stderr, "pxeclass watch: %s\n", err);
      return 1;
    }
  }
  if (w->failed) {
    fprintf(stderr, "pxeclass watch: out of memory\n");
    return 1;
  }
  return 0;
}

/* The last line, on stderr (stdout holds only the requests' lines). */
static void
print_summary(const struct watch *w, struct live_capture *lc, const char *iface)
{
  unsigned long dropped = capture_live_dropped(lc);

  fprintf(stderr, "pxeclass watch: %s: %lu request%s, %zu client%s, %lu loop%s",
          iface, w->ex.requests, w->ex.requests == 1 ? "" : "s",
          w->clients.used, w->clients.used == 1 ? "" : "s", w->loops,
          w->loops == 1 ? "" : "s");
  if (dropped)
    fprintf(stderr, ", %lu frames dropped by the kernel", dropped);
  fprintf(stderr, "\n");
}

static void
usage(FILE *out)
{
  fprintf(out,
          "usage: pxeclass watch [--json] [--config dnsmasq.conf] "
          "[--count N] [--seconds S] IFACE\n"
          "Print every DHCP request seen on IFACE as explain prints a "
          "capture's (DHCPv4\nUDP 67/68/4011, DHCPv6 546/547, 802.1Q-tagged "
          "too), until SIGINT/SIGTERM,\nN requests or S seconds; then a "
          "summary line on stderr.  Only listens: needs\ncapture rights "
          "(CAP_NET_RAW), never sends.\n");
}

/* A positive number of at most ULONG_MAX for OPTION, or 0 after a
   message. */
static unsigned long
positive(const char *option, const char *text)
{
  char *end;
  unsigned long n;

  errno = 0;
  n = strtoul(text, &end, 10);
  if (errno || end == text || *end || n == 0 || text[0] == '-') {
    fprintf(stderr, "pxeclass watch: %s needs a positive number, not '%s'\n",
            option, text);
    return 0;
  }
  return n;
}

int
cmd_watch(int argc, char **argv)
{
  static const struct option options[] = {
      {"json", no_argument, NULL, 'j'},
      {"config", required_argument, NULL, 'c'},
      {"count", required_argument, NULL, 'n'},
      {"seconds", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct watch w = {0};
  struct live_capture *lc;
  const char *config = NULL;
  unsigned long seconds = 0;
  long long deadline = 0;
  char err[1024];
  int c, status;

  while ((c = getopt_long(argc, argv, "jc:n:s:h", options, NULL)) != -1) {
    switch (c) {
    case 'j':
      w.ex.json = true;
      break;
    case 'c':
      config = optarg;
      break;
    case 'n':
      if (!(w.count = positive("--count", optarg)))
        return 2;
      break;
    case 's':
      if (!(seconds = positive("--seconds", optarg)))
        return 2;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind != argc - 1) {
    usage(stderr);
    return 2;
  }
  w.ex.source = argv[optind];
  w.ex.live = true;
  if (explain_setup(&w.ex, "watch", config) != 0)
    return 1;
  lc = capture_live_open(w.ex.source, err, sizeof(err));
  if (!lc) {
    fprintf(stderr, "pxeclass watch: %s\n", err);
    explain_teardown(&w.ex);
    return 1;
  }
  catch_stop_signals();
  if (seconds)
    deadline =
        now_ms() +
        (long long)(seconds < MAX_SECONDS ? seconds : MAX_SECONDS) * 1000;
  fprintf(stderr, "pxeclass watch: listening on %s\n", w.ex.source);
  status = watch_loop(&w, lc, deadline);
  print_summary(&w, lc, w.ex.source);
  capture_live_close(lc);
  free(w.clients.slots);
  explain_teardown(&w.ex);
  return status;
}
