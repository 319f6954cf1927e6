/*
 * Crafting DHCPv4 packets for the unit tests.
 */
#include <stddef.h>
#include <string.h>

#include <check.h>

#include "builder.h"
#include "wire.h"

void
builder_request(struct builder *b, const uint8_t mac[6], uint32_t xid,
                uint8_t msg_type)
{
  /* written out here, not taken from the library under test */
  static const uint8_t cookie[DHCP_COOKIE_LEN] = {99, 130, 83, 99};
  uint8_t *xid_at = b->buf + offsetof(struct bootp_header, xid);

  memset(b, 0, sizeof(*b));
  b->buf[offsetof(struct bootp_header, op)] = BOOTP_REQUEST;
  b->buf[offsetof(struct bootp_header, htype)] = 1; /* Ethernet */
  b->buf[offsetof(struct bootp_header, hlen)] = 6;
  xid_at[0] = (uint8_t)(xid >> 24);
  xid_at[1] = (uint8_t)(xid >> 16);
  xid_at[2] = (uint8_t)(xid >> 8);
  xid_at[3] = (uint8_t)xid;
  memcpy(b->buf + offsetof(struct bootp_header, chaddr), mac, 6);
  memcpy(b->buf + BOOTP_HEADER_LEN, cookie, sizeof(cookie));
  b->len = DHCP_OPTIONS_OFF;
  if (msg_type)
    builder_option(b, 53, &msg_type, 1);
}

void
builder_raw(struct builder *b, const void *data, size_t len)
{
  ck_assert_uint_le(b->len + len, sizeof(b->buf));
  memcpy(b->buf + b->len, data, len);
  b->len += len;
}

void
builder_option(struct builder *b, uint8_t code, const void *data, size_t len)
{
  uint8_t head[2] = {code, (uint8_t)len};

  ck_assert_uint_le(len, 255);
  builder_raw(b, head, 2);
  builder_raw(b, data, len);
}

void
builder_string(struct builder *b, uint8_t code, const char *s)
{
  builder_option(b, code, s, strlen(s));
}

void
builder_end(struct builder *b)
{
  static const uint8_t end = 255;

  builder_raw(b, &end, 1);
}
