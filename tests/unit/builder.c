/*
 * Crafting DHCPv4 packets for the unit tests.
 */
#include <string.h>

#include <check.h>

#include "builder.h"
#include "pxeclass.h"

void
builder_request(struct builder *b, const uint8_t mac[6], uint32_t xid,
                uint8_t msg_type)
{
  static const uint8_t cookie[4] = {99, 130, 83, 99};

  memset(b, 0, sizeof(*b));
  b->buf[0] = 1; /* BOOTREQUEST */
  b->buf[1] = 1; /* Ethernet */
  b->buf[2] = 6;
  b->buf[4] = (uint8_t)(xid >> 24);
  b->buf[5] = (uint8_t)(xid >> 16);
  b->buf[6] = (uint8_t)(xid >> 8);
  b->buf[7] = (uint8_t)xid;
  memcpy(b->buf + 28, mac, 6);
  memcpy(b->buf + 236, cookie, 4);
  b->len = 240;
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

struct pxc_config *
config_of(const char *const *lines)
{
  struct pxc_config *cfg = pxc_config_new();
  char err[512];

  for (; *lines; lines++) {
    char name[64];
    const char *eq = strchr(*lines, '=');
    ck_assert_ptr_nonnull(eq);
    ck_assert_uint_lt((size_t)(eq - *lines), sizeof(name));
    memcpy(name, *lines, (size_t)(eq - *lines));
    name[eq - *lines] = '\0';
    ck_assert_msg(pxc_config_add(cfg, name, eq + 1, err, sizeof(err)) == 0,
                  "%s: %s", *lines, err);
  }
  ck_assert_msg(pxc_config_finish(cfg, err, sizeof(err)) == 0, "%s", err);
  return cfg;
}
