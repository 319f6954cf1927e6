/*
 * Every request of every real capture (tests/captures/, recorded from QEMU
 * firmware) classified as tests/captures/README.md says it should be.
 */
#include <stdio.h>
#include <string.h>

#include "pxeclass.h"
#include "suites.h"

#define MAX_PACKETS 64

/* What one boot stage of a capture sends. */
struct stage {
  enum pxc_class cls;
  uint16_t arch;
  const char *vendor_class;
  const char *user_class; /* NULL: no option 77 */
  const char *undi;
  const char *version;    /* NULL: no option 175 */
  const char *busid;
  const char *features;
};

static const struct stage edk2_pxe = {
    PXC_CLASS_PXE, 7, "PXEClient:Arch:00007:UNDI:003000", NULL, "3.0",
    NULL, NULL, NULL};

static const struct stage edk2_http = {
    PXC_CLASS_HTTP_BOOT, 16, "HTTPClient:Arch:00016:UNDI:003000", NULL, "3.0",
    NULL, NULL, NULL};

/* QEMU's pxe-virtio.rom and Debian's undionly.kpxe: byte-identical. */
static const struct stage ipxe_bios = {
    PXC_CLASS_IPXE, 0, "PXEClient:Arch:00000:UNDI:002001", "iPXE", "2.1",
    "1.0.0", "pci:1af4:1000",
    "pxe-ext iscsi aoe http tftp dns bzimage multiboot pxe elf menu nfs"};

/* Debian's ipxe.efi on OVMF's virtio-net. */
static const struct stage ipxe_efi = {
    PXC_CLASS_IPXE, 7, "PXEClient:Arch:00007:UNDI:003010", "iPXE", "3.10",
    "1.0.0", "pci:1af4:1000",
    "iscsi aoe http tftp dns srp efi menu nfs"};

/* iPXE's PXE boot-server request to port 4011 (proxyDHCP). */
static const struct stage ipxe_bios_4011 = {
    PXC_CLASS_IPXE, 0, "PXEClient", "iPXE", "2.1", "1.0.0", "pci:1af4:1000",
    "pxe-ext iscsi aoe http tftp dns bzimage multiboot pxe elf menu nfs"};

/* Assert that request REQ is what STAGE says. */
static void
check_stage(const struct pxc_request *req, const struct stage *stage,
            const char *where)
{
  char text[256];

  ck_assert_msg(req->fw_class == stage->cls, "%s: class %s", where,
                pxc_class_name(req->fw_class));
  ck_assert_int_eq(req->arch_source, PXC_ARCH_OPT93);
  ck_assert_uint_eq(req->arch, stage->arch);
  ck_assert_uint_eq(pxc_vendor_class(req).len, strlen(stage->vendor_class));
  ck_assert(memcmp(pxc_vendor_class(req).data, stage->vendor_class,
                   pxc_vendor_class(req).len) == 0);
  if (stage->user_class) {
    ck_assert_uint_eq(req->user_class_count, 1);
    ck_assert(!req->user_class_rfc3004);
    ck_assert_uint_eq(pxc_user_class(req, 0).len, strlen(stage->user_class));
  } else {
    ck_assert_uint_eq(req->user_class_count, 0);
  }
  snprintf(text, sizeof(text), "%u.%u", req->undi_major, req->undi_minor);
  ck_assert_str_eq(text, stage->undi);
  ck_assert(req->ipxe.present == (stage->version != NULL));
  if (stage->version) {
    ck_assert_str_eq(pxc_format_version(req, text, sizeof(text)), stage->version);
    ck_assert_str_eq(pxc_format_busid(req, text, sizeof(text)), stage->busid);
    ck_assert_str_eq(pxc_format_features(req, text, sizeof(text)),
                     stage->features);
  }
  ck_assert_str_eq(pxc_format_uuid(req, text, sizeof(text)),
                   "00112233-4455-6677-8899-aabbccddeeff");
  ck_assert_str_eq(pxc_format_mac(req, text, sizeof(text)), "52:54:00:77:00:01");
  ck_assert_msg(req->errors == 0, "%s: errors %x", where, req->errors);
  ck_assert_msg(req->warnings == 0, "%s: warnings %x", where, req->warnings);
}

/*
 * Classify the requests of capture NAME and compare them, in order, with
 * the expected stages, STAGES[i] holding for COUNTS[i] requests.
 */
static void
check_capture(const char *name, const struct stage *const *stages,
              const unsigned *counts, size_t nstages)
{
  static struct loaded pkts[MAX_PACKETS];
  static struct pxc_request req;
  size_t n = load_capture(name, pkts, MAX_PACKETS), s = 0;
  unsigned left = counts[0], requests = 0;

  for (size_t i = 0; i < n; i++) {
    char where[64];
    if (!pkts[i].request)
      continue;
    snprintf(where, sizeof(where), "%s request %u", name, requests++);
    while (left == 0) {
      ck_assert_uint_lt(++s, nstages);
      left = counts[s];
    }
    pxc_classify(NULL, pkts[i].data, pkts[i].len, &req);
    check_stage(&req, stages[s], where);
    left--;
  }
  ck_assert_uint_eq(left, 0);
  ck_assert_uint_eq(s, nstages - 1);
  free_loaded(pkts, n);
}

START_TEST(seabios_virtio_rom)
{
  const struct stage *stages[] = {&ipxe_bios};
  const unsigned counts[] = {3};
  check_capture("a-seabios-virtio", stages, counts, 1);
}
END_TEST

START_TEST(ovmf_pxe_then_ipxe_efi)
{
  const struct stage *stages[] = {&edk2_pxe, &ipxe_efi};
  const unsigned counts[] = {2, 3};
  check_capture("c2-ovmf-virtio-norom", stages, counts, 2);
}
END_TEST

START_TEST(ovmf_http_boot_then_ipxe_efi)
{
  const struct stage *stages[] = {&edk2_http, &ipxe_efi};
  const unsigned counts[] = {2, 3};
  check_capture("f1-ovmf-httpboot", stages, counts, 2);
}
END_TEST

START_TEST(proxy_with_boot_server_request)
{
  const struct stage *stages[] = {&ipxe_bios, &ipxe_bios_4011};
  const unsigned counts[] = {3, 1};
  check_capture("f2a-proxy-seabios-virtio", stages, counts, 2);
}
END_TEST

START_TEST(loop_six_identical_stages)
{
  const struct stage *stages[] = {&ipxe_bios};
  const unsigned counts[] = {18};
  check_capture("e3-loop-fast-seabios-virtio", stages, counts, 1);
}
END_TEST

/* The ROM and undionly.kpxe of e3 share one fingerprint, which is why only
   chain state can tell them apart; EDK2 and iPXE on one machine do not. */
START_TEST(fingerprints)
{
  static struct loaded pkts[MAX_PACKETS];
  static struct pxc_request req;
  uint64_t first = 0;
  size_t n = load_capture("e3-loop-fast-seabios-virtio", pkts, MAX_PACKETS);

  for (size_t i = 0; i < n; i++) {
    if (!pkts[i].request)
      continue;
    pxc_classify(NULL, pkts[i].data, pkts[i].len, &req);
    if (!first)
      first = req.fingerprint;
    ck_assert_uint_eq(req.fingerprint, first);
  }
  free_loaded(pkts, n);

  n = load_capture("c2-ovmf-virtio-norom", pkts, MAX_PACKETS);
  pxc_classify(NULL, pkts[0].data, pkts[0].len, &req); /* EDK2 */
  first = req.fingerprint;
  ck_assert(pkts[n - 2].request);
  pxc_classify(NULL, pkts[n - 2].data, pkts[n - 2].len, &req); /* iPXE */
  ck_assert_uint_ne(req.fingerprint, first);
  free_loaded(pkts, n);
}
END_TEST

Suite *
captures_suite(void)
{
  Suite *s = suite_create("captures");
  TCase *tc = tcase_create("real firmware");

  tcase_add_test(tc, seabios_virtio_rom);
  tcase_add_test(tc, ovmf_pxe_then_ipxe_efi);
  tcase_add_test(tc, ovmf_http_boot_then_ipxe_efi);
  tcase_add_test(tc, proxy_with_boot_server_request);
  tcase_add_test(tc, loop_six_identical_stages);
  tcase_add_test(tc, fingerprints);
  suite_add_tcase(s, tc);
  return s;
}
