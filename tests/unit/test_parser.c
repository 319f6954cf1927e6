/*
 * Unit tests of the DHCPv4 option index (lib/dhcp.c): overload, RFC 3396
 * joins, and every way a packet can be malformed.  Under ASan these also
 * prove that no read leaves the packet.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "builder.h"
#include "internal.h"
#include "suites.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x77, 0x00, 0x01};
static uint8_t scratch[PXC_SCRATCH_SIZE];

/* The packet being built, its index, and the exact-size copy indexed. */
static struct builder b;
static struct dhcp_index ix;
static uint8_t *copy;

/* Index LEN bytes of DATA, copied into a heap block of exactly that
   length so that ASan catches any read past the end; the errors. */
static uint32_t
index_exact(const uint8_t *data, size_t len)
{
  free(copy);
  copy = malloc(len ? len : 1);
  memcpy(copy, data, len);
  dhcp_index_build(&ix, copy, len, scratch, sizeof(scratch));
  return ix.errors;
}

/* Index the packet built in B. */
static uint32_t
index_built(void)
{
  return index_exact(b.buf, b.len);
}

static void
free_copy(void)
{
  free(copy);
  copy = NULL;
}

/* Option CODE of the index as a NUL-terminated string (static buffer). */
static const char *
option_text(struct dhcp_index *ix, uint8_t code)
{
  static char text[PXC_SCRATCH_SIZE + 1];
  struct pxc_bytes b;

  if (!dhcp_index_get(ix, code, &b))
    return NULL;
  memcpy(text, b.data, b.len);
  text[b.len] = '\0';
  return text;
}

START_TEST(plain_packet)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient");
  builder_end(&b);
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_str_eq(option_text(&ix, 60), "PXEClient");
  ck_assert_ptr_null(option_text(&ix, 77));
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
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_str_eq(option_text(&ix, 77), "iPXE");
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
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_str_eq(option_text(&ix, 60), "PXEClient");
  ck_assert_str_eq(option_text(&ix, 77), "ABCDEF");
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
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_str_eq(option_text(&ix, 60), "HTTP");
  ck_assert_ptr_null(option_text(&ix, 77));
}
END_TEST

/* Without option 52, file and sname are never read as options. */
START_TEST(no_overload_ignores_file)
{
  builder_request(&b, mac, 1, 1);
  builder_end(&b);
  memcpy(b.buf + 108, "\x3c\x04" "HTTP" "\xff", 7);
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_ptr_null(option_text(&ix, 60));
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
    ck_assert_uint_eq(index_built(), PXC_ERR_OVERLOAD);
    ck_assert_ptr_null(option_text(&ix, 60));
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
  ck_assert_uint_eq(index_built(), PXC_ERR_OVERLOAD);
  ck_assert_str_eq(option_text(&ix, 60), "HTTP");
  ck_assert_ptr_null(option_text(&ix, 77));
}
END_TEST

START_TEST(split_option_joined)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient:Arch:");
  builder_string(&b, 77, "iPXE");
  builder_string(&b, 60, "00007:UNDI:003000");
  builder_end(&b);
  ck_assert_uint_eq(index_built(), 0);
  ck_assert_str_eq(option_text(&ix, 60), "PXEClient:Arch:00007:UNDI:003000");
  /* asking twice gives the same joined value */
  ck_assert_str_eq(option_text(&ix, 60), "PXEClient:Arch:00007:UNDI:003000");
}
END_TEST

START_TEST(split_option_too_long)
{
  uint8_t part[200];
  struct pxc_bytes opt;

  memset(part, 'x', sizeof(part));
  builder_request(&b, mac, 1, 1);
  for (int i = 0; i < 8; i++)
    builder_option(&b, 43, part, sizeof(part));
  builder_end(&b);
  index_built();
  ck_assert(dhcp_index_get(&ix, 43, &opt));
  ck_assert_uint_eq(ix.errors, PXC_ERR_SPLIT);
  ck_assert_uint_eq(opt.len, sizeof(part)); /* the first fragment is kept */
}
END_TEST

START_TEST(option_overruns_packet)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 60, "PXEClient");
  builder_raw(&b, "\x4d\x10" "iPXE", 6); /* says 16, holds 4 */
  ck_assert_uint_eq(index_built(), PXC_ERR_OPT_OVERRUN);
  ck_assert_str_eq(option_text(&ix, 60), "PXEClient");
  ck_assert_ptr_null(option_text(&ix, 77));
}
END_TEST

START_TEST(length_byte_missing)
{
  builder_request(&b, mac, 1, 1);
  builder_raw(&b, "\x4d", 1);
  ck_assert_uint_eq(index_built(), PXC_ERR_OPT_OVERRUN);
}
END_TEST

START_TEST(missing_end)
{
  builder_request(&b, mac, 1, 1);
  builder_string(&b, 77, "iPXE");
  ck_assert_uint_eq(index_built(), PXC_ERR_NO_END);
  ck_assert_str_eq(option_text(&ix, 77), "iPXE");
}
END_TEST

START_TEST(no_cookie)
{
  builder_request(&b, mac, 1, 1);
  builder_end(&b);
  b.buf[236] = 0;
  ck_assert_uint_eq(index_built(), PXC_ERR_COOKIE);
  ck_assert_ptr_null(option_text(&ix, 53));
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
    uint32_t errors = index_exact(b.buf, len);
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
START_TEST(huge_packet)
{
  size_t len = 65535;
  uint8_t *pkt = calloc(1, len);
  struct pxc_bytes opt;

  builder_request(&b, mac, 1, 1);
  memcpy(pkt, b.buf, b.len);
  memcpy(pkt + len - 7, "\x4d\x04" "iPXE" "\xff", 7);
  dhcp_index_build(&ix, pkt, len, scratch, sizeof(scratch));
  ck_assert_uint_eq(ix.errors, 0);
  ck_assert(dhcp_index_get(&ix, 77, &opt));
  ck_assert_uint_eq(opt.len, 4);
  free(pkt);
}
END_TEST

struct seen {
  unsigned count;
  uint8_t codes[16];
};

static void
note_subopt(void *ctx, uint8_t code, const uint8_t *data, uint8_t len)
{
  struct seen *s = ctx;

  (void)data;
  (void)len;
  if (s->count < 16)
    s->codes[s->count++] = code;
}

START_TEST(encap_walk)
{
  struct seen s = {0};
  static const uint8_t ok[] = {0xb1, 5, 1, 0x1a, 0xf4, 0x10, 0x00, 0x00,
                               0x13, 1, 1, 0xff, 0x14, 1, 1};
  static const uint8_t overrun[] = {0x13, 1, 1, 0x14, 9, 1};

  ck_assert(dhcp_walk_encap(ok, sizeof(ok), note_subopt, &s));
  ck_assert_uint_eq(s.count, 2); /* PAD skipped, END stops */
  ck_assert_uint_eq(s.codes[1], 0x13);
  s.count = 0;
  ck_assert(!dhcp_walk_encap(overrun, sizeof(overrun), note_subopt, &s));
  ck_assert_uint_eq(s.count, 1);
  ck_assert(!dhcp_walk_encap(overrun, 4, note_subopt, &s));
}
END_TEST

Suite *
parser_suite(void)
{
  Suite *s = suite_create("parser");
  TCase *tc = tcase_create("index");

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
  tcase_add_test(tc, option_overruns_packet);
  tcase_add_test(tc, length_byte_missing);
  tcase_add_test(tc, missing_end);
  tcase_add_test(tc, no_cookie);
  tcase_add_test(tc, every_truncation);
  tcase_add_test(tc, huge_packet);
  tcase_add_test(tc, encap_walk);
  suite_add_tcase(s, tc);
  return s;
}
