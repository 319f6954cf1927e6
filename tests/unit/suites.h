/*
 * The libcheck suites of the unit test runner, and the helpers they share.
 */
#ifndef PXC_TEST_SUITES_H
#define PXC_TEST_SUITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <check.h>

Suite *parser_suite(void);
Suite *classify_suite(void);
Suite *classify6_suite(void);
Suite *captures_suite(void);
Suite *rules_suite(void);
Suite *tables_suite(void);
Suite *chain_suite(void);
Suite *equivalence_suite(void);
Suite *factsheet_suite(void);
Suite *field_suite(void);

/* Bytes of a painted thread stack BODY(ARG) touched (stack.c). */
size_t stack_touched(void *(*body)(void *), void *arg);

/* A DHCP datagram of a capture in tests/captures/, copied out. */
struct loaded {
  uint8_t *data;
  size_t len;
  struct timeval time;
  uint16_t src_port, dst_port;
  bool request;       /* BOOTREQUEST to port 67 or 4011; DHCPv6: a client
                         message (or RELAY-FORW) to 547 */
  uint8_t src_mac[8]; /* the frame's link-layer source */
  uint8_t src_mac_len;
};

/* Every DHCPv4 datagram of tests/captures/NAME/dhcp.pcap, in file order.
   Returns how many; free them with free_loaded(). */
size_t load_capture(const char *name, struct loaded *out, size_t max);
/* The same for the DHCPv6 datagrams (IPv6, port 547). */
size_t load_capture6(const char *name, struct loaded *out, size_t max);
void free_loaded(struct loaded *pkts, size_t n);

#endif
