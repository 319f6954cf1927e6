/*
 * Bounded string building for the library's renderers (format.c, and the
 * tracker's chain text): never overflows, always NUL-terminated, and
 * never calls printf (a hook's stack stays small).  Depends on nothing
 * else of lib/.
 */
#ifndef PXC_STRBUF_H
#define PXC_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
  char *buf;
  size_t size;
  size_t used;
};

/* A builder over BUF (N bytes) that appends to what BUF holds at USED 0;
   strbuf_start() also empties BUF. */
#define STRBUF_INIT(b, n)                                                      \
  {                                                                            \
    (b), (n), 0                                                                \
  }

/* A builder over BUF (LEN bytes, may be 0), started as the empty string. */
struct strbuf strbuf_start(char *buf, size_t len);

/* Append the string S, truncating at the end of the buffer; no printf
   machinery, so a caller on a small stack (a dnsmasq hook) stays small. */
void strbuf_puts(struct strbuf *sb, const char *s);

/* Append U in decimal, like strbuf_puts(). */
void strbuf_putu(struct strbuf *sb, unsigned u);

/* Append U in lower-case hexadecimal, at least WIDTH digits (zeros in
   front, as printf's "%0*x"; WIDTH at most 8), like strbuf_puts(). */
void strbuf_puthex(struct strbuf *sb, uint32_t u, unsigned width);

/* Append bytes from the wire as text: printable ASCII as is, others (and
   the backslash) as \xNN, so a client cannot put control characters into
   a log line. */
void strbuf_bytes(struct strbuf *sb, const uint8_t *data, size_t len);

#endif /* PXC_STRBUF_H */
