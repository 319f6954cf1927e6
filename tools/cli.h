/*
 * Shared declarations of the pxeclass command-line tool.
 */
#ifndef PXC_CLI_H
#define PXC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "pxeclass.h"

/* One UDP datagram to or from a DHCP server port (67, 4011; DHCPv6 547),
   out of a capture. */
struct captured {
  unsigned long index;       /* frame number in the file, from 1 */
  struct timeval time;
  bool ipv6;                      /* IPv6/UDP (DHCPv6), else IPv4 */
  uint8_t src_ip[16], dst_ip[16]; /* the first 4 bytes for IPv4 */
  uint8_t src_mac[8];             /* the link-layer source, where the link */
  uint8_t src_mac_len;            /* type has one (0 if not) */
  uint16_t src_port, dst_port;
  const uint8_t *data;       /* UDP payload, valid during the callback */
  size_t len;
  bool truncated;            /* the frame was cut short by the snap length */
};

typedef void capture_fn(void *ctx, const struct captured *pkt);

/* Call FN for each DHCP datagram of the capture at PATH.
   Returns 0, or -1 with a message in ERR. */
int capture_each(const char *path, capture_fn *fn, void *ctx, char *err,
                 size_t errlen);

/* Load the pxeclass directives of a dnsmasq.conf (following conf-file and
   conf-dir) into CFG and finish it.  Returns 0, or -1 with "… at line N
   of FILE" (or the library's message for a check of the whole config). */
int conf_load(struct pxc_config *cfg, const char *path, char *err,
              size_t errlen);

/* One pxeclass directive line, as the reader met it: the file (as named
   by the caller or by its conf-file/conf-dir line), the line number from
   1, the directive and its value (unquoted, NULL without '=').  Valid
   during the callback only. */
struct conf_directive {
  const char *path;
  unsigned line;
  const char *name;
  const char *value;
};

/* Told of each directive the library accepted, in config order; returns
   0, or -1 to stop reading (out of memory). */
typedef int conf_directive_fn(void *ctx, const struct conf_directive *d);

/* conf_load(), telling FN (may be NULL) of every directive it adds. */
int conf_read(struct pxc_config *cfg, const char *path, conf_directive_fn *fn,
              void *ctx, char *err, size_t errlen);

/* JSON output on stdout (json.c): strings escaped for any bytes. */
void json_bytes(const uint8_t *data, size_t len);
void json_str(const char *s);          /* null for NULL */
void json_key(const char *sep, const char *key); /* SEP "KEY": */

/* What explain (and watch, which prints each request as explain does)
   keeps between the requests it judges (explain.c). */
struct explain {
  struct pxc_config *cfg;
  struct pxc_tracker *trk; /* NULL if the config needs none */
  bool json;
  int family;         /* --hex: 4, 6, or 0 to tell by the bytes */
  const char *source; /* file name (interface name when live) */
  bool live;          /* a live capture: JSON says "iface", not "file" */
  unsigned long requests;
  struct timeval first;
  bool have_first;
};

/* Load CONFIG (NULL: an empty config) into EX and make the chain tracker
   it needs; messages on stderr as "pxeclass COMMAND: …".  Returns 0, or
   1 (nothing left to free). */
int explain_setup(struct explain *ex, const char *command, const char *config);
void explain_teardown(struct explain *ex);

/* Judge and print one datagram PKT: a client request is classified,
   evaluated, recorded in its chain and printed (true, its verdict in
   *V, valid until the next call); a DHCPv4 reply goes to the tracker,
   other DHCPv6 messages are passed over (false). */
bool explain_packet(struct explain *ex, const struct captured *pkt,
                    struct pxc_verdict *v);

/* Live capture of DHCP on an interface (capture.c). */
struct live_capture;

/* Open IFACE read-only for DHCP (v4 67/68/4011, v6 546/547, 802.1Q
   tagged too), non-blocking.  NULL with a message in ERR. */
struct live_capture *capture_live_open(const char *iface, char *err,
                                       size_t errlen);
/* A descriptor to poll(2) for readable frames. */
int capture_live_fd(const struct live_capture *lc);
/* Call FN for each DHCP datagram waiting now; never waits.  Returns the
   frames read, or -1 with a message in ERR. */
int capture_live_read(struct live_capture *lc, capture_fn *fn, void *ctx,
                      char *err, size_t errlen);
/* Frames the kernel dropped because the reader was behind (0 if it
   cannot tell). */
unsigned long capture_live_dropped(struct live_capture *lc);
void capture_live_close(struct live_capture *lc);

int cmd_explain(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_facts(int argc, char **argv);
int cmd_config(int argc, char **argv);

#endif /* PXC_CLI_H */
