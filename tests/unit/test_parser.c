/*
 * Unit tests of the option walk of the classifier (lib/classify.c) and of
 * the wire layer's readers (lib/wire.h): overload, RFC 3396 joins, and
 * every way a packet can be malformed, seen through pxc_classify().  Under
 * ASan these also prove that no read leaves the packet.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "builder.h"
#include "pxeclass.h"
#include "suites.h"
#include "wire.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x77, 0x00, 0x01};

/* The packet being built, the request, and the exact-size copy read. */
static struct builder b;
static struct pxc_request req;
static uint8_t *copy;

/* Classify LEN bytes of DATA, copied into a heap block of exactly that
   length so that ASan catches any read past the end; the errors. */
static uint32_t
classify_exact(const uint8_t *data, size_t len)
{
  free(copy);
  copy = malloc(len ? len : 1);
  memcpy(copy, data, len);
  pxc_classify(NULL, copy, len, &req);
  return req.errors;
}

/* Classify the packet built in B. */
static uint32_t
classify_built(void)
{
  return classify_exact(b.buf, b.len);
}

static void
free_copy(void)
{
  free(copy);
  copy = NULL;
}

/* A view as a NUL-terminated string (static buffer), NULL for none. */
static const char *
text_of(struct pxc_bytes v)
{
  static char text[PXC_TEXT_MAX + 1];

  if (!v.data)
    return NULL;
  memcpy(text, v.data, v.len);
  text[v.len] = '\0';
  return text;
}

/* Option 60 and the first string of option 77 of the request. */
static const char *
vendor_text(void)
{
  return text_of(pxc_vendor_class(&req));
}

static const char *
user_text(void)
{
  return text_of(pxc_user_class(&req, 0));
}

START_TEST(plain_packet)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient");
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_str_eq(vendor_text(), "PXEClient");
  ck_assert_ptr_null(user_text());
}
END_TEST

START_TEST(pad_is_skipped)
{
  static const uint8_t pads[5] = {0};

  builder_request(&b, mac, 1, 1);
  builder_raw(&b, pads, sizeof(pads));
  builder_string(&b, 77, "iPXE");
  builder_raw(&b, pads, sizeof(pads));
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_str_eq(user_text(), "iPXE");
}
END_TEST

/* Option 52 = 3: file then sname are option areas, read in that order. */
START_TEST(overload_file_and_sname)
{
  static const uint8_t both = 3;

  builder_request(&b, mac, 1, 1);
  builder_option(&b, 52, &both, 1);
  builder_string(&b, 77, "AB");
  builder_end(&b);
  /* file: 77 "CD", 60 "PXEClient", END; sname: 77 "EF", END */
  memcpy(b.buf + 108, "\x4d\x02" "CD" "\x3c\x09" "PXEClient" "\xff", 16);
  memcpy(b.buf + 44, "\x4d\x02" "EF" "\xff", 5);
  classify_built();
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_str_eq(vendor_text(), "PXEClient");
  ck_assert_str_eq(user_text(), "ABCDEF");
}
END_TEST

/* Option 52 = 1 leaves sname alone even if it looks like options. */
START_TEST(overload_file_only)
{
  static const uint8_t file = 1;

  builder_request(&b, mac, 1, 1);
  builder_option(&b, 52, &file, 1);
  builder_end(&b);
  memcpy(b.buf + 108, "\x3c\x04" "HTTP" "\xff", 7);
  memcpy(b.buf + 44, "\x4d\x02" "EF" "\xff", 5);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_str_eq(vendor_text(), "HTTP");
  ck_assert_ptr_null(user_text());
}
END_TEST

/* Without option 52, file and sname are never read as options. */
START_TEST(no_overload_ignores_file)
{
  builder_request(&b, mac, 1, 1);
  builder_end(&b);
  memcpy(b.buf + 108, "\x3c\x04" "HTTP" "\xff", 7);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_ptr_null(vendor_text());
}
END_TEST

START_TEST(overload_bad_value)
{
  static const uint8_t values[][2] = {{1, 0}, {1, 4}, {2, 1}, {0, 0}};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    uint8_t opt[2] = {values[i][1], 1};

    builder_request(&b, mac, 1, 1);
    builder_option(&b, 52, opt, values[i][0]);
    builder_end(&b);
    memcpy(b.buf + 108, "\x3c\x04" "HTTP" "\xff", 7);
    ck_assert_uint_eq(classify_built(), PXC_ERR_OVERLOAD);
    ck_assert_ptr_null(vendor_text());
  }
}
END_TEST

/* 52 pointing at garbage: what precedes the bad option is kept. */
START_TEST(overload_into_garbage)
{
  static const uint8_t file = 1;

  builder_request(&b, mac, 1, 1);
  builder_option(&b, 52, &file, 1);
  builder_end(&b);
  memcpy(b.buf + 108, "\x3c\x04" "HTTP" "\x4d\xf0" "xx", 10);
  ck_assert_uint_eq(classify_built(), PXC_ERR_OVERLOAD);
  ck_assert_str_eq(vendor_text(), "HTTP");
  ck_assert_ptr_null(user_text());
}
END_TEST

START_TEST(split_option_joined)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient:Arch:");
  builder_string(&b, 77, "iPXE");
  builder_string(&b, 60, "00007:UNDI:003000");
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_str_eq(vendor_text(), "PXEClient:Arch:00007:UNDI:003000");
  ck_assert_str_eq(user_text(), "iPXE");
  /* the joined value is what was read */
  ck_assert(req.has_arch60 && req.arch60 == 7 && req.undi60_major == 3);
}
END_TEST

/* A split option too long to join: PXC_ERR_SPLIT, and the first fragment
   alone is read (the boot item in the second one is not seen).  Joined
   within bounds, the same fragments are read whole. */
START_TEST(split_option_too_long)
{
  uint8_t part[200];

  memset(part, 0, sizeof(part)); /* PAD sub-options */
  for (int fragments = 2; fragments <= 8; fragments += 6) {
    builder_request(&b, mac, 1, 1);
    builder_string(&b, 60, "PXEClient");
    for (int i = 0; i < fragments; i++) {
      memset(part, 0, sizeof(part));
      if (i == 1)
        memcpy(part, "\x47\x04\x80\x01\x00\x00", 6); /* boot item */
      builder_option(&b, 43, part, sizeof(part));
    }
    builder_end(&b);
    classify_built();
    if (fragments == 2) {
      ck_assert_uint_eq(req.errors, 0);
      ck_assert(req.has_boot_item);
      ck_assert_uint_eq(req.boot_item_type, 0x8001);
    } else {
      ck_assert_uint_eq(req.errors & PXC_ERR_SPLIT, PXC_ERR_SPLIT);
      ck_assert(!req.has_boot_item);
    }
  }
}
END_TEST

/* Each split option has the whole join buffer to itself: two options of
   600 bytes each are both read whole (0.1 shared 1024 bytes of scratch
   between all the joins of a request and flagged the second). */
START_TEST(split_options_join_each)
{
  static const uint8_t flag[3] = {0x13, 1, 1};
  uint8_t part[200];

  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient");
  for (int i = 0; i < 3; i++) {
    memset(part, 0, sizeof(part));
    if (i == 2)
      memcpy(part, "\x47\x04\x80\x02\x00\x00", 6); /* boot item */
    builder_option(&b, 43, part, sizeof(part));
    memset(part, 0, sizeof(part));
    if (i == 2)
      memcpy(part + sizeof(part) - 3, flag, 3); /* feature 0x13, last */
    builder_option(&b, 175, part, sizeof(part));
  }
  builder_end(&b);
  classify_built();
  ck_assert_uint_eq(req.errors, 0);
  ck_assert(req.has_boot_item);
  ck_assert_uint_eq(req.boot_item_type, 0x8002);
  ck_assert(pxc_has_feature(&req, 0x13));
}
END_TEST

/* Options 60 and 77 are kept whole up to PXC_TEXT_MAX bytes: joined
   beyond it, PXC_ERR_SPLIT and the first fragment alone. */
START_TEST(split_text_too_long)
{
  char part[201];

  memset(part, 'x', 200);
  part[200] = '\0';
  memcpy(part, "PXEClient", 9);
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, part);
  builder_string(&b, 77, "iPXE");
  builder_string(&b, 60, part + 9);
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), PXC_ERR_SPLIT);
  ck_assert_uint_eq(pxc_vendor_class(&req).len, 200);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  /* exactly PXC_TEXT_MAX joined is fine */
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, part);
  part[55] = '\0';
  builder_string(&b, 60, part);
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert_uint_eq(pxc_vendor_class(&req).len, PXC_TEXT_MAX);
}
END_TEST

START_TEST(option_overruns_packet)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient");
  builder_raw(&b, "\x4d\x10" "iPXE", 6); /* says 16, holds 4 */
  ck_assert_uint_eq(classify_built(), PXC_ERR_OPT_OVERRUN);
  ck_assert_str_eq(vendor_text(), "PXEClient");
  ck_assert_ptr_null(user_text());
}
END_TEST

START_TEST(length_byte_missing)
{
  builder_request(&b, mac, 1, 1);
  builder_raw(&b, "\x4d", 1);
  ck_assert_uint_eq(classify_built(), PXC_ERR_OPT_OVERRUN);
}
END_TEST

START_TEST(missing_end)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 77, "iPXE");
  ck_assert_uint_eq(classify_built(), PXC_ERR_NO_END);
  ck_assert_str_eq(user_text(), "iPXE");
}
END_TEST

START_TEST(no_cookie)
{
  builder_request(&b, mac, 1, 1);
  builder_end(&b);
  b.buf[236] = 0;
  ck_assert_uint_eq(classify_built(), PXC_ERR_COOKIE);
  ck_assert_uint_eq(req.msg_type, 0);
}
END_TEST

/* Every length from 0 to a full packet: no read past the end, and the
   right error for where the cut falls. */
START_TEST(every_truncation)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient:Arch:00000:UNDI:002001");
  builder_string(&b, 77, "iPXE");
  builder_end(&b);
  for (size_t len = 0; len <= b.len; len++) {
    uint32_t errors = classify_exact(b.buf, len);
    if (len < 236)
      ck_assert_uint_eq(errors, PXC_ERR_SHORT);
    else if (len < 240)
      ck_assert_uint_eq(errors, PXC_ERR_COOKIE);
    else if (len < b.len)
      ck_assert_uint_ne(errors, 0);
    else
      ck_assert_uint_eq(errors, 0);
  }
}
END_TEST

/* A 64 KiB packet: walking it is bounded and finds the late option. */
/* A 64 KiB packet: walking it is bounded and finds the late option. */
START_TEST(huge_packet)
{
  size_t len = 65535;
  uint8_t *pkt = calloc(1, len);

  builder_request(&b, mac, 1, 1);
  memcpy(pkt, b.buf, b.len);
  memcpy(pkt + len - 7, "\x4d\x04" "iPXE" "\xff", 7);
  pxc_classify(NULL, pkt, len, &req);
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_uint_eq(pxc_user_class(&req, 0).len, 4);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  free(pkt);
}
END_TEST

/* Option 175's sub-options: PAD skipped, END stops, an overrun stops and
   is flagged, what came before it is kept. */
START_TEST(encap_walk)
{
  static const uint8_t ok[] = {0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00, 0x00,
                               0x13, 1, 1, 0xff, 0x14, 1, 1};
  static const uint8_t overrun[] = {0x13, 1, 1, 0x14, 9, 1};

  builder_request(&b, mac, 1, 1);
  builder_option(&b, 175, ok, sizeof(ok));
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), 0);
  ck_assert(req.ipxe.has_busid);
  ck_assert(pxc_has_feature(&req, 0x13));
  ck_assert(!pxc_has_feature(&req, 0x14)); /* after END */
  builder_request(&b, mac, 1, 1);
  builder_option(&b, 175, overrun, sizeof(overrun));
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), PXC_ERR_ENCAP);
  ck_assert(pxc_has_feature(&req, 0x13));
  ck_assert(!pxc_has_feature(&req, 0x14));
  builder_request(&b, mac, 1, 1);
  builder_option(&b, 175, overrun, 4); /* length byte missing */
  builder_end(&b);
  ck_assert_uint_eq(classify_built(), PXC_ERR_ENCAP);
}
END_TEST

/* The wire layer's readers never move past the end of their buffer. */
START_TEST(wire_readers)
{
  static const uint8_t bytes[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
  struct reader r = reader_of(bytes, sizeof(bytes));
  uint16_t v16;
  uint32_t v32;
  uint8_t v8;

  ck_assert(read_be16(&r, &v16));
  ck_assert_uint_eq(v16, 0x1234);
  ck_assert(!read_be32(&r, &v32)); /* 3 left: nothing consumed */
  ck_assert_uint_eq(r.left, 3);
  ck_assert(read_bytes(&r, NULL, 2));
  ck_assert(read_u8(&r, &v8));
  ck_assert_uint_eq(v8, 0x9a);
  ck_assert(!read_u8(&r, &v8));
  ck_assert(!read_be16(&r, &v16));
  ck_assert_uint_eq(be32_at(bytes), 0x12345678);
  ck_assert_uint_eq(le32_at(bytes), 0x78563412);
  ck_assert_uint_eq(le16_at(bytes), 0x3412);
  /* store_le64: bit N of the word is bit N of the bitmap */
  {
    uint8_t bitmap[8];
    store_le64(bitmap, 1ull << 0 | 1ull << 17 | 1ull << 63);
    for (unsigned n = 0; n < 64; n++)
      ck_assert_int_eq(bit_test(bitmap, n), n == 0 || n == 17 || n == 63);
    ck_assert_uint_eq(le64_at(bitmap), 1ull << 0 | 1ull << 17 | 1ull << 63);
  }
  /* le_bytes_at: each length reads exactly its bytes */
  for (size_t n = 0; n <= 8; n++) {
    static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++)
      want |= (uint64_t)eight[i] << (8 * i);
    ck_assert_uint_eq(le_bytes_at(eight, n), want);
  }
}
END_TEST

/* tlv_next on each way an area can end. */
START_TEST(wire_tlv_steps)
{
  static const uint8_t items[] = {0, 0, 60, 2, 'h', 'i', 0, 255, 77, 9};
  struct reader r = reader_of(items, sizeof(items));
  struct tlv item;

  ck_assert_int_eq(tlv_next(&r, &item), TLV_ITEM);
  ck_assert_uint_eq(item.code, 60);
  ck_assert_uint_eq(item.len, 2);
  ck_assert(memcmp(item.data, "hi", 2) == 0);
  ck_assert_int_eq(tlv_next(&r, &item), TLV_END);
  r = reader_of(items + 8, 2);
  ck_assert_int_eq(tlv_next(&r, &item), TLV_OVERRUN);
  r = reader_of(items + 8, 1);
  ck_assert_int_eq(tlv_next(&r, &item), TLV_OVERRUN);
  r = reader_of(items, 2);
  ck_assert_int_eq(tlv_next(&r, &item), TLV_NO_END);
}
END_TEST

/* tlv_step() (cursor) and tlv_take() agree with tlv_next() on every
   area: random short areas rich in PAD, END and lengths near the end. */
START_TEST(wire_tlv_step_agrees)
{
  static const uint8_t bytes[] = {0, 255, 1, 2, 3, 0x10, 177, 235};
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  unsigned items = 0, takes = 0;

  for (int n = 0; n < 20000; n++) {
    uint8_t area[24];
    size_t len = n % (sizeof(area) + 1);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      area[i] = bytes[x % sizeof(bytes)];
    }
    struct reader r = reader_of(area, len), t = r;
    struct tlv_cursor c = tlv_cursor_of(area, len);
    for (;;) {
      struct tlv a = {0, 0, NULL}, b = {0, 0, NULL}, d = {0, 0, NULL};
      struct reader before = r;
      bool took = tlv_take(&t, &d);
      enum tlv_step sa = tlv_next(&r, &a), sb = tlv_step(&c, &b);
      ck_assert_int_eq(sa, sb);
      ck_assert_ptr_eq(r.p, c.p);
      ck_assert_uint_eq(r.left, (size_t)(c.end - c.p));
      if (took) { /* only ever the item tlv_next() takes */
        ck_assert_int_eq(sa, TLV_ITEM);
        ck_assert_ptr_eq(t.p, r.p);
        ck_assert(d.code == a.code && d.len == a.len && d.data == a.data);
        takes++;
      } else {
        ck_assert(t.p == before.p && t.left == before.left);
      }
      if (sa != TLV_ITEM)
        break;
      ck_assert(a.code == b.code && a.len == b.len && a.data == b.data);
      items++;
      t = r;
    }
  }
  ck_assert_uint_gt(items, 1000);
  ck_assert_uint_gt(takes, 1000);
}
END_TEST

/* The 8 bytes at P as a native word. */
static uint64_t
word(const uint8_t *p)
{
  uint64_t w;

  memcpy(&w, p, sizeof(w));
  return w;
}

/* The one hash: seeded, every byte counts, any alignment. */
START_TEST(wire_hash)
{
  uint8_t a[24] = {0}, big[32] = {0};

  ck_assert_uint_ne(pxc_hash(1, a, sizeof(a)), pxc_hash(2, a, sizeof(a)));
  for (size_t i = 0; i < sizeof(a); i++) {
    uint64_t before = pxc_hash(PXC_HASH_SEED, a, sizeof(a));
    a[i] = 1;
    ck_assert_uint_ne(pxc_hash(PXC_HASH_SEED, a, sizeof(a)), before);
    a[i] = 0;
  }
  memcpy(big + 3, a, sizeof(a) - 3);
  ck_assert_uint_eq(pxc_hash(7, big + 3, 16), pxc_hash(7, a, 16));
  ck_assert_uint_ne(pxc_hash(7, a, 16), pxc_hash(7, a, 17));
  for (size_t n = 1; n < 8; n++) /* a zero byte more in the tail counts */
    ck_assert_uint_ne(pxc_hash(7, a, 8 + n), pxc_hash(7, a, 9 + n));
  ck_assert_uint_eq(pxc_hash(7, NULL, 5), pxc_hash(7, a, 0));
  ck_assert_uint_eq(pxc_hash_final(7), pxc_hash(7, NULL, 0));
  /* a word step, then bytes: the same as hashing them all */
  memcpy(a, "12345678abc", 11);
  ck_assert_uint_eq(pxc_hash(pxc_hash_word(7, word(a)), a + 8, 3),
                    pxc_hash(7, a, 11));
}
END_TEST

Suite *
parser_suite(void)
{
  Suite *s = suite_create("parser");
  TCase *tc = tcase_create("walk");

  tcase_add_checked_fixture(tc, NULL, free_copy);
  tcase_add_test(tc, plain_packet);
  tcase_add_test(tc, pad_is_skipped);
  tcase_add_test(tc, overload_file_and_sname);
  tcase_add_test(tc, overload_file_only);
  tcase_add_test(tc, no_overload_ignores_file);
  tcase_add_test(tc, overload_bad_value);
  tcase_add_test(tc, overload_into_garbage);
  tcase_add_test(tc, split_option_joined);
  tcase_add_test(tc, split_option_too_long);
  tcase_add_test(tc, split_text_too_long);
  tcase_add_test(tc, split_options_join_each);
  tcase_add_test(tc, option_overruns_packet);
  tcase_add_test(tc, length_byte_missing);
  tcase_add_test(tc, missing_end);
  tcase_add_test(tc, no_cookie);
  tcase_add_test(tc, every_truncation);
  tcase_add_test(tc, huge_packet);
  tcase_add_test(tc, encap_walk);
  tcase_add_test(tc, wire_readers);
  tcase_add_test(tc, wire_tlv_steps);
  tcase_add_test(tc, wire_tlv_step_agrees);
  tcase_add_test(tc, wire_hash);
  suite_add_tcase(s, tc);
  return s;
}
