/*
 * Crafting DHCPv4 packets for the unit tests: a BOOTP header, the magic
 * cookie, then options appended one by one, into a fixed buffer.
 */
#ifndef PXC_TEST_BUILDER_H
#define PXC_TEST_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#define BUILDER_SIZE 2048

struct builder {
  uint8_t buf[BUILDER_SIZE];
  size_t len;
};

/* A BOOTREQUEST from MAC (6 bytes) with transaction id XID; with MSG_TYPE
   (0: none, plain BOOTP) as option 53. */
void builder_request(struct builder *b, const uint8_t mac[6], uint32_t xid,
                     uint8_t msg_type);
/* Append option CODE with LEN bytes of DATA. */
void builder_option(struct builder *b, uint8_t code, const void *data,
                    size_t len);
/* Append option CODE holding the string S (no NUL). */
void builder_string(struct builder *b, uint8_t code, const char *s);
/* Append raw bytes (possibly malformed) to the options area. */
void builder_raw(struct builder *b, const void *data, size_t len);
/* Append the END option. */
void builder_end(struct builder *b);

struct pxc_config;

/* A finished config from LINES ("name=value" each, NULL-terminated); the
   test fails if any line is refused. */
struct pxc_config *config_of(const char *const *lines);

#endif
