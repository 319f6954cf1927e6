/*
 * Unit tests of issue 10, the rest of the field: each program built from
 * its source's layout (the source is named over each test), its class
 * and agent, each architecture quirk and its warning, the selectors that
 * find them, and the chain tracker leaving the OS and agents out.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "builder.h"
#include "pxeclass.h"
#include "suites.h"
#include "wire.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x0a};

static struct builder b;
static struct pxc_request req;

/* Set the 16-bit BOOTP field at OFF (big-endian). */
static void
set_be16(size_t off, uint16_t v)
{
  b.buf[off] = (uint8_t)(v >> 8);
  b.buf[off + 1] = (uint8_t)v;
}

/* Zero-pad the packet to LEN bytes. */
static void
pad_to(size_t len)
{
  ck_assert_uint_le(len, sizeof(b.buf));
  if (b.len < len)
    b.len = len; /* the builder's buffer is zeroed */
}

/* Classify the packet as built (END already in it, or not wanted). */
static const struct pxc_request *
classify_as_is(void)
{
  pxc_classify(NULL, b.buf, b.len, &req);
  return &req;
}

/* Classify the packet built so far, with an END. */
static const struct pxc_request *
classify_built(void)
{
  builder_end(&b);
  return classify_as_is();
}

/* A request with vendor class VC (or none) and message type MSG. */
static void
start(uint8_t msg, const char *vc)
{
  builder_request(&b, mac, 0x12345678, msg);
  if (vc)
    builder_string(&b, 60, vc);
}

/* Assert the class and agent of the last classification. */
#define ASSERT_CLASS(want_class, want_agent)                                   \
  do {                                                                         \
    ck_assert_str_eq(pxc_class_name(req.fw_class),                             \
                     pxc_class_name(want_class));                              \
    ck_assert_str_eq(pxc_agent_name((enum pxc_agent)req.agent),                \
                     pxc_agent_name(want_agent));                              \
  } while (0)

/* ------------------------------------------------------------------ */
/* GRUB: grub-core/net/bootp.c                                         */

/* The header GRUB writes: op 1, htype 1, hlen 6, and one reading T of
   the clock in both xid (pack->ident = t) and secs (pack->seconds = t). */
static void
grub_header(uint32_t t, uint8_t msg)
{
  builder_request(&b, mac, t, msg);
  set_be16(offsetof(struct bootp_header, secs), (uint16_t)t);
}

/* send_dhcp_packet(), no server id yet: discover_options, option 53
   alone then END, in GRUB_BOOTP_MAX_OPTIONS_SIZE (64) bytes: 300 in all. */
START_TEST(grub_discover)
{
  grub_header(0x675a1f3c, 1);
  builder_end(&b);
  pad_to(300);
  classify_as_is();
  ASSERT_CLASS(PXC_CLASS_GRUB, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.errors | req.warnings, 0);
  ck_assert(!pxc_class_starts_chain(PXC_CLASS_GRUB));
  ck_assert(pxc_class_is_netboot(PXC_CLASS_GRUB));

  /* another client's bare DISCOVER: secs not the low half of xid */
  grub_header(0x675a1f3c, 1);
  set_be16(offsetof(struct bootp_header, secs), 4);
  builder_end(&b);
  pad_to(300);
  ck_assert_int_eq(classify_as_is()->fw_class, PXC_CLASS_NONE);
  /* one more option than GRUB sends */
  grub_header(0x675a1f3c, 1);
  builder_option(&b, 57, "\x02\x40", 2);
  builder_end(&b);
  pad_to(300);
  ck_assert_int_eq(classify_as_is()->fw_class, PXC_CLASS_NONE);
  /* longer than GRUB's 300 bytes */
  grub_header(0x675a1f3c, 1);
  builder_end(&b);
  pad_to(548);
  ck_assert_int_eq(classify_as_is()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* send_dhcp_packet() with the offer's server id: request_options, 53,
   54, 50 and the 7-byte parameter request list {1, 3, 6, 15, 12, 17,
   18}; the xid of the DISCOVER, secs a later reading. */
/* GRUB's REQUEST as net_dhcp sends it (53 54 50 55 END, padded to 300
   bytes, secs SECS) with the parameter list PRL of PRL_LEN bytes,
   classified: GRUB's, with no error or warning. */
static void
assert_grub_request(uint32_t xid, uint16_t secs, const uint8_t *prl,
                    size_t prl_len)
{
  static const uint8_t server[4] = {10, 77, 0, 1}, ip[4] = {10, 77, 0, 100};

  grub_header(xid, 3);
  set_be16(offsetof(struct bootp_header, secs), secs);
  builder_option(&b, 54, server, 4);
  builder_option(&b, 50, ip, 4);
  builder_option(&b, 55, prl, prl_len);
  builder_end(&b);
  pad_to(300);
  classify_as_is();
  ASSERT_CLASS(PXC_CLASS_GRUB, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.errors | req.warnings, 0);
}

START_TEST(grub_request)
{
  static const uint8_t prl[7] = {1, 3, 6, 15, 12, 17, 18};
  /* FreeBSD's loader also asks 7 options (stand/libsa/bootp.c) */
  static const uint8_t freebsd_prl[7] = {17, 12, 16, 3, 1, 26, 28};

  assert_grub_request(0x675a1f3c, 0x1f3e, prl, sizeof(prl));

  start(3, NULL);
  builder_option(&b, 55, freebsd_prl, 7);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
  /* GRUB's list from a DISCOVER is no GRUB request */
  start(1, NULL);
  builder_option(&b, 55, prl, 7);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* Debian 12's signed netboot GRUB (grub2 2.06-13+deb12u2,
   grubnetx64.efi) asks 60 too: its REQUEST as tests/firmware's
   m-shim-grub-ovmf-pxe boot put it on the wire (tcpdump), 53 54 50 55
   END, secs the low half of the DISCOVER's xid. */
START_TEST(grub_request_debian)
{
  static const uint8_t prl[8] = {1, 3, 6, 15, 12, 17, 18, 60};
  static const uint8_t longer[9] = {1, 3, 6, 15, 12, 17, 18, 60, 43};
  static const uint8_t other_eighth[8] = {1, 3, 6, 15, 12, 17, 18, 43};

  assert_grub_request(0x6b0e3cfc, 0x3cfc, prl, sizeof(prl));

  /* only 60 after GRUB's seven, and nothing after it */
  start(3, NULL);
  builder_option(&b, 55, other_eighth, 8);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
  start(3, NULL);
  builder_option(&b, 55, longer, 9);
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* GRUB 2.02 and older, grub_cmd_bootp(): plain BOOTP, the 64-byte vendor
   area zeroed (no cookie), 300 bytes.  The missing cookie stays an error
   (no options read); the class and agent say which GRUB. */
START_TEST(grub_202_bootp)
{
  grub_header(0x59e8a2b0, 0);
  memset(b.buf + BOOTP_HEADER_LEN, 0, 4); /* no cookie */
  b.len = BOOTP_HEADER_LEN;
  pad_to(300);
  classify_as_is();
  ASSERT_CLASS(PXC_CLASS_GRUB, PXC_AGENT_GRUB_BOOTP);
  ck_assert_uint_eq(req.errors, PXC_ERR_COOKIE);

  /* a BOOTP client with a vendor area of its own */
  grub_header(0x59e8a2b0, 0);
  memset(b.buf + BOOTP_HEADER_LEN, 0, 4);
  b.buf[BOOTP_HEADER_LEN + 10] = 1;
  b.len = BOOTP_HEADER_LEN;
  pad_to(300);
  ck_assert_int_eq(classify_as_is()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Windows WDS: wdsnbp.com (wdsbp.h WDSBP_OPT_*)                       */

/* wdsnbp asks from the address it was given (ciaddr), secs 65535, with
   the bare vendor class "PXEClient" and option 250: sub-option 1 the
   architecture it detected (a USHORT, WDS's own code: x64 is 6), then
   END (0xff).  That code is not the registry's: no arch is read from it,
   and no warning is raised for its absence. */
START_TEST(wds_nbp_request)
{
  static const uint8_t ciaddr[4] = {10, 77, 0, 100};
  static const uint8_t wds_x64[] = {1, 2, 0x00, 0x06, 0xff};
  static const uint8_t wds_x86[] = {1, 2, 0x00, 0x00, 0xff};
  static const uint8_t arch0[2] = {0, 0};

  start(3, "PXEClient");
  memcpy(b.buf + offsetof(struct bootp_header, ciaddr), ciaddr, 4);
  set_be16(offsetof(struct bootp_header, secs), 0xffff);
  builder_option(&b, 250, wds_x64, sizeof(wds_x64));
  classify_built();
  ASSERT_CLASS(PXC_CLASS_WDS, PXC_AGENT_NONE);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_NONE);
  ck_assert_uint_eq(req.warnings, 0);
  ck_assert(!pxc_class_starts_chain(PXC_CLASS_WDS));

  /* with option 93 (the PXE ROM's, if wdsnbp copies it), 93 is read */
  start(3, "PXEClient");
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 250, wds_x86, sizeof(wds_x86));
  classify_built();
  ASSERT_CLASS(PXC_CLASS_WDS, PXC_AGENT_NONE);
  ck_assert_int_eq(req.arch_source, PXC_ARCH_OPT93);
  ck_assert_uint_eq(req.arch, 0);
  /* 250 is a site-specific code: without PXEClient it says nothing */
  start(3, NULL);
  builder_option(&b, 250, wds_x86, sizeof(wds_x86));
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Apple NetBoot: BSDP                                                 */

/*
 * Apple's bootp (apple-oss-distributions/bootp): BSDPClient/BSDPClient.c
 * make_bsdp_request() writes an INFORM from the client's address
 * (ciaddr) with 53, 55 {60, 43}, 57 (ETHERMTU) and 60
 * "AAPLBSDPC/<arch>/<system id>" (BSDP_ARCHITECTURE "i386", "arm",
 * "ppc"); BSDPClientSendListRequest() adds option 43 with the BSDP
 * sub-options of bootplib/bsdp.h: 1 message type (LIST 1), 2 version
 * (BSDP_VERSION_1_1, 0x0101, network order), 10 empty on NetBoot 1.0
 * firmware, 5 reply port, 12 maximum message size (8 KiB), 11 the image
 * attribute filter (2 bytes each); BSDPClientSendSelectRequest() 1
 * (SELECT 2), 2, 5, 3 server identifier, 8 selected image id
 * (attributes << 16 | index, network order).  Sub-options end without
 * END (dhcpoa_init_no_end()).
 */

/* The INFORM of make_bsdp_request() with option 43 = BSDP (LEN bytes). */
static void
bsdp_inform(const uint8_t *bsdp, size_t len)
{
  static const uint8_t params[] = {60, 43};
  static const uint8_t max_size[] = {0x05, 0xdc}; /* ETHERMTU */
  static const uint8_t ciaddr[] = {10, 0, 0, 5};

  start(8, NULL);
  memcpy(b.buf + offsetof(struct bootp_header, ciaddr), ciaddr, 4);
  builder_option(&b, 55, params, sizeof(params));
  builder_option(&b, 57, max_size, sizeof(max_size));
  builder_string(&b, 60, "AAPLBSDPC/i386/MacBookPro11,1");
  builder_option(&b, 43, bsdp, len);
  classify_built();
}

/* BSDPClientSendListRequest(): LIST, 1.1, reply port 1000, 8 KiB. */
START_TEST(apple_bsdp_list)
{
  static const uint8_t list[] = {1, 1, 1, 2, 2, 1, 1, 5, 2, 0x03, 0xe8,
                                 12, 2, 0x20, 0x00};

  bsdp_inform(list, sizeof(list));
  ASSERT_CLASS(PXC_CLASS_BSDP, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.errors | req.warnings, 0); /* BSDP names no arch */
  ck_assert(!req.has_boot_item);                   /* 43 is not PXE's */
  ck_assert(pxc_class_starts_chain(PXC_CLASS_BSDP));
  ck_assert(req.has_bsdp);
  ck_assert_uint_eq(req.bsdp.present,
                    PXC_BSDP_HAS_MSG_TYPE | PXC_BSDP_HAS_VERSION |
                        PXC_BSDP_HAS_REPLY_PORT | PXC_BSDP_HAS_MAX_SIZE);
  ck_assert_uint_eq(req.bsdp.msg_type, PXC_BSDP_LIST);
  ck_assert_str_eq(pxc_bsdp_msg_name(req.bsdp.msg_type), "list");
  ck_assert_uint_eq(req.bsdp.version, 0x0101);
  ck_assert_uint_eq(req.bsdp.reply_port, 1000);
  ck_assert_uint_eq(req.bsdp.max_message_size, 8192);
}
END_TEST

/* BSDPClientSendSelectRequest(): SELECT of image 7, an install image of
   kind 1 (Mac OS X: attributes 0x8100), from server 10.0.0.1; and the
   empty NetBoot 1.0 firmware flag (10) before the reply port. */
START_TEST(apple_bsdp_select)
{
  static const uint8_t select[] = {1, 1, 2, 2, 2, 1, 0, 10, 0, 5, 2, 0x03,
                                   0xe8, 3, 4, 10, 0, 0, 1, 8, 4, 0x81, 0x00,
                                   0x00, 0x07};

  bsdp_inform(select, sizeof(select));
  ASSERT_CLASS(PXC_CLASS_BSDP, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_uint_eq(req.bsdp.present,
                    PXC_BSDP_HAS_MSG_TYPE | PXC_BSDP_HAS_VERSION |
                        PXC_BSDP_HAS_FIRMWARE_1_0 | PXC_BSDP_HAS_REPLY_PORT |
                        PXC_BSDP_HAS_SERVER_ID | PXC_BSDP_HAS_IMAGE_ID);
  ck_assert_uint_eq(req.bsdp.msg_type, PXC_BSDP_SELECT);
  ck_assert_uint_eq(req.bsdp.version, 0x0100);
  ck_assert_uint_eq(req.bsdp.server_id, 0x0a000001);
  ck_assert_uint_eq(req.bsdp.image_id, 0x81000007);
  ck_assert_uint_eq(req.bsdp.max_message_size, 0); /* not sent */
  ck_assert_str_eq(pxc_bsdp_msg_name(PXC_BSDP_FAILED), "failed");
  ck_assert_ptr_null(pxc_bsdp_msg_name(0));
  ck_assert_ptr_null(pxc_bsdp_msg_name(4));
}
END_TEST

/* Malformed BSDP: a sub-option of the wrong length for its type is
   flagged and not read (the rest is); one running past option 43
   flags and ends the walk; the first of a repeated code counts. */
START_TEST(apple_bsdp_malformed)
{
  static const uint8_t short_version[] = {1, 1, 1, 2, 1, 1, 5, 2, 0x03, 0xe8};
  static const uint8_t overrun[] = {1, 1, 2, 8, 9, 0x81, 0, 0};
  static const uint8_t repeated[] = {1, 1, 1, 1, 1, 3};

  bsdp_inform(short_version, sizeof(short_version));
  ASSERT_CLASS(PXC_CLASS_BSDP, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.errors, PXC_ERR_BSDP);
  ck_assert_str_eq(pxc_error_name(PXC_ERR_BSDP), "bsdp");
  ck_assert_uint_eq(req.bsdp.present,
                    PXC_BSDP_HAS_MSG_TYPE | PXC_BSDP_HAS_REPLY_PORT);
  ck_assert_uint_eq(req.bsdp.version, 0);

  bsdp_inform(overrun, sizeof(overrun));
  ck_assert_uint_eq(req.errors, PXC_ERR_BSDP);
  ck_assert_uint_eq(req.bsdp.present, PXC_BSDP_HAS_MSG_TYPE);
  ck_assert_uint_eq(req.bsdp.image_id, 0);

  bsdp_inform(repeated, sizeof(repeated));
  ck_assert_uint_eq(req.errors, 0);
  ck_assert_uint_eq(req.bsdp.msg_type, PXC_BSDP_LIST);

  /* empty: BSDP, but nothing read */
  bsdp_inform(repeated, 0);
  ck_assert(req.has_bsdp);
  ck_assert_uint_eq(req.bsdp.present | req.errors, 0);
}
END_TEST

/* Only an AAPLBSDPC client's 43 is BSDP: the same bytes from another
   vendor class, or from PXE firmware, leave has_bsdp false, and a
   request after an Apple one does not keep its BSDP. */
START_TEST(apple_bsdp_only_for_apple)
{
  static const uint8_t list[] = {1, 1, 1, 2, 2, 1, 1};
  static const char *const others[] = {"MSFT 5.0", "PXEClient", NULL};

  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
    bsdp_inform(list, sizeof(list)); /* an Apple request first */
    ck_assert(req.has_bsdp);
    start(8, others[i]);
    builder_option(&b, 43, list, sizeof(list));
    classify_built();
    ck_assert_msg(!req.has_bsdp, "%s", others[i] ? others[i] : "(none)");
    ck_assert_uint_eq(req.errors, 0);
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Boot agents of switches and appliances                              */

/* Nokia SR OS ZTP names itself in its user class too, one RFC 3004
   string (7750 SR Basic System Configuration Guide 21.7.R1, "Supported
   DHCP client options for ZTP": option 77 "platform;timos-release;ztp",
   with include-user-class): the platform, the TiMOS release, "ztp". */
START_TEST(nokia_ztp_user_class)
{
  static const char *const ztp[] = {
      "\x1d" "7750 SR-1;TiMOS-B-21.7.R1;ztp",
      "\x1c" "platform;TiMOS-B-21.7.R1;ztp", /* the guide's words as sent */
  };
  static const char *const not_ztp[] = {
      "\x14" "platform;7220-IXR;os",  /* not ;ztp at its end */
      "\x0d" "7750 SR-1;ztp",         /* two fields */
      "\x0f" "a;b;TiMOS-B;ztp",       /* four fields */
      "\x0f" ";TiMOS-B-21;ztp",       /* an empty platform */
      "\x0c" "7750 SR;;ztp",          /* an empty release */
  };

  for (size_t i = 0; i < sizeof(ztp) / sizeof(ztp[0]); i++) {
    start(1, NULL);
    builder_option(&b, 77, ztp[i], strlen(ztp[i]));
    classify_built();
    ASSERT_CLASS(PXC_CLASS_AGENT, PXC_AGENT_NOKIA_ZTP);
  }
  for (size_t i = 0; i < sizeof(not_ztp) / sizeof(not_ztp[0]); i++) {
    start(1, NULL);
    builder_option(&b, 77, not_ztp[i], strlen(not_ztp[i]));
    ck_assert_msg(classify_built()->fw_class == PXC_CLASS_NONE, "%s",
                  not_ztp[i] + 1);
  }
}
END_TEST

/* BlueField's UEFI PXE (bfb-install sets DHCP_CLASS_ID BF2Client; its
   server hands grubnetaa64.efi): boot firmware, class pxe, with the
   agent saying which. */
START_TEST(bluefield_pxe)
{
  static const uint8_t arch11[2] = {0, 11};

  start(1, "BF2Client");
  builder_option(&b, 93, arch11, 2);
  classify_built();
  ASSERT_CLASS(PXC_CLASS_PXE, PXC_AGENT_BLUEFIELD);
  ck_assert_uint_eq(req.arch, 11);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Other loaders                                                       */

/* FreeBSD stand/libsa/bootp.c bootp_fill_request(): 60 "PXEClient",
   then 77 as RFC 3004 "FreeBSD" (8, 7, "FreeBSD"), then 55. */
START_TEST(freebsd_pxeboot)
{
  static const uint8_t prl[7] = {17, 12, 16, 3, 1, 26, 28};

  start(1, "PXEClient");
  builder_option(&b, 77, "\x07" "FreeBSD", 8);
  builder_option(&b, 55, prl, 7);
  classify_built();
  ASSERT_CLASS(PXC_CLASS_LOADER, PXC_AGENT_FREEBSD);
  ck_assert(req.user_class_rfc3004);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* u-root pkg/dhclient lease4(): OptClassIdentifier("PXE UROOT") and
   netboot options. */
START_TEST(uroot)
{
  static const uint8_t prl[] = {1, 66, 67};

  start(1, "PXE UROOT");
  builder_option(&b, 55, prl, sizeof(prl));
  classify_built();
  ASSERT_CLASS(PXC_CLASS_LOADER, PXC_AGENT_UROOT);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* FlexBoot on InfiniBand (RFC 4390): hardware type 32, chaddr empty, the
   client id ff + IAID + a DUID ending in Mellanox's 00:02:c9 and the
   port GUID; 175 as iPXE sends it. */
START_TEST(flexboot_infiniband)
{
  static const uint8_t client_id[] = {
      0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x02, 0xc9,
      0x00, 0xf4, 0x52, 0x14, 0x03, 0x00, 0x7b, 0xcb, 0xa1};
  static const uint8_t eb[] = {0xb1, 5, 1, 0x15, 0xb3, 0x10, 0x03,
                               0xeb, 3, 1, 0, 0, 0x13, 1, 1};
  static const uint8_t arch0[2] = {0, 0};

  start(1, "PXEClient:Arch:00000:UNDI:002001");
  b.buf[offsetof(struct bootp_header, htype)] = 32;
  b.buf[offsetof(struct bootp_header, hlen)] = 0;
  memset(b.buf + offsetof(struct bootp_header, chaddr), 0, 16);
  builder_option(&b, 61, client_id, sizeof(client_id));
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 77, "iPXE", 4); /* upstream iPXE runs on IB too */
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  /* FlexBoot sends no user class */
  start(1, "PXEClient:Arch:00000:UNDI:002001");
  b.buf[offsetof(struct bootp_header, htype)] = 32;
  b.buf[offsetof(struct bootp_header, hlen)] = 0;
  builder_option(&b, 61, client_id, sizeof(client_id));
  builder_option(&b, 93, arch0, 2);
  builder_option(&b, 175, eb + 7, sizeof(eb) - 7); /* no bus id on IB */
  classify_built();
  ASSERT_CLASS(PXC_CLASS_FLEXBOOT, PXC_AGENT_NONE);
  ck_assert_uint_eq(req.htype, 32);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The installed system and installers: class os                       */

/*
 * Every program named by its vendor class alone (option 60), one row
 * each: the class it gets and the agent, the source of the string over
 * it.  Boot agents of switches and appliances are class agent, the
 * installed system and installers class os: both left alone by netboot.
 */
START_TEST(agents_by_vendor_class)
{
  static const struct {
    const char *vc;
    enum pxc_class cls;
    enum pxc_agent agent;
  } cases[] = {
      /* ONIE design spec, onie_dhcp_vendor_class */
      {"onie_vendor:x86_64-accton_as7326_56x-r0", PXC_CLASS_AGENT,
       PXC_AGENT_ONIE},
      /* Nokia 7750 SR Basic System Configuration Guide 21.7.R1,
         "Supported DHCP client options for ZTP": option 60 "NOKIA:
         FmtChassisType Strings" (SR OS's chassis type; as printed, with
         and without the space) */
      {"NOKIA:7750 SR-1", PXC_CLASS_AGENT, PXC_AGENT_NOKIA_ZTP},
      {"NOKIA: 7750 SR-7", PXC_CLASS_AGENT, PXC_AGENT_NOKIA_ZTP},
      /* NVIDIA's out-of-band port and BMC of a BlueField DPU */
      {"NVIDIA/BF/OOB", PXC_CLASS_AGENT, PXC_AGENT_BLUEFIELD_OOB},
      {"NVIDIA/BF/BMC", PXC_CLASS_AGENT, PXC_AGENT_BLUEFIELD_OOB},
      /* NVIDIA Carbide vendor_class.rs: "x86 DELL BMC OR x86 HP iLo BMC" */
      {"iDRAC", PXC_CLASS_AGENT, PXC_AGENT_IDRAC},
      {"CPQRIB3", PXC_CLASS_AGENT, PXC_AGENT_ILO},
      /* klibc usr/kinit/ipconfig/main.c, initramfs-tools' ip=dhcp */
      {"Linux ipconfig", PXC_CLASS_OS, PXC_AGENT_IPCONFIG},
      /* busybox networking/udhcp/dhcpc.c: "udhcp "BB_VER */
      {"udhcp 1.36.1", PXC_CLASS_OS, PXC_AGENT_UDHCPC},
      /* anaconda's dracut module: anaconda-$(uname -srm) */
      {"anaconda-Linux 5.14.0-427.el9.x86_64 x86_64", PXC_CLASS_OS,
       PXC_AGENT_ANACONDA},
      /* dhcpcd src/dhcp-common.c dhcp_vendor(): "%s-%s:%s-%s:%s" of
         PACKAGE, VERSION, uname's sysname, release and machine, then
         if_machinearch()'s ":<platform>" where the OS names one */
      {"dhcpcd-10.0.6:Linux-6.1.0-13-amd64:x86_64", PXC_CLASS_OS,
       PXC_AGENT_DHCPCD},
      {"dhcpcd-9.4.1:NetBSD-10.0:evbarm:aarch64", PXC_CLASS_OS,
       PXC_AGENT_DHCPCD},
      /* Windows Server docs, "What's new in DHCP" (Windows 10 2004):
         "MSFT 5.0", and "MSFT 5.0 XBOX" on some devices */
      {"MSFT 5.0", PXC_CLASS_OS, PXC_AGENT_WINDOWS},
      {"MSFT 5.0 XBOX", PXC_CLASS_OS, PXC_AGENT_WINDOWS},
      /* NVIDIA Carbide vendor_class.rs: the BlueField DPU's OS */
      {"nvidia-bluefield-dpu aarch64", PXC_CLASS_OS, PXC_AGENT_BLUEFIELD_OS},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    start(1, cases[i].vc);
    classify_built();
    ASSERT_CLASS(cases[i].cls, cases[i].agent);
    ck_assert_int_eq(pxc_agent_class(cases[i].agent), cases[i].cls);
    ck_assert_uint_eq(req.warnings, 0);
  }
  ck_assert(!pxc_class_is_netboot(PXC_CLASS_AGENT));
  ck_assert(!pxc_class_is_netboot(PXC_CLASS_OS));
  /* a prefix needs all of itself: "udhcp" alone, "MSFT" alone are not */
  start(1, "udhcp");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
  start(1, "MSFT");
  ck_assert_int_eq(classify_built()->fw_class, PXC_CLASS_NONE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Architecture quirks: each read as meant, with its warning           */

/* U-Boot's UEFI layer: lib/efi_loader/efi_helper.c HOST_PXE_ARCH is 0x6
   for x86_64 and 0x7 for x86, the reverse of the registry its comment
   cites. */
START_TEST(uboot_efi_swapped)
{
  static const uint8_t arch6[2] = {0, 6}, arch7[2] = {0, 7};

  start(1, "U-Boot");
  builder_option(&b, 93, arch6, 2);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_UBOOT);
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.arch93_raw, 6);
  ck_assert_uint_eq(req.warnings, PXC_WARN_UBOOT_EFI_SWAP);
  ck_assert_str_eq(pxc_warning_name(PXC_WARN_UBOOT_EFI_SWAP),
                   "uboot-efi-x86-swap");
  start(1, "U-Boot");
  builder_option(&b, 93, arch7, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 6);
  /* EDK2's 6 is IA32, as the registry says */
  start(1, "PXEClient:Arch:00006:UNDI:003000");
  builder_option(&b, 93, arch6, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 6);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* U-Boot's own board values, e.g. include/configs/odroid-c2 with
   CONFIG_BOOTP_PXE_CLIENTARCH 0x16: 22, IANA's ARM 64-bit U-Boot; no
   quirk. */
START_TEST(uboot_board_0x16_is_iana)
{
  static const uint8_t arch16[2] = {0x00, 0x16};

  start(1, "U-Boot.armv8");
  builder_option(&b, 93, arch16, 2);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_UBOOT);
  ck_assert_str_eq(pxc_arch_by_code(req.arch)->name, "uboot-arm64");
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* ARM64 HTTP Boot firmware that says HTTPClient:Arch:00011 (the PXE
   code; NVIDIA Carbide's vendor_class.rs tests this very string as an
   ARM64 netboot client) where EDK2's HttpBootDxe sends 19: read as 19,
   and so for every UEFI PXE code with an HTTP sibling (7 as 16, 6 as 15
   ...). */
START_TEST(http_arch_as_pxe)
{
  static const uint8_t arch11[2] = {0, 11}, arch7[2] = {0, 7};

  start(1, "HTTPClient:Arch:00011:UNDI:003000");
  builder_option(&b, 93, arch11, 2);
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_HTTP_BOOT);
  ck_assert_uint_eq(req.arch, 19);
  ck_assert_str_eq(pxc_arch_by_code(req.arch)->name, "efi-arm64-http");
  ck_assert_uint_eq(req.warnings, PXC_WARN_HTTP_ARCH_AS_PXE);
  ck_assert_str_eq(pxc_warning_name(PXC_WARN_HTTP_ARCH_AS_PXE),
                   "http-arch-as-pxe");
  /* only in 60 */
  start(1, "HTTPClient:Arch:00011:UNDI:003000");
  classify_built();
  ck_assert_uint_eq(req.arch, 19);
  ck_assert_uint_eq(req.warnings,
                    PXC_WARN_ARCH_FROM_60 | PXC_WARN_HTTP_ARCH_AS_PXE);
  start(1, "HTTPClient");
  builder_option(&b, 93, arch7, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 16);
  /* PXE with 11 is PXE's 11 */
  start(1, "PXEClient:Arch:00011:UNDI:003000");
  builder_option(&b, 93, arch11, 2);
  classify_built();
  ck_assert_uint_eq(req.arch, 11);
  ck_assert_uint_eq(req.warnings, 0);
}
END_TEST

/* iPXE x86_64-efi builds before commit af9afd0a8 (2016-05-26) sent 93 =
   9 and "PXEClient:Arch:00009:UNDI:003010" (dhcparch.h of the time): x64
   UEFI, with the arch9 warning; dhcp-pxe-arch9=ebc reads EBC. */
START_TEST(ipxe_efi_sends_9)
{
  static const uint8_t arch9[2] = {0, 9}, undi310[3] = {1, 3, 10};
  static const uint8_t eb[] = {0xeb, 3, 1, 0, 0, 0x24, 1, 1};
  static const char *const ebc[] = {"dhcp-pxe-arch9=ebc", NULL};
  struct pxc_config *cfg;

  start(1, "PXEClient:Arch:00009:UNDI:003010");
  builder_option(&b, 93, arch9, 2);
  builder_option(&b, 94, undi310, 3);
  builder_option(&b, 77, "iPXE", 4);
  builder_option(&b, 175, eb, sizeof(eb));
  classify_built();
  ck_assert_int_eq(req.fw_class, PXC_CLASS_IPXE);
  ck_assert_uint_eq(req.arch, 7);
  ck_assert_uint_eq(req.warnings, PXC_WARN_ARCH9_AS_X64);
  cfg = config_of(ebc);
  pxc_classify(cfg, b.buf, b.len, &req);
  ck_assert_uint_eq(req.arch, 9);
  ck_assert_uint_eq(req.warnings, 0);
  pxc_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Selectors and the chain tracker                                     */

/* True if RULE (a dhcp-pxe-class value) sets its tag for the last
   classification. */
static bool
class_rule_sets(const char *rule)
{
  char line[256];
  const char *lines[] = {line, NULL};
  struct pxc_config *cfg;
  struct pxc_verdict v;
  bool set;

  snprintf(line, sizeof(line), "dhcp-pxe-class=set:t,%s", rule);
  cfg = config_of(lines);
  pxc_evaluate(cfg, NULL, &req, 0, &v);
  set = pxc_rule_matches(cfg, 0, &v);
  pxc_config_free(cfg);
  return set;
}

/* netboot means any boot program: GRUB and the loaders yes, the OS and
   agents no; each new class and each agent name selects. */
START_TEST(selectors)
{
  char err[512];
  struct pxc_config *cfg;

  start(1, "udhcp 1.36.1");
  classify_built();
  ck_assert(!class_rule_sets("netboot"));
  ck_assert(class_rule_sets("os"));
  ck_assert(class_rule_sets("udhcpc"));
  ck_assert(!class_rule_sets("windows,linux-ipconfig"));
  ck_assert(!class_rule_sets("none"));

  start(1, "iDRAC");
  classify_built();
  ck_assert(!class_rule_sets("netboot"));
  ck_assert(class_rule_sets("agent"));
  ck_assert(class_rule_sets("ilo,idrac"));

  start(1, "PXEClient");
  builder_option(&b, 77, "\x07" "FreeBSD", 8);
  classify_built();
  ck_assert(class_rule_sets("netboot"));
  ck_assert(class_rule_sets("loader"));
  ck_assert(class_rule_sets("freebsd-pxeboot"));
  ck_assert(!class_rule_sets("pxe"));

  cfg = pxc_config_new();
  ck_assert_int_eq(pxc_config_add(cfg, "dhcp-pxe-class", "set:t,bmc", err,
                                  sizeof(err)),
                   -1);
  ck_assert_ptr_nonnull(strstr(err, "unknown class 'bmc'"));
  ck_assert_ptr_nonnull(strstr(err, "udhcpc")); /* agents are listed */
  pxc_config_free(cfg);
}
END_TEST

/* Classify, evaluate and record one request of the last build. */
static void
play(const struct pxc_config *cfg, struct pxc_tracker *trk, time_t now,
     struct pxc_verdict *v)
{
  builder_end(&b);
  pxc_classify(cfg, b.buf, b.len, &req);
  pxc_evaluate(cfg, trk, &req, now, v);
  pxc_tracker_record(trk, v);
}

/* A machine whose chain reaches its OS (udhcpc of an initramfs) leaves
   the table: the OS and agents are no stage; GRUB is one. */
START_TEST(os_ends_the_chain)
{
  static const char *const lines[] = {"dhcp-chain-guard=3,60", NULL};
  static const uint8_t arch7[2] = {0, 7};
  static const uint8_t prl[7] = {1, 3, 6, 15, 12, 17, 18};
  struct pxc_config *cfg = config_of(lines);
  struct pxc_tracker *trk = pxc_tracker_new(cfg);
  struct pxc_chain_stats st;
  struct pxc_verdict v;

  ck_assert_ptr_nonnull(trk);
  start(1, "PXEClient:Arch:00007:UNDI:003000");
  builder_option(&b, 93, arch7, 2);
  play(cfg, trk, 100, &v);
  ck_assert(v.chain.tracked);
  start(3, NULL); /* GRUB after shim: a new stage of the same chain */
  b.buf[offsetof(struct bootp_header, xid) + 3] = 0x99;
  builder_option(&b, 55, prl, 7);
  play(cfg, trk, 103, &v);
  ck_assert_int_eq(req.fw_class, PXC_CLASS_GRUB);
  ck_assert(v.chain.tracked && v.chain.new_stage);
  ck_assert_uint_eq(v.chain.stages, 2);
  pxc_tracker_stats(trk, &st);
  ck_assert_uint_eq(st.used, 1);
  start(1, "udhcp 1.36.1");
  play(cfg, trk, 110, &v);
  ck_assert(!v.chain.tracked);
  pxc_tracker_stats(trk, &st);
  ck_assert_uint_eq(st.used, 0);
  /* an agent on another port is never tracked */
  start(1, "iDRAC");
  b.buf[offsetof(struct bootp_header, chaddr) + 5] = 0x0b;
  play(cfg, trk, 111, &v);
  ck_assert(!v.chain.tracked);
  pxc_tracker_stats(trk, &st);
  ck_assert_uint_eq(st.used, 0);
  pxc_tracker_free(trk);
  pxc_config_free(cfg);
}
END_TEST

Suite *
field_suite(void)
{
  Suite *s = suite_create("field");
  TCase *programs = tcase_create("programs");
  TCase *quirks = tcase_create("quirks");
  TCase *use = tcase_create("selectors-and-chains");

  tcase_add_test(programs, grub_discover);
  tcase_add_test(programs, grub_request);
  tcase_add_test(programs, grub_request_debian);
  tcase_add_test(programs, grub_202_bootp);
  tcase_add_test(programs, wds_nbp_request);
  tcase_add_test(programs, apple_bsdp_list);
  tcase_add_test(programs, apple_bsdp_select);
  tcase_add_test(programs, apple_bsdp_malformed);
  tcase_add_test(programs, apple_bsdp_only_for_apple);
  tcase_add_test(programs, nokia_ztp_user_class);
  tcase_add_test(programs, bluefield_pxe);
  tcase_add_test(programs, freebsd_pxeboot);
  tcase_add_test(programs, uroot);
  tcase_add_test(programs, flexboot_infiniband);
  tcase_add_test(programs, agents_by_vendor_class);
  tcase_add_test(quirks, uboot_efi_swapped);
  tcase_add_test(quirks, uboot_board_0x16_is_iana);
  tcase_add_test(quirks, http_arch_as_pxe);
  tcase_add_test(quirks, ipxe_efi_sends_9);
  tcase_add_test(use, selectors);
  tcase_add_test(use, os_ends_the_chain);
  suite_add_tcase(s, programs);
  suite_add_tcase(s, quirks);
  suite_add_tcase(s, use);
  return s;
}
