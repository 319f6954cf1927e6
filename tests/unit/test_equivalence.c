/*
 * The one-pass classifier against the 0.1 one (tests/bench/legacy/): every
 * datagram of every capture, every file of the fuzz corpus, every
 * truncation of each, and seeded random mutations of the captures are
 * classified by both, and every field must agree.
 *
 * The differences that are meant (each has its own test in
 * test_parser.c) cannot arise from these inputs and are not excused here:
 * options 60 and 77 are kept up to PXC_TEXT_MAX bytes (0.1 joined them up
 * to its 1024-byte scratch), and each split option may join up to 1024
 * bytes (0.1 shared its scratch between them).  The feature bitmap is 16
 * bytes now (0.1: 32, of which only the first 16 could be set).  The
 * fingerprint is another hash (pxc_hash() has a final mix) of the same
 * fields: it must split the inputs into the same classes.
 *
 * The programs 0.2 knows and 0.1 did not (issue 10: GRUB, WDS, BSDP,
 * FlexBoot, other loaders, boot agents, operating systems, and the
 * architecture quirks of U-Boot and HTTP Boot) do arise from mutations:
 * an input whose new classification names one of them (meant_difference())
 * is compared in everything but class, agent, architecture and warnings,
 * and left out of the fingerprint classes.  test_classify.c tests each.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/legacy/legacy.h"
#include "pxeclass.h"
#include "suites.h"

#define MAX_PACKETS 256
#define MUTATIONS 300

static const char *const captures[] = {
    "a-seabios-virtio", "c2-ovmf-virtio-norom", "e3-loop-fast-seabios-virtio",
    "f1-ovmf-httpboot", "f2a-proxy-seabios-virtio",
};

/* Fingerprints of each input, old and new. */
struct fp_pair {
  uint64_t old, new;
};

static struct fp_pair *pairs;
static size_t pair_count, pair_alloc;
static unsigned long compared;

/* Assert that field F of the old result L equals that of the new N. */
#define SAME(f, nf)                                                            \
  ck_assert_msg((uint64_t)(l->f) == (uint64_t)(n->nf),                         \
                "%s: " #f " old %llu new %llu", where,                         \
                (unsigned long long)(l->f), (unsigned long long)(n->nf))

#define SAME_BYTES(a, b, len)                                                  \
  ck_assert_msg(memcmp((a), (b), (len)) == 0, "%s: %s differs", where, #a)

/* Compare the text views: option 60 and each string of 77. */
static void
compare_texts(const struct legacy_result *l, const struct pxc_request *n,
              const char *where)
{
  struct pxc_bytes vc = pxc_vendor_class(n);

  ck_assert_msg(l->has_vendor_class == (vc.data != NULL), "%s: has 60", where);
  ck_assert_msg(l->vendor_class_len == vc.len, "%s: 60 length %zu/%zu", where,
                l->vendor_class_len, vc.len);
  if (vc.len)
    SAME_BYTES(l->vendor_class, vc.data, vc.len);
  SAME(user_class_rfc3004, user_class_rfc3004);
  SAME(user_class_count, user_class_count);
  for (size_t i = 0; i < l->user_class_count; i++) {
    struct pxc_bytes uc = pxc_user_class(n, i);
    ck_assert_msg(l->user_class_len[i] == uc.len, "%s: 77[%zu] length", where,
                  i);
    if (uc.len)
      SAME_BYTES(l->user_class[i], uc.data, uc.len);
  }
  ck_assert_ptr_null(pxc_user_class(n, l->user_class_count).data);
}

/* True if N names what 0.1 did not know: a class past uboot, an agent,
   a quirk warning of issue 10, or U-Boot's "U-boot" spelling. */
static bool
meant_difference(const struct pxc_request *n)
{
  const uint32_t new_warnings = PXC_WARN_UBOOT_ARCH_256 |
                                PXC_WARN_UBOOT_EFI_SWAP |
                                PXC_WARN_HTTP_ARCH_AS_PXE;
  struct pxc_bytes vc = pxc_vendor_class(n);

  return n->fw_class > PXC_CLASS_UBOOT || n->agent != PXC_AGENT_NONE ||
         (n->warnings & new_warnings) ||
         (n->fw_class == PXC_CLASS_UBOOT && vc.len >= 6 &&
          memcmp(vc.data, "U-boot", 6) == 0);
}

/* Compare every field of the two classifications of one input. */
static void
compare(const struct legacy_result *l, const struct pxc_request *n,
        const char *where)
{
  static const uint8_t zero[16];
  bool meant = meant_difference(n);

  SAME(op, op);
  SAME(htype, htype);
  SAME(hlen, hlen);
  SAME(msg_type, msg_type);
  SAME(xid, xid);
  SAME_BYTES(l->chaddr, n->chaddr, 16);
  if (!meant) {
    SAME(fw_class, fw_class);
    SAME(warnings, warnings);
    SAME(arch_source, arch_source);
    SAME(arch, arch);
    SAME(arch_count, arch_count);
    SAME_BYTES(l->arch_list, n->arch_list, sizeof(n->arch_list));
  }
  SAME(errors, errors);
  SAME(arch93_raw, arch93_raw);
  SAME(arch60, arch60);
  SAME(has_arch60, has_arch60);
  SAME(has_undi, has_undi);
  SAME(has_undi60, has_undi60);
  SAME(undi_major, undi_major);
  SAME(undi_minor, undi_minor);
  SAME(undi60_major, undi60_major);
  SAME(undi60_minor, undi60_minor);
  SAME(has_boot_item, has_boot_item);
  SAME(boot_item_type, boot_item_type);
  SAME(boot_item_layer, boot_item_layer);
  SAME(has_uuid, has_uuid);
  SAME_BYTES(l->uuid, n->uuid, 16);
  SAME(ipxe_present, ipxe.present);
  SAME(has_version, ipxe.has_version);
  SAME(has_busid, ipxe.has_busid);
  SAME_BYTES(l->version, n->ipxe.version, 3);
  SAME(bus_type, ipxe.bus_type);
  SAME(bus_vendor, ipxe.bus_vendor);
  SAME(bus_device, ipxe.bus_device);
  SAME_BYTES(l->subopts, n->ipxe.subopts, 32);
  SAME_BYTES(l->features, n->ipxe.features, 16);
  SAME_BYTES(l->features + 16, zero, 16);
  compare_texts(l, n, where);
  compared++;
  if (meant)
    return;
  if (pair_count == pair_alloc) {
    pair_alloc = pair_alloc ? 2 * pair_alloc : 4096;
    pairs = realloc(pairs, pair_alloc * sizeof(*pairs));
    ck_assert_ptr_nonnull(pairs);
  }
  pairs[pair_count++] = (struct fp_pair){l->fingerprint, n->fingerprint};
}

/* Classify LEN bytes of DATA (an exact-size copy) both ways, compare. */
static void
check_input(const uint8_t *data, size_t len, const char *where)
{
  static struct legacy_result l;
  static struct pxc_request n;
  uint8_t *copy = malloc(len ? len : 1);

  memcpy(copy, data, len);
  legacy_classify(false, copy, len, &l);
  pxc_classify(NULL, copy, len, &n);
  compare(&l, &n, where);
  free(copy);
}

/* The input whole and cut at every length. */
static void
check_truncations(const uint8_t *data, size_t len, const char *name)
{
  char where[1200];

  for (size_t cut = 0; cut <= len; cut++) {
    snprintf(where, sizeof(where), "%s cut at %zu", name, cut);
    check_input(data, cut, where);
  }
}

/* xorshift64: the mutations are the same on every run. */
static uint64_t
next_random(uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* MUTATIONS variants of DATA: a few bytes of the options area set to
   random values, option codes and lengths among them. */
static void
check_mutations(const uint8_t *data, size_t len, const char *name,
                uint64_t *seed)
{
  uint8_t *m = malloc(len ? len : 1);
  char where[1200];

  if (len <= 240) {
    free(m);
    return;
  }
  for (int i = 0; i < MUTATIONS; i++) {
    unsigned flips = 1 + next_random(seed) % 4;
    memcpy(m, data, len);
    for (unsigned f = 0; f < flips; f++) {
      uint64_t r = next_random(seed);
      size_t at = 236 + (size_t)(r % (len - 236));
      m[at] = (uint8_t)(r >> 32);
    }
    snprintf(where, sizeof(where), "%s mutation %d", name, i);
    check_input(m, len, where);
  }
  free(m);
}

static int
by_old(const void *a, const void *b)
{
  const struct fp_pair *x = a, *y = b;
  if (x->old != y->old)
    return x->old < y->old ? -1 : 1;
  return x->new < y->new ? -1 : x->new > y->new;
}

static int
by_new(const void *a, const void *b)
{
  const struct fp_pair *x = a, *y = b;
  if (x->new != y->new)
    return x->new < y->new ? -1 : 1;
  return x->old < y->old ? -1 : x->old > y->old;
}

/* Inputs with equal old fingerprints have equal new ones, and the other
   way round (at the end of each test: libcheck forks per test). */
static void
check_fingerprint_classes(const char *what, size_t min_classes)
{
  size_t classes = 1;

  qsort(pairs, pair_count, sizeof(*pairs), by_old);
  for (size_t i = 1; i < pair_count; i++)
    if (pairs[i].old == pairs[i - 1].old)
      ck_assert_uint_eq(pairs[i].new, pairs[i - 1].new);
    else
      classes++;
  qsort(pairs, pair_count, sizeof(*pairs), by_new);
  for (size_t i = 1; i < pair_count; i++)
    if (pairs[i].new == pairs[i - 1].new)
      ck_assert_uint_eq(pairs[i].old, pairs[i - 1].old);
  /* the check had something to check */
  ck_assert_uint_ge(classes, min_classes);
  printf("equivalence, %s: %lu inputs agree, %zu fingerprint classes\n", what,
         compared, classes);
  free(pairs);
  pairs = NULL;
  pair_count = pair_alloc = 0;
  compared = 0;
}

START_TEST(captures_agree)
{
  static struct loaded pkts[MAX_PACKETS];
  uint64_t seed = 0x9e3779b97f4a7c15ULL;

  for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
    size_t n = load_capture(captures[c], pkts, MAX_PACKETS);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
      char name[128];
      snprintf(name, sizeof(name), "%s packet %zu", captures[c], i);
      check_truncations(pkts[i].data, pkts[i].len, name);
      check_mutations(pkts[i].data, pkts[i].len, name, &seed);
    }
    free_loaded(pkts, n);
  }
  check_fingerprint_classes("captures", 100);
}
END_TEST

START_TEST(fuzz_corpus_agrees)
{
  DIR *dir = opendir(PXC_FUZZ_CORPUS_DIR);
  struct dirent *e;
  unsigned files = 0;

  ck_assert_ptr_nonnull(dir);
  while ((e = readdir(dir))) {
    char path[1024];
    uint8_t buf[65536];
    size_t len;
    FILE *f;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "%s/%s", PXC_FUZZ_CORPUS_DIR, e->d_name);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    check_truncations(buf, len, path);
    files++;
  }
  closedir(dir);
  ck_assert_uint_gt(files, 10);
  check_fingerprint_classes("fuzz corpus", 5);
}
END_TEST

Suite *
equivalence_suite(void)
{
  Suite *s = suite_create("equivalence");
  TCase *tc = tcase_create("legacy");

  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, captures_agree);
  tcase_add_test(tc, fuzz_corpus_agrees);
  suite_add_tcase(s, tc);
  return s;
}
