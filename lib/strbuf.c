/*
 * Bounded string building (see strbuf.h).
 */
#include <stdarg.h>
#include <stdio.h>

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
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (sb->size == 0)
    return;
  if (sb->used >= sb->size - 1) {
    sb->buf[sb->size - 1] = '\0';
    return;
  }
  va_start(ap, fmt);
  n = vsnprintf(sb->buf + sb->used, sb->size - sb->used, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  sb->used += (size_t)n;
  if (sb->used >= sb->size)
    sb->used = sb->size - 1;
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
strbuf_bytes(struct strbuf *sb, const uint8_t *data, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\')
      strbuf_printf(sb, "%c", data[i]);
    else
      strbuf_printf(sb, "\\x%02x", data[i]);
  }
}
