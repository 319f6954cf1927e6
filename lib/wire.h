/*
 * The bottom layer of libpxeclass: the DHCPv4 and DHCPv6 wire formats in
 * one place, length-checked typed readers, and the one hash.  Everything
 * above reads packets only through these, so no read can cross the end of
 * its buffer.  This file depends on nothing else of the library.
 */
#ifndef PXC_WIRE_H
#define PXC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* DHCPv4 (RFC 2131, RFC 2132, RFC 3396; PXE 2.1; iPXE dhcp.h)          */

/* The fixed BOOTP header, as on the wire (RFC 2131 §2, figure 1). */
struct bootp_header {
  uint8_t op, htype, hlen, hops;
  uint8_t xid[4];
  uint8_t secs[2], flags[2];
  uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
  uint8_t chaddr[16];
  uint8_t sname[64];
  uint8_t file[128];
};

#define BOOTP_HEADER_LEN  sizeof(struct bootp_header) /* 236 */
#define DHCP_COOKIE_LEN   4
#define DHCP_OPTIONS_OFF  (BOOTP_HEADER_LEN + DHCP_COOKIE_LEN)
#define BOOTP_REQUEST     1
#define BOOTP_REPLY       2

extern const uint8_t dhcp_cookie[DHCP_COOKIE_LEN];

enum dhcp_option {
  DHCP_PAD = 0,
  DHCP_VENDOR_ENCAP = 43,
  DHCP_OVERLOAD = 52,
  DHCP_MSG_TYPE = 53,
  DHCP_SERVER_ID = 54,
  DHCP_PARAM_LIST = 55,
  DHCP_VENDOR_CLASS = 60,
  DHCP_CLIENT_ID = 61,
  DHCP_BOOTFILE = 67,
  DHCP_USER_CLASS = 77,
  DHCP_CLIENT_ARCH = 93,
  DHCP_CLIENT_NDI = 94,
  DHCP_CLIENT_UUID = 97,
  DHCP_EB5_ENCAP = 150, /* Etherboot 5.x */
  DHCP_EB_ENCAP = 175,  /* iPXE, gPXE */
  DHCP_WDS_NBP = 250,   /* Windows WDS network boot program (wdsbp.h) */
  DHCP_END = 255
};

/* Option 53's values that the classifier tells apart (RFC 2132 §9.6). */
enum dhcp_msg_type {
  DHCP_DISCOVER = 1,
  DHCP_REQUEST = 3
};

/* Option 52's value: which header fields carry options. */
enum dhcp_overload {
  DHCP_OVERLOAD_FILE = 1,
  DHCP_OVERLOAD_SNAME = 2
};

/* PXE sub-option of 43: the boot item of a boot-server request. */
#define PXE_BOOT_ITEM 71

/* BSDP sub-options of option 43 (Apple's bootp, bootplib/bsdp.h
   bsdptag_t): those a client sends. */
enum bsdp_option {
  BSDP_MSG_TYPE = 1,
  BSDP_VERSION = 2,
  BSDP_SERVER_ID = 3,
  BSDP_REPLY_PORT = 5,
  BSDP_SELECTED_IMAGE = 8,
  BSDP_FIRMWARE_1_0 = 10,
  BSDP_MAX_MESSAGE_SIZE = 12
};

/* iPXE option 175 sub-options that are not feature flags. */
#define DHCP_EB_BUS_ID  177
#define DHCP_EB5_NIC_ID 175 /* inside Etherboot 5's option 150 */
#define DHCP_EB_VERSION 235

/* ------------------------------------------------------------------ */
/* DHCPv6 (RFC 8415; RFC 5970 boot options; RFC 6355 DUID-UUID; RFC     */
/* 6939 client link-layer address)                                      */

/* A client or server message: type, then a 24-bit transaction id. */
#define DHCP6_HEADER_LEN 4
/* A relay message: type, hop count, link-address, peer-address. */
#define DHCP6_RELAY_HEADER_LEN  34
#define DHCP6_OPTION_HEADER_LEN 4 /* code u16, length u16 */

enum dhcp6_msg {
  DHCP6_SOLICIT = 1,
  DHCP6_ADVERTISE = 2,
  DHCP6_REQUEST = 3,
  DHCP6_CONFIRM = 4,
  DHCP6_RENEW = 5,
  DHCP6_REBIND = 6,
  DHCP6_REPLY = 7,
  DHCP6_RELEASE = 8,
  DHCP6_DECLINE = 9,
  DHCP6_INFORMATION_REQUEST = 11,
  DHCP6_RELAY_FORW = 12,
  DHCP6_RELAY_REPL = 13
};

enum dhcp6_option {
  DHCP6_CLIENT_ID = 1,
  DHCP6_IA_NA = 3,
  DHCP6_IAADDR = 5,
  DHCP6_RELAY_MSG = 9,
  DHCP6_STATUS_CODE = 13,
  DHCP6_USER_CLASS = 15,
  DHCP6_VENDOR_CLASS = 16,
  DHCP6_INTERFACE_ID = 18,
  DHCP6_BOOTFILE_URL = 59,
  DHCP6_CLIENT_ARCH = 61,
  DHCP6_CLIENT_NII = 62,
  DHCP6_CLIENT_LINKLAYER = 79
};

/* DUID types (RFC 8415 §11, RFC 6355) and the bytes each needs after
   its 2-byte type: LLT hwtype + time, EN enterprise, LL hwtype, UUID. */
enum dhcp6_duid { DUID_LLT = 1, DUID_EN = 2, DUID_LL = 3, DUID_UUID = 4 };
#define DUID_MAX_LEN 130 /* type + 128 bytes (RFC 8415 §11.1) */

/* ------------------------------------------------------------------ */
/* Typed readers: a cursor over bytes that never moves past its end.    */

struct reader {
  const uint8_t *p;
  size_t left;
};

static inline struct reader
reader_of(const uint8_t *data, size_t len)
{
  return (struct reader){data, len};
}

/* Consume N bytes into OUT (if not NULL); false, nothing consumed, if
   fewer are left. */
static inline bool
read_bytes(struct reader *r, void *out, size_t n)
{
  if (r->left < n)
    return false;
  if (out)
    memcpy(out, r->p, n);
  r->p += n;
  r->left -= n;
  return true;
}

static inline bool
read_u8(struct reader *r, uint8_t *v)
{
  if (r->left < 1)
    return false;
  *v = r->p[0];
  r->p++;
  r->left--;
  return true;
}

static inline bool
read_be16(struct reader *r, uint16_t *v)
{
  if (r->left < 2)
    return false;
  *v = (uint16_t)(r->p[0] << 8 | r->p[1]);
  r->p += 2;
  r->left -= 2;
  return true;
}

static inline bool
read_be32(struct reader *r, uint32_t *v)
{
  if (r->left < 4)
    return false;
  *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
       (uint32_t)r->p[2] << 8 | r->p[3];
  r->p += 4;
  r->left -= 4;
  return true;
}

/* Big-endian values at a place already known to be in bounds. */
static inline uint16_t
be16_at(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
be32_at(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Little-endian values at a place already known to be in bounds (the
   first fields of a GUID on the wire, RFC 4578 §2.3). */
static inline uint16_t
le16_at(const uint8_t *p)
{
  return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
le32_at(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/*
 * The N (0..8) bytes at P (in bounds) as a little-endian word, zero
 * above, without reading past them: from 4 bytes on, two 4-byte loads
 * that overlap as N needs; below, the first, middle and last byte
 * (which cover 1 to 3 bytes).
 */
static inline uint64_t
le_bytes_at(const uint8_t *p, size_t n)
{
  if (n >= 4)
    return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + n - 4) << (8 * (n - 4));
  if (n == 0)
    return 0;
  return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
         (uint64_t)p[n - 1] << (8 * (n - 1));
}

/* Store W little-endian at P (8 bytes in bounds): bit N of W becomes
   bit N of the bitmap at P, as bit_set() numbers them. */
static inline void
store_le64(uint8_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  memcpy(p, &w, sizeof(w));
}

/* Store V big-endian at P (in bounds). */
static inline void
store_be16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static inline void
store_be32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The 8 bytes at P as a little-endian word (first byte lowest), at a
   place already known to be in bounds. */
static inline uint64_t
le64_at(const uint8_t *p)
{
  uint64_t w;

  memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* One code/length/value item (a DHCP option or sub-option). */
struct tlv {
  uint8_t code;
  uint8_t len;
  const uint8_t *data;
};

enum tlv_step { TLV_ITEM, TLV_END, TLV_NO_END, TLV_OVERRUN };

/*
 * The common case of a TLV step: if the next byte of R starts a whole
 * item (neither PAD nor END, its length byte and value in bounds), take
 * it into ITEM and return true; otherwise return false with R unchanged.
 * Three tests: the area has two bytes, the code is not 0 or 255 (one
 * compare: code + 1, as a byte, is then at least 2), the value fits.
 */
static inline bool
tlv_take(struct reader *r, struct tlv *item)
{
  const uint8_t *p = r->p;
  size_t left = r->left;

  if (left < 2 || (uint8_t)(p[0] + 1) < 2 || p[1] > left - 2)
    return false;
  item->code = p[0];
  item->len = p[1];
  item->data = p + 2;
  r->p = p + 2 + p[1];
  r->left = left - 2 - p[1];
  return true;
}

/* tlv_next() past its common case: PAD, END, the end of the area, or a
   length that crosses it.  (The last byte of an area is the only place
   where a lone PAD/END/code needs telling apart.) */
static inline enum tlv_step
tlv_next_rare(struct reader *r, struct tlv *item)
{
  const uint8_t *p = r->p;
  size_t left = r->left;

  for (;;) {
    if (left < 2) { /* at most one byte left: PAD, END or a cut item */
      if (left == 1 && p[0] == DHCP_PAD)
        p++, left--;
      r->p = p;
      r->left = left;
      if (left == 0)
        return TLV_NO_END;
      return p[0] == DHCP_END ? TLV_END : TLV_OVERRUN;
    }
    if (p[0] != DHCP_PAD)
      break;
    p++, left--;
  }
  r->p = p;
  r->left = left;
  if (p[0] == DHCP_END)
    return TLV_END;
  if (!tlv_take(r, item))
    return TLV_OVERRUN;
  return TLV_ITEM;
}

/*
 * Step to the next item of a TLV area: PAD is skipped; END, the end of
 * the area, or a length that crosses it stops.  After TLV_OVERRUN nothing
 * more of the area is read.  The common case, a whole item next, is
 * tlv_take()'s; the rest tlv_next_rare()'s.
 */
static inline enum tlv_step
tlv_next(struct reader *r, struct tlv *item)
{
  if (tlv_take(r, item))
    return TLV_ITEM;
  return tlv_next_rare(r, item);
}

/*
 * The same walk for the hot loops: a cursor and the end of its area (one
 * pointer to move per item, not a pointer and a count).  tlv_step()
 * returns what tlv_next() would for the same bytes, and leaves the
 * cursor where tlv_next() leaves its reader.
 */
struct tlv_cursor {
  const uint8_t *p, *end;
};

static inline struct tlv_cursor
tlv_cursor_of(const uint8_t *data, size_t len)
{
  return (struct tlv_cursor){data, data + len};
}

static inline enum tlv_step
tlv_step(struct tlv_cursor *c, struct tlv *item)
{
  const uint8_t *p = c->p;
  struct reader r;
  enum tlv_step step;

  /* the common case, as tlv_take() (expected: the rare path goes out of
     the loop's way) */
  if (__builtin_expect(c->end - p >= 2 && (uint8_t)(p[0] + 1) >= 2 &&
                           p[1] <= c->end - p - 2,
                       1)) {
    item->code = p[0];
    item->len = p[1];
    item->data = p + 2;
    c->p = p + 2 + p[1];
    return TLV_ITEM;
  }
  /* the ends every walk meets, before the general rare path */
  if (c->end == p)
    return TLV_NO_END;
  if (p[0] == DHCP_END)
    return TLV_END;
  r = reader_of(p, (size_t)(c->end - p));
  step = tlv_next_rare(&r, item);
  c->p = r.p;
  return step;
}

/* One DHCPv6 option: 16-bit code and length (RFC 8415 §21.1). */
struct tlv6 {
  uint16_t code;
  uint16_t len;
  const uint8_t *data;
};

/*
 * Step to the next DHCPv6 option of R: true with it in ITEM, false at the
 * end of the area (*OVERRUN false) or at an option whose header or value
 * crosses the end (*OVERRUN true; R then stays there, so nothing more of
 * the area is read).  DHCPv6 has no PAD and no END.
 */
static inline bool
tlv6_next(struct reader *r, struct tlv6 *item, bool *overrun)
{
  const uint8_t *p = r->p;
  size_t left = r->left;

  *overrun = false;
  if (left == 0)
    return false;
  if (left < DHCP6_OPTION_HEADER_LEN ||
      be16_at(p + 2) > left - DHCP6_OPTION_HEADER_LEN) {
    *overrun = true;
    return false;
  }
  item->code = be16_at(p);
  item->len = be16_at(p + 2);
  item->data = p + DHCP6_OPTION_HEADER_LEN;
  r->p = p + DHCP6_OPTION_HEADER_LEN + item->len;
  r->left = left - DHCP6_OPTION_HEADER_LEN - item->len;
  return true;
}

/* ------------------------------------------------------------------ */
/* Bitmaps                                                              */

static inline bool
bit_test(const uint8_t *bitmap, unsigned n)
{
  return (bitmap[n >> 3] >> (n & 7)) & 1;
}

static inline void
bit_set(uint8_t *bitmap, unsigned n)
{
  bitmap[n >> 3] |= (uint8_t)(1u << (n & 7));
}

/* ------------------------------------------------------------------ */
/* The one hash: FNV-1a's xor-multiply step, eight bytes at a time, with  */
/* a final mix.  Fingerprints and the tracker's DUID hashes use it (the */
/* tracker's buckets hash their keys by multiply-shift, key_bucket()).  */

uint64_t pxc_hash(uint64_t seed, const void *data, size_t len);

/* FNV-1a's 64-bit prime. */
#define PXC_HASH_PRIME 0x100000001b3ULL

/* One eight-byte step of pxc_hash() (without its final mix), for a caller
   that has its key in words already: pxc_hash(pxc_hash_word(s, w), d, n)
   is pxc_hash(s, bytes of w then d, 8 + n), W's bytes in memory order. */
static inline uint64_t
pxc_hash_word(uint64_t h, uint64_t w)
{
  h = (h ^ w) * PXC_HASH_PRIME;
  return h ^ (h >> 29);
}

/* pxc_hash()'s final mix (MurmurHash3's fmix64), for a caller that took
   its words with pxc_hash_word(): pxc_hash_final(h) is pxc_hash(h, NULL,
   0). */
static inline uint64_t
pxc_hash_final(uint64_t h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

#define PXC_HASH_SEED 0xcbf29ce484222325ULL

#endif /* PXC_WIRE_H */
