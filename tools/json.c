/*
 * The small JSON writer of the pxeclass CLI: strings from the wire or from
 * the library, escaped so that any bytes make valid JSON.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Print DATA (LEN bytes, any values) as a JSON string: quote and
   backslash escaped, control and non-ASCII bytes as \u00XX. */
void
json_bytes(const uint8_t *data, size_t len)
{
  putchar('"');
  for (size_t i = 0; i < len; i++) {
    uint8_t c = data[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

/* Print S as a JSON string, or null for NULL. */
void
json_str(const char *s)
{
  if (s)
    json_bytes((const uint8_t *)s, strlen(s));
  else
    fputs("null", stdout);
}

/* Print SEP (",", "{" …) then "KEY": — the start of one member. */
void
json_key(const char *sep, const char *key)
{
  fputs(sep, stdout);
  json_str(key);
  putchar(':');
}
