/*
 * Bounded string building (see strbuf.h).  No printf machinery: a
 * renderer called from a dnsmasq hook (the loop warning) runs on a small
 * router's stack, and vsnprintf() alone takes about a kilobyte of it.
 */
#include "strbuf.h"

struct strbuf
strbuf_start(char *buf, size_t len)
{
  struct strbuf sb = {buf, buf ? len : 0, 0};

  if (sb.size)
    buf[0] = '\0';
  return sb;
}

void
strbuf_puts(struct strbuf *sb, const char *s)
{
  if (sb->size == 0)
    return;
  while (*s && sb->used < sb->size - 1)
    sb->buf[sb->used++] = *s++;
  sb->buf[sb->used] = '\0';
}

void
strbuf_putu(struct strbuf *sb, unsigned u)
{
  char digits[12];
  size_t n = sizeof(digits) - 1;

  digits[n] = '\0';
  do
    digits[--n] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  strbuf_puts(sb, digits + n);
}

void
strbuf_puthex(struct strbuf *sb, uint32_t u, unsigned width)
{
  static const char hex[] = "0123456789abcdef";
  char digits[9];
  size_t n = sizeof(digits) - 1;

  digits[n] = '\0';
  do {
    digits[--n] = hex[u & 15];
    u >>= 4;
  } while (u != 0 || (sizeof(digits) - 1 - n < width && n > 0));
  strbuf_puts(sb, digits + n);
}

void
strbuf_bytes(struct strbuf *sb, const uint8_t *data, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\') {
      char ch[2] = {(char)data[i], '\0'};
      strbuf_puts(sb, ch);
    } else {
      strbuf_puts(sb, "\\x");
      strbuf_puthex(sb, data[i], 2);
    }
  }
}
