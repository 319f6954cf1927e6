/*
 * Classification of one DHCPv4 request: which boot firmware sent it, for
 * which architecture, and what an iPXE build says about itself.
 *
 * One pass: the options field is walked once with tlv_next(), and each
 * option the classifier reads is handed, as it comes, to its own small
 * reader (a table indexed by option code says which); the two readers
 * that depend on another (43 on 60, 150 on 175) run after the walk.
 * That is every packet of the captures.  A packet with a split option
 * (RFC 3396) or option 52 takes the general path instead, started afresh
 * when the walk meets one: the walk notes where the first fragment of
 * each option lies, then the overloaded file and sname fields are walked
 * (RFC 2131 §4.1, in RFC 3396 §5 order: options, file, sname), then each
 * noted option is read in a fixed order, a split one joined first into a
 * local buffer, or into the request's text array for options 60 and 77.
 * Every reader checks the length first and raises an error flag rather
 * than guessing.  Nothing is written to the request but what the request
 * keeps; facts come from tables.c.
 */
#include <stddef.h>
#include <string.h>

#include "classify.h"
#include "facts.h"
#include "pxeclass.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(PXC_FEATURE_FIRST < 64 && PXC_FEATURE_LAST == 127,
               "read_ipxe() gathers the feature flags in two 64-bit words");

/* Longest joined split option (other than 60 and 77, which are joined
   into their PXC_TEXT_MAX-byte text arrays); as 0.1's scratch buffer. */
#define JOIN_MAX 1024

/*
 * Vendor class prefixes (option 60) and what each announces: a class,
 * and the agent (program) when the class holds several.  The one table
 * of them; the first four are what boot firmware sends most, and the
 * search stops at the first match.  EDK2 and iPXE compare the first 9
 * ("PXEClient") or 10 ("HTTPClient") bytes; the others, as their source
 * sends them.
 */
static const struct {
  const char *prefix;
  uint8_t len;   /* 4 to 16 bytes (read_literal()) */
  uint8_t cls;   /* enum pxc_class */
  uint8_t agent; /* enum pxc_agent */
  bool has_arch; /* ":Arch:NNNNN:UNDI:yyyzzz" may follow */
} vendor_prefixes[] = {
    {"PXEClient", 9, PXC_CLASS_PXE, PXC_AGENT_NONE, true},
    {"HTTPClient", 10, PXC_CLASS_HTTP_BOOT, PXC_AGENT_NONE, true},
    {"Etherboot", 9, PXC_CLASS_ETHERBOOT, PXC_AGENT_NONE, false},
    /* U-Boot net/bootp.c add_vci(): CONFIG_BOOTP_VCI_STRING, "U-Boot.armv8"
       and the like; some board headers spelt it "U-boot.armv7…" */
    {"U-Boot", 6, PXC_CLASS_UBOOT, PXC_AGENT_NONE, false},
    {"U-boot", 6, PXC_CLASS_UBOOT, PXC_AGENT_NONE, false},
    /* Apple BSDP: AAPLBSDPC/<arch>/<model> */
    {"AAPLBSDPC", 9, PXC_CLASS_BSDP, PXC_AGENT_NONE, false},
    /* BlueField bfb-install: DHCP_CLASS_ID BF1Client / BF2Client */
    {"BF1Client", 9, PXC_CLASS_PXE, PXC_AGENT_BLUEFIELD, false},
    {"BF2Client", 9, PXC_CLASS_PXE, PXC_AGENT_BLUEFIELD, false},
    /* u-root pkg/dhclient: OptClassIdentifier("PXE UROOT") */
    {"PXE UROOT", 9, PXC_CLASS_LOADER, PXC_AGENT_UROOT, false},
    /* ONIE design spec: onie_vendor:<arch>-<machine>-r<rev> */
    {"onie_vendor:", 12, PXC_CLASS_AGENT, PXC_AGENT_ONIE, false},
    {"NOKIA:", 6, PXC_CLASS_AGENT, PXC_AGENT_NOKIA_ZTP, false},
    {"NVIDIA/BF/", 10, PXC_CLASS_AGENT, PXC_AGENT_BLUEFIELD_OOB, false},
    {"iDRAC", 5, PXC_CLASS_AGENT, PXC_AGENT_IDRAC, false},
    {"CPQRIB3", 7, PXC_CLASS_AGENT, PXC_AGENT_ILO, false},
    /* klibc usr/kinit/ipconfig/main.c: set_vendor_identifier("Linux
       ipconfig"), the initramfs's ip=dhcp */
    {"Linux ipconfig", 14, PXC_CLASS_OS, PXC_AGENT_IPCONFIG, false},
    /* busybox udhcpc: -V default "udhcp "BB_VER */
    {"udhcp ", 6, PXC_CLASS_OS, PXC_AGENT_UDHCPC, false},
    {"anaconda-", 9, PXC_CLASS_OS, PXC_AGENT_ANACONDA, false},
    {"dhcpcd-", 7, PXC_CLASS_OS, PXC_AGENT_DHCPCD, false},
    {"MSFT ", 5, PXC_CLASS_OS, PXC_AGENT_WINDOWS, false},
    /* BlueField's vendor classes as NVIDIA Carbide reads them
       (vendor_class.rs): BF2Client, NVIDIA/BF/OOB, NVIDIA/BF/BMC, and
       "nvidia-bluefield-dpu aarch64" from the DPU's OS */
    {"nvidia-bluefield", 16, PXC_CLASS_OS, PXC_AGENT_BLUEFIELD_OS, false},
};

/*
 * GRUB's parameter request list (grub-core/net/bootp.c, send_dhcp_packet
 * request_options, GRUB 2.04 on): netmask, router, DNS, domain, host
 * name, root path, extensions path.  Its DHCPREQUEST carries 53, 54, 50,
 * this 55 and nothing else; its DISCOVER carries 53 alone.  Upstream
 * asks the first GRUB_PARAM_LIST_UPSTREAM; distribution builds append
 * 60 (Debian 12's signed grubnetx64.efi, grub2 2.06-13+deb12u2, on the
 * wire in tests/firmware's m-shim-grub-ovmf-pxe boot: the UEFI HTTP Boot
 * patches they carry read an "HTTPClient" 60 in the ACK).
 */
static const uint8_t grub_param_list[8] = {1, 3, 6, 15, 12, 17, 18, 60};
#define GRUB_PARAM_LIST_UPSTREAM 7

/* ------------------------------------------------------------------ */
/* The walk: where the options the classifier reads lie                */

/* One option area: the options field, or file/sname when overloaded.
   ERROR is the flag a malformed option there raises. */
struct area {
  const uint8_t *start;
  size_t len;
  uint32_t error;
};

/* The first fragment of a noted option, and how many fragments it has. */
struct slot {
  const uint8_t *data;
  uint8_t len;
  uint8_t fragments; /* saturates at 2: only "split or not" matters */
};

/*
 * The options read, in the order the general path reads them: 60 before
 * 43 (43 is PXE's only for a PXEClient), 175 before 150 (iPXE's bus id
 * wins over Etherboot 5's).  X(option code, reader, late): LATE readers
 * depend on another one, so the fast path reads them after the walk.
 * Each gets a slot, numbered from 1 in this order; 52, which the walk
 * itself uses, the last one.
 */
#define OPTION_READERS(X)                                                      \
  X(DHCP_MSG_TYPE, read_msg_type, false)                                       \
  X(DHCP_SERVER_ID, read_server_id, false)                                     \
  X(DHCP_PARAM_LIST, read_param_list, false)                                   \
  X(DHCP_WDS_NBP, read_wds_nbp, false)                                         \
  X(DHCP_VENDOR_CLASS, read_vendor_class, false)                               \
  X(DHCP_USER_CLASS, read_user_class, false)                                   \
  X(DHCP_CLIENT_ARCH, read_client_arch, false)                                 \
  X(DHCP_CLIENT_NDI, read_client_ndi, false)                                   \
  X(DHCP_CLIENT_UUID, read_client_uuid, false)                                 \
  X(DHCP_EB_ENCAP, read_ipxe, false)                                           \
  X(DHCP_EB5_ENCAP, read_etherboot, true)                                      \
  X(DHCP_VENDOR_ENCAP, read_pxe_options, true)

#define SLOT_ENUM_(code, read, late) SLOT_##read,
enum { SLOT_NONE, OPTION_READERS(SLOT_ENUM_) SLOT_OVERLOAD, SLOT_COUNT };
#undef SLOT_ENUM_

/* The state of one pxc_classify() call (on its stack). */
struct parse {
  struct pxc_request *req;
  struct area areas[3];
  unsigned area_count;
  uint16_t present;             /* bit N: slot N seen */
  struct slot slot[SLOT_COUNT];
  enum pxc_class vendor;        /* what option 60's prefix announces */
  enum pxc_agent vendor_agent;  /* ...and which program, if it says */
  bool grub_param_list;         /* option 55 is GRUB's */
  bool has_wds;                 /* option 250 seen */
  uint8_t uuid97[5];            /* head of option 97, for the Pi test */
  uint8_t uuid97_len;
};

_Static_assert(SLOT_COUNT <= 16, "struct parse.present has 16 bits");

struct option_reader {
  uint8_t code;
  void (*read)(struct parse *ps, const uint8_t *data, size_t len);
};

#define READER_DECLARE_(code, read, late)                                      \
  static void read(struct parse *, const uint8_t *, size_t);
OPTION_READERS(READER_DECLARE_)
#undef READER_DECLARE_

/* Slot N is readers[N - 1]. */
#define READER_ROW_(code, read, late) {code, read},
static const struct option_reader readers[] = {OPTION_READERS(READER_ROW_)};
#undef READER_ROW_

/* Slot of each option code: SLOT_NONE for the options the classifier
   skips. */
#define SLOT_ROW_(code, read, late) [code] = SLOT_##read,
static const uint8_t option_slot[256] = {
    OPTION_READERS(SLOT_ROW_)[DHCP_OVERLOAD] = SLOT_OVERLOAD,
};
#undef SLOT_ROW_

/* The slots of the late readers, as bits. */
#define LATE_BIT_(code, read, late) ((late) ? 1u << SLOT_##read : 0u) |
static const unsigned late_slots = OPTION_READERS(LATE_BIT_) 0u;
#undef LATE_BIT_

/* Note one option of the walk in PS and PRESENT (PS->present, kept in a
   register during the walk): the first fragment is the one kept. */
static inline void
note_option(struct parse *ps, unsigned *present, const struct tlv *item)
{
  unsigned s = option_slot[item->code];
  struct slot *slot = &ps->slot[s];

  if (!(*present & (1u << s))) {
    *present |= 1u << s;
    slot->data = item->data;
    slot->len = item->len;
    slot->fragments = 1;
  } else {
    slot->fragments = 2;
  }
}

/* Walk one area, noting the options read; a malformed option raises the
   area's error and ends its walk.  Returns how the area ended. */
static enum tlv_step
walk_area(struct parse *ps, const struct area *area)
{
  struct reader r = reader_of(area->start, area->len);
  unsigned present = ps->present;
  struct tlv item;
  enum tlv_step step;

  while ((step = tlv_next(&r, &item)) == TLV_ITEM)
    if (option_slot[item.code])
      note_option(ps, &present, &item);
  ps->present = (uint16_t)present;
  if (step == TLV_OVERRUN)
    ps->req->errors |= area->error;
  return step;
}

/* Add an area to walk. */
static void
add_area(struct parse *ps, const uint8_t *start, size_t len, uint32_t error)
{
  ps->areas[ps->area_count++] = (struct area){start, len, error};
}

/*
 * Option 52 (meaningful in the options field only, RFC 2131 §4.1; its
 * first fragment, as sent): add the file and sname areas it names, file
 * first.  A bad value reads neither.
 */
static void
add_overload_areas(struct parse *ps, const uint8_t *pkt)
{
  const struct slot *slot = &ps->slot[SLOT_OVERLOAD];
  uint8_t overload;

  if (!(ps->present & (1u << SLOT_OVERLOAD)))
    return;
  if (slot->len != 1 || slot->data[0] < 1 || slot->data[0] > 3) {
    ps->req->errors |= PXC_ERR_OVERLOAD;
    return;
  }
  overload = slot->data[0];
  if (overload & DHCP_OVERLOAD_FILE)
    add_area(ps, pkt + offsetof(struct bootp_header, file),
             sizeof(((struct bootp_header *)0)->file), PXC_ERR_OVERLOAD);
  if (overload & DHCP_OVERLOAD_SNAME)
    add_area(ps, pkt + offsetof(struct bootp_header, sname),
             sizeof(((struct bootp_header *)0)->sname), PXC_ERR_OVERLOAD);
}

/*
 * Walk every option area of PKT (LEN bytes, at least the header and the
 * cookie).  The options field is the only one whose missing END counts.
 */
static void
walk_options(struct parse *ps, const uint8_t *pkt, size_t len)
{
  add_area(ps, pkt + DHCP_OPTIONS_OFF, len - DHCP_OPTIONS_OFF,
           PXC_ERR_OPT_OVERRUN);
  if (walk_area(ps, &ps->areas[0]) == TLV_NO_END)
    ps->req->errors |= PXC_ERR_NO_END;
  add_overload_areas(ps, pkt);
  for (unsigned i = 1; i < ps->area_count; i++)
    walk_area(ps, &ps->areas[i]);
}

/*
 * Concatenate every fragment of CODE (RFC 3396 §5: options, then file,
 * then sname) into OUT (ROOM bytes).  The areas were walked before, so
 * each walk stops where it stopped then.  Returns the joined length, or
 * -1 if it does not fit.  Only options that are split come here.
 */
static long
join_fragments(const struct parse *ps, uint8_t code, uint8_t *out,
               size_t room)
{
  size_t used = 0;

  for (unsigned i = 0; i < ps->area_count; i++) {
    struct reader r = reader_of(ps->areas[i].start, ps->areas[i].len);
    struct tlv item;
    while (tlv_next(&r, &item) == TLV_ITEM) {
      if (item.code != code)
        continue;
      if (item.len > room - used)
        return -1;
      memcpy(out + used, item.data, item.len);
      used += item.len;
    }
  }
  return (long)used;
}

/*
 * Read every noted option, in readers[] order.  A split option is joined
 * first: into the local buffer, or (60, 77) into the request's text
 * array.  If it is too long to join, PXC_ERR_SPLIT is raised and the first
 * fragment alone is read.
 */
static void
read_options(struct parse *ps)
{
  uint8_t join[JOIN_MAX];
  /* slots of readers, in readers[] order: lowest bit first */
  unsigned todo = ps->present & ((1u << SLOT_OVERLOAD) - 2);

  for (; todo; todo &= todo - 1) {
    unsigned s = (unsigned)__builtin_ctz(todo);
    const struct option_reader *reader = &readers[s - 1];
    const uint8_t *data = ps->slot[s].data;
    size_t len = ps->slot[s].len;
    if (ps->slot[s].fragments > 1) {
      uint8_t *out = join;
      size_t room = sizeof(join);
      long joined;
      if (reader->code == DHCP_VENDOR_CLASS)
        out = ps->req->vendor_class_text, room = PXC_TEXT_MAX;
      else if (reader->code == DHCP_USER_CLASS)
        out = ps->req->user_class_text, room = PXC_TEXT_MAX;
      joined = join_fragments(ps, reader->code, out, room);
      if (joined < 0) {
        ps->req->errors |= PXC_ERR_SPLIT;
        memset(out, 0, room); /* no half-joined bytes left in the request */
      } else {
        data = out;
        len = (size_t)joined;
      }
    }
    reader->read(ps, data, len);
  }
}

/* ------------------------------------------------------------------ */
/* The readers of single options                                       */

/*
 * Copy N bytes (at most 255) from SRC to DST: up to 32 as two fixed-size
 * copies that overlap as N needs (each a load and a store, never outside
 * either buffer), more by memcpy.  Option 60 and 77 are this short, and
 * a call to memcpy costs more than the copy.
 */
static inline void
copy_short(uint8_t *dst, const uint8_t *src, size_t n)
{
  if (n >= 16 && n <= 32) {
    memcpy(dst, src, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8 && n < 16) {
    memcpy(dst, src, 8);
    memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    memcpy(dst, src, 4);
    memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    memcpy(dst, src, n);
  }
}

/* Read the BOOTP header fields that lie inside the packet (LEN bytes):
   each group only if all of it is there. */
static void
read_header(struct pxc_request *req, const uint8_t *pkt, size_t len)
{
  if (len < offsetof(struct bootp_header, xid))
    return;
  req->op = pkt[offsetof(struct bootp_header, op)];
  req->htype = pkt[offsetof(struct bootp_header, htype)];
  req->hlen = pkt[offsetof(struct bootp_header, hlen)];
  if (req->hlen > sizeof(req->chaddr))
    req->errors |= PXC_ERR_HLEN;
  if (len < offsetof(struct bootp_header, secs))
    return;
  req->xid = be32_at(pkt + offsetof(struct bootp_header, xid));
  if (len < offsetof(struct bootp_header, sname))
    return;
  memcpy(req->chaddr, pkt + offsetof(struct bootp_header, chaddr),
         sizeof(req->chaddr));
}

/* Option 53: the DHCP message type, one byte. */
static inline void
read_msg_type(struct parse *ps, const uint8_t *data, size_t len)
{
  if (len != 1) {
    ps->req->errors |= PXC_ERR_MSG_TYPE;
    return;
  }
  ps->req->msg_type = data[0];
}

/* Option 54: the server whose offer a REQUEST takes (the tracker's "not
   our hand-out"), four bytes; any other length names no server. */
static inline void
read_server_id(struct parse *ps, const uint8_t *data, size_t len)
{
  if (len == 4)
    ps->req->server_id = be32_at(data);
}

/* Option 55: only whether it is GRUB's list, upstream's or with the
   distributions' 60 (the length first, so every other list costs one
   compare). */
static inline void
read_param_list(struct parse *ps, const uint8_t *data, size_t len)
{
  ps->grub_param_list = (len == GRUB_PARAM_LIST_UPSTREAM ||
                         len == sizeof(grub_param_list)) &&
                        memcmp(data, grub_param_list, len) == 0;
}

/* Option 250 of wdsnbp (wdsbp.h WDSBP_OPT_*): only that it came.  Its
   sub-option 1, the architecture wdsnbp detected, is WDS's own code
   (x64 under BIOS is 6: sherpya/ris-linux#2), not the registry's, so it
   is not read as option 93. */
static inline void
read_wds_nbp(struct parse *ps, const uint8_t *data, size_t len)
{
  (void)data;
  (void)len;
  ps->has_wds = true;
}

/* A byte in each of the eight lanes of a word. */
#define LANES(byte) (0x0101010101010101ULL * (byte))

/*
 * The value of the N (1..7) decimal digits in the low N bytes of DIGITS
 * (first digit lowest, the bytes above ignored), or -1 if one is not a
 * digit.  Word-at-a-time (SWAR): the digits go at the
 * top of a word of '0's, first digit lowest, so one check and one sum
 * serve any N.  Every byte is a digit if none of B - '0' and B + 0x46
 * sets its top bit: below '0' the first does, above '9' (to 0xb9) the
 * second, from 0xba the first again (a carry or borrow out of a lane
 * only comes from a lane that fails by itself).  The sum pairs lanes
 * thrice: 2, then 4, then 8 digits each (as simdjson's
 * parse_eight_digits_unrolled).
 */
static inline int32_t
decimal_of(uint64_t digits, unsigned n)
{
  uint64_t w = digits << (64 - 8 * n) | LANES('0') >> (8 * n);
  uint64_t d = w - LANES('0');

  if (((w + LANES(0x46)) | d) & LANES(0x80))
    return -1;
  w = d * 10 + (d >> 8);
  w = ((w & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)) +
       ((w >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))) >>
      32;
  return (int32_t)w;
}

/* The value of the N (1..7) decimal digits at P (N bytes in bounds), or
   -1 if one is not a digit. */
static inline int32_t
decimal_at(const uint8_t *p, unsigned n)
{
  return decimal_of(le_bytes_at(p, n), n);
}

/* Consume exactly DIGITS (1..7) decimal digits into VALUE. */
static inline bool
read_decimal(struct reader *r, unsigned digits, uint32_t *value)
{
  int32_t v;

  if (r->left < digits || (v = decimal_at(r->p, digits)) < 0)
    return false;
  read_bytes(r, NULL, digits);
  *value = (uint32_t)v;
  return true;
}

/* True if the N bytes at A and B are equal, 4 <= N <= 16: two fixed-size
   compares each (overlapping when N is not 8 or 16), which the compiler
   makes one load and compare each instead of a call to memcmp. */
static inline bool
same_bytes(const void *a, const void *b, size_t n)
{
  const uint8_t *x = a, *y = b;

  if (n >= 8)
    return memcmp(x, y, 8) == 0 && memcmp(x + n - 8, y + n - 8, 8) == 0;
  return memcmp(x, y, 4) == 0 && memcmp(x + n - 4, y + n - 4, 4) == 0;
}

/* Consume the literal TEXT (N bytes, 4..16) if it is next. */
static inline bool
read_literal(struct reader *r, const char *text, size_t n)
{
  if (r->left < n || !same_bytes(r->p, text, n))
    return false;
  read_bytes(r, NULL, n);
  return true;
}

/*
 * The ":Arch:NNNNN:UNDI:yyyzzz" tail of a PXEClient/HTTPClient vendor
 * class.  The digits are decimal (PXE 2.1; iPXE DHCP_VENDOR_PXECLIENT,
 * EDK2 PxeBcUintnToAscDecWithFormat).  Either part may be missing.  The
 * UNDI digits are read as one number of six.
 */
static void
read_vendor_arch(struct pxc_request *req, struct reader *r)
{
  uint32_t arch, undi;

  if (!read_literal(r, ":Arch:", 6) || !read_decimal(r, 5, &arch) ||
      arch > UINT16_MAX)
    return;
  req->has_arch60 = true;
  req->arch60 = (uint16_t)arch;
  if (read_literal(r, ":UNDI:", 6) && read_decimal(r, 6, &undi)) {
    req->has_undi60 = true;
    req->undi60_major = (uint16_t)(undi / 1000);
    req->undi60_minor = (uint16_t)(undi % 1000);
  }
}

/* The form of option 60 that iPXE and EDK2 send, the digits as '0'. */
static const uint8_t pxeclient_form[32] = "PXEClient:Arch:00000:UNDI:000000";

/*
 * Option 60 (DATA, 32 bytes) if it is exactly of pxeclient_form with
 * valid digits, as iPXE and EDK2 send it: note what read_vendor_class()
 * and read_vendor_arch() would, from four words loaded once, and return
 * true.  Otherwise store nothing and return false: the general reading
 * then decides (a wrong digit still leaves "PXEClient" and maybe :Arch:).
 */
static inline bool
read_pxeclient_form(struct parse *ps, const uint8_t *data)
{
  /* the bytes of each word that must be as in the form: all but the
     digits, bytes 15..19 (arch) and 26..31 (UNDI) */
  static const uint64_t fixed[4] = {~0ULL, 0x00ffffffffffffffULL,
                                    0xffffffff00000000ULL, 0xffffULL};
  struct pxc_request *req = ps->req;
  uint64_t w[4], differ = 0;
  int32_t arch, undi;

  for (unsigned i = 0; i < 4; i++) {
    w[i] = le64_at(data + 8 * i);
    differ |= (w[i] ^ le64_at(pxeclient_form + 8 * i)) & fixed[i];
  }
  if (differ)
    return false;
  arch = decimal_of(w[1] >> 56 | w[2] << 8, 5);
  undi = decimal_of(w[3] >> 16, 6);
  if (arch < 0 || arch > UINT16_MAX || undi < 0)
    return false;
  ps->vendor = PXC_CLASS_PXE;
  req->has_arch60 = true;
  req->arch60 = (uint16_t)arch;
  req->has_undi60 = true;
  /* unsigned, so that the divisions need no sign fix-up */
  req->undi60_major = (uint16_t)((uint32_t)undi / 1000);
  req->undi60_minor = (uint16_t)((uint32_t)undi % 1000);
  return true;
}

/* Option 60: keep a copy, and note the class its prefix announces.
   Inlined into the walk, where a call would save and restore the walk's
   registers. */
static inline __attribute__((always_inline)) void
read_vendor_class(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;

  if (data != req->vendor_class_text)
    copy_short(req->vendor_class_text, data, len);
  req->has_vendor_class = true;
  req->vendor_class_len = (uint8_t)len;
  if (len == sizeof(pxeclient_form) && read_pxeclient_form(ps, data))
    return;
  /* read from DATA, not from the copy just written: loads of a word
     from bytes just stored would stall */
  for (size_t i = 0; i < COUNT(vendor_prefixes); i++) {
    struct reader r = reader_of(data, len);
    if (len == 0 || data[0] != vendor_prefixes[i].prefix[0] ||
        !read_literal(&r, vendor_prefixes[i].prefix, vendor_prefixes[i].len))
      continue;
    if (vendor_prefixes[i].has_arch)
      read_vendor_arch(req, &r);
    ps->vendor = (enum pxc_class)vendor_prefixes[i].cls;
    ps->vendor_agent = (enum pxc_agent)vendor_prefixes[i].agent;
    return;
  }
}

/* The entry of vendor_prefixes[] whose prefix starts DATA (LEN bytes),
   or -1. */
static int
vendor_prefix_at(const uint8_t *data, size_t len)
{
  for (size_t i = 0; i < COUNT(vendor_prefixes); i++) {
    struct reader r = reader_of(data, len);
    if (len != 0 && data[0] == vendor_prefixes[i].prefix[0] &&
        read_literal(&r, vendor_prefixes[i].prefix, vendor_prefixes[i].len))
      return (int)i;
  }
  return -1;
}

enum pxc_class
vendor_string_class(const uint8_t *data, size_t len, enum pxc_agent *agent)
{
  int i = vendor_prefix_at(data, len);

  *agent = i < 0 ? PXC_AGENT_NONE : (enum pxc_agent)vendor_prefixes[i].agent;
  return i < 0 ? PXC_CLASS_NONE : (enum pxc_class)vendor_prefixes[i].cls;
}

void
read_vendor_string_arch(struct pxc_request *req, const uint8_t *data,
                        size_t len)
{
  int i = vendor_prefix_at(data, len);
  struct reader r = reader_of(data, len);

  if (i < 0 || !vendor_prefixes[i].has_arch)
    return;
  read_bytes(&r, NULL, vendor_prefixes[i].len);
  read_vendor_arch(req, &r);
}

/*
 * True if TEXT (LEN bytes) is RFC 3004 counted strings filling it exactly
 * (each count ≥ 1).  iPXE's raw "iPXE" is not: 'i' (105) exceeds the
 * length.  This is the test dnsmasq applies (rfc2131.c) so both agree.
 */
static bool
is_rfc3004(const uint8_t *text, size_t len)
{
  size_t i = 0;

  while (i < len) {
    size_t n = text[i];
    if (n == 0 || n > len - i - 1)
      return false;
    i += 1 + n;
  }
  return true;
}

/* Option 77, as RFC 3004 counted strings or as iPXE's single raw string;
   kept as sent, the strings as offsets into the copy.  Inlined into
   the walk, where a call would save and restore the walk's registers. */
static inline __attribute__((always_inline)) void
read_user_class(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  size_t i = 0;

  if (len == 0) {
    req->errors |= PXC_ERR_USER_CLASS;
    return;
  }
  if (data != req->user_class_text)
    copy_short(req->user_class_text, data, len);
  req->user_class_len = (uint8_t)len;
  if (!is_rfc3004(req->user_class_text, len)) {
    req->user_class_at[0].off = 0;
    req->user_class_at[0].len = (uint8_t)len;
    req->user_class_count = 1;
    return;
  }
  req->user_class_rfc3004 = true;
  while (i < len) {
    uint8_t n = req->user_class_text[i];
    if (req->user_class_count == PXC_MAX_USER_CLASS) {
      req->warnings |= PXC_WARN_USER_CLASS_MANY;
      break;
    }
    req->user_class_at[req->user_class_count].off = (uint8_t)(i + 1);
    req->user_class_at[req->user_class_count].len = n;
    req->user_class_count++;
    i += 1 + (size_t)n;
  }
}

/* Every 16-bit value of an architecture list (RFC 4578 §2.1, RFC 5970
   §3.3), after the HAVE that REQ holds already (DHCPv6 may repeat 61). */
static inline void
arch_values_after(struct pxc_request *req, size_t have, const uint8_t *data,
                  size_t len)
{
  size_t room = PXC_MAX_ARCH - have;
  size_t n = len / 2 < room ? len / 2 : room;

  if (len == 0 || len % 2 != 0)
    req->errors |= PXC_ERR_ARCH;
  if (len / 2 > room)
    req->warnings |= PXC_WARN_ARCH_MANY;
  for (size_t i = 0; i < n; i++) /* 2 * n <= len */
    req->arch_list[have + i] = be16_at(data + 2 * i);
  req->arch_count = (uint8_t)(have + n);
  if (have == 0 && n > 0)
    req->arch93_raw = req->arch_list[0];
}

/* Option 93: every 16-bit value of the list. */
static inline void
read_client_arch(struct parse *ps, const uint8_t *data, size_t len)
{
  arch_values_after(ps->req, 0, data, len);
}

/* Type 1 (UNDI), major, minor (RFC 4578 §2.2, RFC 5970 §3.4). */
static inline void
ndi_value(struct pxc_request *req, const uint8_t *data, size_t len)
{
  if (len != 3 || data[0] != 1) {
    req->errors |= PXC_ERR_UNDI;
    return;
  }
  req->has_undi = true;
  req->undi_major = data[1];
  req->undi_minor = data[2];
}

/* Option 94. */
static inline void
read_client_ndi(struct parse *ps, const uint8_t *data, size_t len)
{
  ndi_value(ps->req, data, len);
}

/*
 * Option 97: type 0 and a 16-byte GUID whose first three fields are
 * little-endian on the wire (RFC 4578 §2.3, SMBIOS ≥ 2.6, iPXE
 * uuid_mangle).  Stored in canonical RFC 4122 order.  Its head is kept
 * for the Raspberry Pi test, whatever its length.
 */
static inline void
read_client_uuid(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  uint8_t *u = req->uuid;

  /* pxc_is_raspberry_pi() reads the head only if it is all there */
  ps->uuid97_len = len >= sizeof(ps->uuid97) ? sizeof(ps->uuid97) : 0;
  if (ps->uuid97_len)
    memcpy(ps->uuid97, data, sizeof(ps->uuid97));
  if (len != 17 || data[0] != 0) {
    req->errors |= PXC_ERR_UUID;
    return;
  }
  data++;
  store_be32(u, le32_at(data));
  store_be16(u + 4, le16_at(data + 4));
  store_be16(u + 6, le16_at(data + 6));
  memcpy(u + 8, data + 8, 8);
  req->has_uuid = true;
}

/* Fill the bus id from 5 bytes: type, vendor and device, big-endian. */
static void
read_busid(struct pxc_ipxe *ipxe, const uint8_t *data)
{
  ipxe->bus_type = data[0];
  ipxe->bus_vendor = be16_at(data + 1);
  ipxe->bus_device = be16_at(data + 3);
  ipxe->has_busid = true;
}

/* Sub-option 235 of 175: the iPXE version, major, minor, patch. */
static inline void
read_ipxe_version(struct pxc_request *req, const struct tlv *sub)
{
  if (sub->len != 3) {
    req->errors |= PXC_ERR_ENCAP_VALUE;
    return;
  }
  memcpy(req->ipxe.version, sub->data, 3);
  req->ipxe.has_version = true;
}

/* Sub-option 177 of 175: the bus id. */
static inline void
read_ipxe_busid(struct pxc_request *req, const struct tlv *sub)
{
  if (sub->len != 5) {
    req->errors |= PXC_ERR_ENCAP_VALUE;
    return;
  }
  read_busid(&req->ipxe, sub->data);
}

/* The sub-option codes of one option 175, gathered in registers as the
   walk meets them: bit N % 64 of seen[N / 64] for every code N, of
   flags[N / 64] for a one-byte one below 128 (every feature flag). */
struct ipxe_codes {
  uint64_t seen[4];
  uint64_t flags[2];
};

/* Note a sub-option of CODE (below 128) in CODES, as a flag if ONE_BYTE.
   (Constant indices only, so that CODES stays in registers.) */
static inline void
note_low(struct ipxe_codes *codes, unsigned code, bool one_byte)
{
  uint64_t bit = 1ull << (code & 63);
  uint64_t flag = one_byte ? bit : 0;

  if (code < 64) {
    codes->seen[0] |= bit;
    codes->flags[0] |= flag;
  } else {
    codes->seen[1] |= bit;
    codes->flags[1] |= flag;
  }
}

/*
 * Take the run of one-byte sub-options of codes 1..63 at C (how iPXE
 * sends its feature flags: code, 1, value) into CODES, three bytes each,
 * each checked to lie before the end.  Stops at anything else, which
 * tlv_step() reads.  The run's codes are gathered in one word, then
 * noted as seen and as flags.
 */
static inline void
take_flag_run(struct tlv_cursor *c, struct ipxe_codes *codes)
{
  const uint8_t *p = c->p, *last;
  uint64_t run = 0;

  if (c->end - p < 3)
    return;
  last = c->end - 3; /* the last place a whole 3-byte item can start */
  while (p <= last) {
    uint16_t item = le16_at(p); /* the code, the length as high byte */
    if ((uint16_t)(item - 0x0101) >= 63) /* not 0x0101..0x013f: length 1
                                            with a code 1..63 */
      break;
    run |= 1ull << (item & 63);
    p += 3;
  }
  codes->seen[0] |= run;
  codes->flags[0] |= run;
  c->p = p;
}

/* Note sub-option SUB of 175 in CODES, reading the version or the bus
   id (the first of each: a repeat is ignored).  (Constant indices only,
   so that CODES stays in registers; inline for the same reason.) */
static inline void
note_ipxe_sub(struct ipxe_codes *codes, struct pxc_request *req,
              const struct tlv *sub)
{
  uint64_t bit = 1ull << (sub->code & 63);

  if (sub->code < 128) { /* PXC_FEATURE_LAST is 127 */
    note_low(codes, sub->code, sub->len == 1);
  } else if (sub->code == DHCP_EB_VERSION) { /* 235: in seen[3] */
    if (!(codes->seen[3] & bit))
      read_ipxe_version(req, sub);
    codes->seen[3] |= bit;
  } else if (sub->code == DHCP_EB_BUS_ID) { /* 177: in seen[2] */
    if (!(codes->seen[2] & bit))
      read_ipxe_busid(req, sub);
    codes->seen[2] |= bit;
  } else if (sub->code < 192) {
    codes->seen[2] |= bit;
  } else {
    codes->seen[3] |= bit;
  }
}

/*
 * Option 175: iPXE's encapsulated options, parsed as TLV (no order and
 * no END assumed, END honoured), never scanned.  Every code is noted;
 * a one-byte sub-option PXC_FEATURE_FIRST..PXC_FEATURE_LAST is a feature
 * flag; 235 and 177 are the version and the bus id.  After a one-byte
 * sub-option, the run of them that follows takes a shorter step
 * (take_flag_run()); the codes are gathered in words, written once at
 * the end.  Inlined into the walk, as 60's and 77's readers are.
 */
static inline __attribute__((always_inline)) void
read_ipxe(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct tlv_cursor c = tlv_cursor_of(data, len);
  struct ipxe_codes codes = {{0, 0, 0, 0}, {0, 0}};
  struct tlv sub;
  enum tlv_step step;

  req->ipxe.present = true;
  while ((step = tlv_step(&c, &sub)) == TLV_ITEM) {
    note_ipxe_sub(&codes, req, &sub);
    if (sub.len == 1) /* a flag: more may follow */
      take_flag_run(&c, &codes);
  }
  if (step == TLV_OVERRUN)
    req->errors |= PXC_ERR_ENCAP;
  /* the bitmaps are zero until now, and 175 is read once */
  store_le64(req->ipxe.subopts, codes.seen[0]);
  store_le64(req->ipxe.subopts + 8, codes.seen[1]);
  store_le64(req->ipxe.subopts + 16, codes.seen[2]);
  store_le64(req->ipxe.subopts + 24, codes.seen[3]);
  store_le64(req->ipxe.features,
             codes.flags[0] & ~((1ull << PXC_FEATURE_FIRST) - 1));
  store_le64(req->ipxe.features + 8, codes.flags[1]);
}

/* Option 150: Etherboot 5.x's encapsulated options; its sub-option 175 is
   the NIC's bus id (as iPXE's 177, big-endian), unless 175 gave one. */
static void
read_etherboot(struct parse *ps, const uint8_t *data, size_t len)
{
  struct reader r = reader_of(data, len);
  struct tlv sub;
  enum tlv_step step;

  while ((step = tlv_next(&r, &sub)) == TLV_ITEM)
    if (sub.code == DHCP_EB5_NIC_ID && sub.len == 5 &&
        !ps->req->ipxe.has_busid)
      read_busid(&ps->req->ipxe, sub.data);
  if (step == TLV_OVERRUN)
    ps->req->errors |= PXC_ERR_ENCAP;
}

/*
 * The BSDP sub-options a client sends (Apple's bootp, bootplib/bsdp.h
 * bsdptag_type(); BSDPClient/BSDPClient.c BSDPClientSendListRequest()
 * and BSDPClientSendSelectRequest()), by code: the exact length of its
 * type, its PXC_BSDP_HAS_* bit and where its value goes.  Codes without
 * a bit (4, 7, 9: the server's; 11, the filter list) are skipped.
 */
static const struct {
  uint8_t len; /* 0: a flag, no value (10) */
  uint8_t bit;
  uint8_t off; /* offsetof(struct pxc_bsdp, field) */
} bsdp_fields[] = {
    [BSDP_MSG_TYPE] = {1, PXC_BSDP_HAS_MSG_TYPE,
                       offsetof(struct pxc_bsdp, msg_type)},
    [BSDP_VERSION] = {2, PXC_BSDP_HAS_VERSION,
                      offsetof(struct pxc_bsdp, version)},
    [BSDP_SERVER_ID] = {4, PXC_BSDP_HAS_SERVER_ID,
                        offsetof(struct pxc_bsdp, server_id)},
    [BSDP_REPLY_PORT] = {2, PXC_BSDP_HAS_REPLY_PORT,
                         offsetof(struct pxc_bsdp, reply_port)},
    [BSDP_SELECTED_IMAGE] = {4, PXC_BSDP_HAS_IMAGE_ID,
                             offsetof(struct pxc_bsdp, image_id)},
    [BSDP_FIRMWARE_1_0] = {0, PXC_BSDP_HAS_FIRMWARE_1_0, 0},
    [BSDP_MAX_MESSAGE_SIZE] = {2, PXC_BSDP_HAS_MAX_SIZE,
                               offsetof(struct pxc_bsdp, max_message_size)},
};

/* The big-endian value of LEN (0, 1, 2 or 4) bytes at DATA into the
   field of BSDP at OFF, which is that wide. */
static void
bsdp_value(struct pxc_bsdp *bsdp, size_t off, const uint8_t *data, size_t len)
{
  struct reader r = reader_of(data, len);
  uint8_t *field = (uint8_t *)bsdp + off;
  uint16_t v16;
  uint32_t v32;

  if (len == 1) {
    read_u8(&r, field);
  } else if (len == 2 && read_be16(&r, &v16)) {
    memcpy(field, &v16, sizeof(v16));
  } else if (len == 4 && read_be32(&r, &v32)) {
    memcpy(field, &v32, sizeof(v32));
  }
}

/*
 * Option 43 of an AAPLBSDPC client: its BSDP sub-options into REQ->bsdp
 * (written whole here, so no other request pays for clearing it), the
 * first of each code.  A known one of the wrong length, or one running
 * past the option, raises PXC_ERR_BSDP and is not read.  Out of line:
 * only Apple's requests come here.
 */
static __attribute__((noinline, cold)) void
read_bsdp(struct pxc_request *req, const uint8_t *data, size_t len)
{
  struct reader r = reader_of(data, len);
  struct pxc_bsdp *bsdp = &req->bsdp;
  struct tlv sub;
  enum tlv_step step;

  memset(bsdp, 0, sizeof(*bsdp));
  req->has_bsdp = true;
  while ((step = tlv_next(&r, &sub)) == TLV_ITEM) {
    if (sub.code >= COUNT(bsdp_fields) || !bsdp_fields[sub.code].bit ||
        (bsdp->present & bsdp_fields[sub.code].bit))
      continue;
    if (sub.len != bsdp_fields[sub.code].len) {
      req->errors |= PXC_ERR_BSDP;
      continue;
    }
    bsdp_value(bsdp, bsdp_fields[sub.code].off, sub.data, sub.len);
    bsdp->present |= bsdp_fields[sub.code].bit;
  }
  if (step == TLV_OVERRUN)
    req->errors |= PXC_ERR_BSDP;
}

/* Option 43: PXE's own sub-options for a PXE client (PXE 2.1; only a
   client whose vendor class says PXEClient speaks them): the boot item
   (type, layer; 4 bytes), the first one only; BSDP's for an AAPLBSDPC
   client (read_bsdp()); nothing for anyone else. */
static void
read_pxe_options(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(data, len);
  struct tlv sub;

  if (ps->vendor != PXC_CLASS_PXE) {
    if (ps->vendor == PXC_CLASS_BSDP)
      read_bsdp(req, data, len);
    return;
  }
  while (!req->has_boot_item && tlv_next(&r, &sub) == TLV_ITEM) {
    struct reader v = reader_of(sub.data, sub.len);
    if (sub.code != PXE_BOOT_ITEM || sub.len != 4)
      continue;
    read_be16(&v, &req->boot_item_type);
    read_be16(&v, &req->boot_item_layer);
    req->has_boot_item = true;
  }
}

/* ------------------------------------------------------------------ */
/* Decisions on the whole request                                      */

/*
 * Nokia SR OS ZTP's user class is "<platform>;<TiMOS release>;ztp" (7750
 * SR Basic System Configuration Guide, "Supported DHCP client options
 * for ZTP": option 77 and DHCPv6 15 "platform;timos-release;ztp"), three
 * fields, none empty.  Given one ending in ";ztp", with HEAD (LEN bytes)
 * what comes before that: true if HEAD is two non-empty fields.  Out of
 * line and cold: the boot programs' user classes never end so.
 */
static __attribute__((noinline, cold)) bool
nokia_ztp_head(const uint8_t *head, size_t len)
{
  const uint8_t *semi = memchr(head, ';', len);

  return semi && semi > head && semi + 1 < head + len &&
         !memchr(semi + 1, ';', (size_t)(head + len - (semi + 1)));
}

/* What the user classes say: gPXE if one of them is exactly "gPXE",
   else iPXE if one is "iPXE", else FreeBSD's loader if one is "FreeBSD"
   (stand/libsa/bootp.c bootp_fill_request(): RFC 3004 "FreeBSD" after a
   bare "PXEClient"), else Nokia's ZTP agent for "<platform>;<release>;
   ztp" (nokia_ztp_head()); none otherwise.  One pass; the agent, if one
   is named, goes to AGENT. */
static inline __attribute__((always_inline)) enum pxc_class
user_class_program(const struct pxc_request *req, enum pxc_agent *agent)
{
  bool gpxe = false, ipxe = false, freebsd = false, ztp = false;

  for (unsigned i = 0; i < req->user_class_count; i++) {
    const uint8_t *text = req->user_class_text + req->user_class_at[i].off;
    size_t len = req->user_class_at[i].len;
    if (len == 4) {
      gpxe |= memcmp(text, "gPXE", 4) == 0;
      ipxe |= memcmp(text, "iPXE", 4) == 0;
    } else if (len == 7) {
      freebsd |= memcmp(text, "FreeBSD", 7) == 0;
    } else if (len > 7 && memcmp(text + len - 4, ";ztp", 4) == 0) {
      ztp |= nokia_ztp_head(text, len - 4);
    }
  }
  if (gpxe || ipxe)
    return gpxe ? PXC_CLASS_GPXE : PXC_CLASS_IPXE;
  if (freebsd || ztp) {
    *agent = freebsd ? PXC_AGENT_FREEBSD : PXC_AGENT_NOKIA_ZTP;
    return freebsd ? PXC_CLASS_LOADER : PXC_CLASS_AGENT;
  }
  return PXC_CLASS_NONE;
}

/* Families of the primary architecture, 0 if none or unassigned. */
static inline __attribute__((always_inline)) uint32_t
primary_families(const struct pxc_request *req)
{
  const struct pxc_arch_info *info;

  if (req->arch_source == PXC_ARCH_NONE)
    return 0;
  info = pxc_arch_by_code(req->arch);
  return info ? info->families : 0;
}

/* What U-Boot's pre-IANA 0x100 means, read from the vendor class when it
   tells the ARM generation ("U-Boot.armv8" is 22, "…armv7" 21), else
   0x100 kept (the bitness is not said). */
static uint16_t
uboot_arch_256(const struct pxc_request *req)
{
  struct pxc_bytes vc = pxc_vendor_class(req);

  for (size_t i = 0; i + 5 <= vc.len; i++)
    if (memcmp(vc.data + i, "armv8", 5) == 0)
      return 22;
    else if (memcmp(vc.data + i, "armv7", 5) == 0)
      return 21;
  return UBOOT_ARCH_ARM;
}

/*
 * Quirks of one architecture value CODE as the firmware that sent it
 * means it, VENDOR being what option 60 announced: U-Boot's 0x100;
 * U-Boot's UEFI layer, whose table (lib/efi_loader/efi_helper.c
 * HOST_PXE_ARCH) gives x86-64 6 and ia32 7, the reverse of IANA; and
 * HTTP Boot firmware that names its PXE code (ARM64 sending 11 for 19).
 * Raises the quirk's warning; returns the value read.
 */
static inline __attribute__((always_inline)) uint16_t
arch_as_meant(struct pxc_request *req, enum pxc_class vendor, uint16_t code)
{
  uint16_t http;

  if (code == UBOOT_ARCH_ARM) {
    req->warnings |= PXC_WARN_UBOOT_ARCH_256;
    return uboot_arch_256(req);
  }
  if (vendor == PXC_CLASS_UBOOT && (code == 6 || code == 7)) {
    req->warnings |= PXC_WARN_UBOOT_EFI_SWAP;
    return code == 6 ? 7 : 6;
  }
  if (vendor == PXC_CLASS_HTTP_BOOT && (http = pxc_arch_http_sibling(code))) {
    req->warnings |= PXC_WARN_HTTP_ARCH_AS_PXE;
    return http;
  }
  return code;
}

/*
 * Settle the architecture: the values of option 93, or else the Arch
 * digits of option 60; the 7/9 quirk (RFC
 * 4578 erratum 4624: firmware in the field sends 9 for x64), then each
 * value as its firmware means it (arch_as_meant()); and the consistency
 * warnings.
 */
static inline __attribute__((always_inline)) void
resolve_arch(struct pxc_request *req, enum pxc_class vendor,
             const struct pxc_config *cfg)
{
  bool arch9_is_ebc = cfg && pxc_config_arch9_is_ebc(cfg);

  if (req->arch_count > 0) {
    req->arch_source = PXC_ARCH_OPT93;
    if (req->has_arch60 && req->arch60 != req->arch93_raw)
      req->warnings |= PXC_WARN_ARCH_MISMATCH;
  } else if (req->has_arch60) {
    req->arch_source = PXC_ARCH_OPT60;
    req->arch_list[0] = req->arch60;
    req->arch_count = 1;
    req->warnings |= PXC_WARN_ARCH_FROM_60;
  } else {
    return;
  }

  for (unsigned i = 0; i < req->arch_count; i++) {
    if (req->arch_list[i] == 9 && !arch9_is_ebc) {
      req->arch_list[i] = 7;
      req->warnings |= PXC_WARN_ARCH9_AS_X64;
    }
    if (req->arch_list[i] >= 6) /* no quirk reads a value below 6 */
      req->arch_list[i] = arch_as_meant(req, vendor, req->arch_list[i]);
    if (req->arch_list[i] >= PXC_ARCH_CODES && /* pxc_arch_by_code(): NULL */
        req->arch_list[i] != UBOOT_ARCH_ARM)
      req->warnings |= PXC_WARN_ARCH_UNKNOWN;
  }
  req->arch = req->arch_list[0];
}

/* The consistency check between option 94 and the UNDI digits of 60. */
static inline __attribute__((always_inline)) void
check_undi(struct pxc_request *req)
{
  if (req->has_undi && req->has_undi60 &&
      (req->undi_major != req->undi60_major ||
       req->undi_minor != req->undi60_minor))
    req->warnings |= PXC_WARN_UNDI_MISMATCH;
}

/* ARP hardware type of InfiniBand (RFC 4390). */
#define HTYPE_INFINIBAND 32

/*
 * What an iPXE-style request (option 175) without an iPXE or gPXE user
 * class is: FlexBoot, Mellanox/NVIDIA's modified iPXE in the NIC's ROM,
 * if it sends a version but no user class at all (upstream iPXE always
 * sends one: "iPXE", or the site's `user-class` setting; warewulf3#104)
 * or runs on InfiniBand (hardware type 32); else gPXE 0.9.3–0.9.6, which
 * sent 175 without a version (235 arrived with gPXE 0.9.7), or else iPXE.
 */
static enum pxc_class
encap_class(const struct pxc_request *req)
{
  if (req->htype == HTYPE_INFINIBAND ||
      (req->ipxe.has_version && req->user_class_len == 0))
    return PXC_CLASS_FLEXBOOT;
  return req->ipxe.has_version || (req->errors & PXC_ERR_ENCAP)
             ? PXC_CLASS_IPXE
             : PXC_CLASS_GPXE;
}

/*
 * The firmware class, by precedence, and the agent.  Marks of a network
 * bootloader (Etherboot's vendor class, gPXE/iPXE/FreeBSD user class,
 * option 175, wdsnbp's option 250) outrank the vendor class a PXE stack
 * would send, because those loaders send "PXEClient" too.  What GRUB
 * sends (no 60, 77 or 93) is told apart later, in grub_class().
 */
static enum pxc_class
decide_class(struct pxc_request *req, const struct parse *ps)
{
  enum pxc_agent agent = PXC_AGENT_NONE;
  enum pxc_class vendor = ps->vendor;
  enum pxc_class by_user_class = user_class_program(req, &agent);

  if (vendor == PXC_CLASS_ETHERBOOT)
    return PXC_CLASS_ETHERBOOT;
  if (by_user_class != PXC_CLASS_NONE) {
    req->agent = (uint8_t)agent;
    return by_user_class;
  }
  if (req->ipxe.present)
    return encap_class(req);
  if (ps->has_wds && vendor == PXC_CLASS_PXE)
    return PXC_CLASS_WDS;
  if ((primary_families(req) & PXC_FAM_UBOOT) ||
      req->arch93_raw == UBOOT_ARCH_ARM)
    return PXC_CLASS_UBOOT;
  if (vendor == PXC_CLASS_NONE && req->arch_source == PXC_ARCH_OPT93 &&
      req->has_undi)
    return PXC_CLASS_PXE; /* options 93 and 94 are PXE's (RFC 4578); the
                             Raspberry Pi's REQUEST drops option 60 */
  req->agent = (uint8_t)ps->vendor_agent;
  return vendor;
}

/* The UDP payload length GRUB sends: the BOOTP header and 64 bytes of
   options (grub-core/net/bootp.c, GRUB_BOOTP_MAX_OPTIONS_SIZE; before
   2.04 the 64-byte vendor area, zeroed, of grub_cmd_bootp()). */
#define GRUB_PACKET_LEN (BOOTP_HEADER_LEN + 64)

/* True if PKT's secs field is the low half of its xid: GRUB fills both
   from one reading of the clock (pack->ident = t, pack->seconds = t). */
static bool
secs_is_low_xid(const uint8_t *pkt)
{
  uint32_t xid = be32_at(pkt + offsetof(struct bootp_header, xid));

  return xid != 0 &&
         be16_at(pkt + offsetof(struct bootp_header, secs)) == (xid & 0xffff);
}

/*
 * GRUB, for a request nothing else claimed (PKT, LEN bytes): its
 * DHCPREQUEST by its parameter request list; its DISCOVER, which carries
 * option 53 alone, by that and its clock in secs and xid; GRUB 2.02 and
 * older by a 300-byte BOOTP request with a zeroed vendor area (no cookie)
 * and the same clock.  grub-core/net/bootp.c send_dhcp_packet() and,
 * before 2.04, grub_cmd_bootp().
 */
static enum pxc_class
grub_class(struct pxc_request *req, const struct parse *ps,
           const uint8_t *pkt, size_t len)
{
  static const uint8_t discover_options[4] = {DHCP_MSG_TYPE, 1, DHCP_DISCOVER,
                                              DHCP_END};
  static const uint8_t zero_vendor[64];

  if (req->msg_type == DHCP_REQUEST && ps->grub_param_list)
    return PXC_CLASS_GRUB;
  if (len != GRUB_PACKET_LEN || req->op != BOOTP_REQUEST ||
      !secs_is_low_xid(pkt))
    return PXC_CLASS_NONE;
  if (req->msg_type == DHCP_DISCOVER &&
      memcmp(pkt + DHCP_OPTIONS_OFF, discover_options, 4) == 0)
    return PXC_CLASS_GRUB;
  if ((req->errors & PXC_ERR_COOKIE) &&
      memcmp(pkt + BOOTP_HEADER_LEN, zero_vendor, 64) == 0) {
    req->agent = PXC_AGENT_GRUB_BOOTP;
    return PXC_CLASS_GRUB;
  }
  return PXC_CLASS_NONE;
}

/*
 * A Raspberry Pi bootloader claims x86 BIOS (93 = 0).  Say so, and add
 * arch 41 (arm rpiboot) to the list so dhcp-pxe-arch=…,rpi can find it;
 * the first value stays what the client sent.
 */
static void
check_raspberry_pi(struct pxc_request *req, const struct parse *ps)
{
  if (req->fw_class != PXC_CLASS_PXE || req->arch_count == 0 || req->arch != 0)
    return;
  if (!pxc_is_raspberry_pi(req->chaddr, req->hlen, ps->uuid97,
                           ps->uuid97_len))
    return;
  req->warnings |= PXC_WARN_RPI_AS_BIOS;
  if (req->arch_count < PXC_MAX_ARCH)
    req->arch_list[req->arch_count++] = 41;
}

/* The classes whose protocol names an architecture (PXE, RFC 4578): one
   of them that names none raises PXC_WARN_NO_ARCH. */
#define ARCH_NAMING_CLASSES                                                    \
  (1u << PXC_CLASS_PXE | 1u << PXC_CLASS_HTTP_BOOT | 1u << PXC_CLASS_IPXE |    \
   1u << PXC_CLASS_GPXE | 1u << PXC_CLASS_FLEXBOOT)

/* Warnings that depend on the class. */
static inline __attribute__((always_inline)) void
check_class(struct pxc_request *req)
{
  if ((ARCH_NAMING_CLASSES >> req->fw_class & 1) &&
      req->arch_source == PXC_ARCH_NONE)
    req->warnings |= PXC_WARN_NO_ARCH;
}

/* The 8 bytes at P as a word (in memory order: only hashed). */
static inline uint64_t
word_at(const void *p)
{
  uint64_t w;

  memcpy(&w, p, sizeof(w));
  return w;
}

/* The fingerprint's scalars in two words: class and UNDI (94) sharing
   a byte, how many architectures, the bus vendor and device of 175; and
   the first seven bytes of struct pxc_ipxe (present .. bus_type, single
   bytes with no padding among them) read as they lie. */
static inline __attribute__((always_inline)) void
fingerprint_scalars(const struct pxc_request *req, uint64_t w[2])
{
  const struct pxc_ipxe *ipxe = &req->ipxe;
  uint32_t bus = ipxe->bus_vendor | (uint32_t)ipxe->bus_device << 16;

  _Static_assert(PXC_CLASS_COUNT <= 16, "a class fits in four bits");
  _Static_assert(offsetof(struct pxc_ipxe, bus_type) == 6 &&
                     sizeof(bool) == 1,
                 "struct pxc_ipxe starts with seven single bytes");
  w[0] = ((uint64_t)req->fw_class | (uint64_t)req->has_undi << 4) |
         (uint64_t)req->undi_major << 8 | (uint64_t)req->undi_minor << 16 |
         (uint64_t)req->arch_count << 24 | (uint64_t)bus << 32;
  w[1] = le_bytes_at((const uint8_t *)ipxe, 7);
}

/* Mix user class I into H: its length and first 7 bytes as one word,
   then 8 bytes a word.  (The lengths say where each string ends, so the
   words tell the sequence of strings apart, as count-prefixed strings
   would.) */
static inline uint64_t
hash_user_class(uint64_t h, const struct pxc_request *req, unsigned i)
{
  const uint8_t *text = req->user_class_text + req->user_class_at[i].off;
  size_t len = req->user_class_at[i].len, at = len < 7 ? len : 7;

  h = pxc_hash_word(h, len | le_bytes_at(text, at) << 8);
  for (; at < len; at += 8)
    h = pxc_hash_word(h, le_bytes_at(text + at, len - at < 8 ? len - at : 8));
  return h;
}

/* Mix the 175 bitmaps into H: the sub-options seen, the feature flags.
   Only for a request with 175: without, they are all zero, and the key
   says so already (ipxe.present), so leaving them out tells no two
   requests less apart. */
static inline uint64_t
fingerprint_ipxe(uint64_t h, const struct pxc_ipxe *ipxe)
{
  _Static_assert(sizeof(ipxe->subopts) == 32, "four words of sub-options");
  /* word by word, not a loop: the compiler keeps a loop of four */
  h = pxc_hash_word(h, word_at(ipxe->subopts));
  h = pxc_hash_word(h, word_at(ipxe->subopts + 8));
  h = pxc_hash_word(h, word_at(ipxe->subopts + 16));
  h = pxc_hash_word(h, word_at(ipxe->subopts + 24));
  h = pxc_hash_word(h, word_at(ipxe->features));
  return pxc_hash_word(h, word_at(ipxe->features + 8));
}

/*
 * A hash of what identifies a boot program, not a transaction: class,
 * user classes, architectures, UNDI version and the whole of 175 as
 * parsed (so the order of sub-options does not matter).  Option 60 is
 * left out: iPXE shortens it to "PXEClient" in some requests of one
 * stage.  Stable within one build on one machine.  The key is words
 * hashed as they are: the scalars, the architecture list (zero past
 * arch_count; its second word only if used), the 175 bitmaps (only if 175
 * came), the user classes; then the final mix (pxc_hash_final()).
 */
static inline __attribute__((always_inline)) uint64_t
fingerprint(const struct pxc_request *req)
{
  _Static_assert(sizeof(req->arch_list) == 16, "two words of architectures");
  uint64_t scalars[2], h = PXC_HASH_SEED;

  fingerprint_scalars(req, scalars);
  h = pxc_hash_word(h, scalars[0]);
  h = pxc_hash_word(h, scalars[1]);
  h = pxc_hash_word(h, word_at(req->arch_list));
  if (req->arch_count > 4) /* arch_count is in scalars[0] */
    h = pxc_hash_word(h, word_at(req->arch_list + 4));
  if (req->ipxe.present) /* ipxe.present is in scalars[1] */
    h = fingerprint_ipxe(h, &req->ipxe);
  for (unsigned i = 0; i < req->user_class_count; i++)
    h = hash_user_class(h, req, i);
  return pxc_hash_final(h);
}

/*
 * The fast path's step for ITEM, an option of slot S: note it in PRESENT
 * and read it now by a direct call (a switch over OPTION_READERS, so the
 * compiler can inline each reader into the walk, and each case tests
 * and sets its own constant bit), or keep a late one for after the walk.
 * False if the option came before (a split option) or is 52: the
 * general path handles those.
 */
static inline bool
read_option_fast(struct parse *ps, unsigned *present, unsigned s,
                 const struct tlv *item)
{
#define READ_CASE_(code, read, late)                                           \
  case SLOT_##read:                                                            \
    if (*present & (1u << SLOT_##read))                                        \
      return false;                                                            \
    *present |= 1u << SLOT_##read;                                             \
    if (late) {                                                                \
      ps->slot[SLOT_##read].data = item->data;                                 \
      ps->slot[SLOT_##read].len = item->len;                                   \
    } else {                                                                   \
      read(ps, item->data, item->len);                                         \
    }                                                                          \
    return true;
  switch (s) {
    OPTION_READERS(READ_CASE_)
  case SLOT_OVERLOAD:
    return false;
  default: /* S is a slot of option_slot[], not SLOT_NONE (skipped) */
    __builtin_unreachable();
  }
#undef READ_CASE_
}

/*
 * The fast path, for a packet whose options are neither split nor
 * overloaded (every request of the captures): one walk of the options
 * field that reads each option as it comes, the late ones (see
 * OPTION_READERS) after the walk.  Gives up, having read part, as soon
 * as an option it reads comes again or option 52 shows up: returns false
 * and the caller starts over on the general path.
 */
static bool
read_options_fast(struct parse *ps, const uint8_t *pkt, size_t len)
{
  struct tlv_cursor c =
      tlv_cursor_of(pkt + DHCP_OPTIONS_OFF, len - DHCP_OPTIONS_OFF);
  unsigned present = 0, late;
  struct tlv item;
  enum tlv_step step;

  while ((step = tlv_step(&c, &item)) == TLV_ITEM) {
    unsigned s = option_slot[item.code];
    if (s != SLOT_NONE && !read_option_fast(ps, &present, s, &item))
      return false;
  }
  if (step == TLV_OVERRUN)
    ps->req->errors |= PXC_ERR_OPT_OVERRUN;
  else if (step == TLV_NO_END)
    ps->req->errors |= PXC_ERR_NO_END;
  for (late = present & late_slots; late; late &= late - 1) {
    unsigned s = (unsigned)__builtin_ctz(late);
    readers[s - 1].read(ps, ps->slot[s].data, ps->slot[s].len);
  }
  return true;
}

/* Start PS and REQ afresh for PKT (LEN bytes): the header fields. */
static void
start_request(struct parse *ps, struct pxc_request *req, const uint8_t *pkt,
              size_t len)
{
  /* the text arrays are read only up to their lengths */
  zero_bytes(req, offsetof(struct pxc_request, vendor_class_text));
  memset(&req->ip_family, 0, PXC_REQUEST_V6_FIELDS);
  ps->req = req;
  ps->area_count = 0;
  ps->present = 0;
  ps->vendor = PXC_CLASS_NONE;
  ps->vendor_agent = PXC_AGENT_NONE;
  ps->grub_param_list = false;
  ps->has_wds = false;
  ps->uuid97_len = 0;
  read_header(req, pkt, len);
}

/* Read the options of PKT (header and cookie checked) into PS->req: the
   fast path, or else afresh on the general one. */
static void
parse_options(struct parse *ps, const uint8_t *pkt, size_t len)
{
  if (read_options_fast(ps, pkt, len))
    return;
  start_request(ps, ps->req, pkt, len);
  walk_options(ps, pkt, len);
  read_options(ps);
}

void
pxc_classify(const struct pxc_config *cfg, const uint8_t *pkt, size_t len,
             struct pxc_request *req)
{
  struct parse ps;

  if (!req)
    return;
  if (!pkt)
    len = 0;
  start_request(&ps, req, pkt, len);
  if (len < BOOTP_HEADER_LEN)
    req->errors |= PXC_ERR_SHORT;
  else if (len < DHCP_OPTIONS_OFF ||
           memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN) != 0)
    req->errors |= PXC_ERR_COOKIE;
  else
    parse_options(&ps, pkt, len);

  resolve_arch(req, ps.vendor, cfg);
  check_undi(req);
  req->fw_class = decide_class(req, &ps);
  if (req->fw_class == PXC_CLASS_NONE)
    req->fw_class = grub_class(req, &ps, pkt, len);
  check_class(req);
  check_raspberry_pi(req, &ps);
  req->fingerprint = fingerprint(req);
}

struct pxc_bytes
pxc_vendor_class(const struct pxc_request *req)
{
  if (!req || !req->has_vendor_class)
    return (struct pxc_bytes){NULL, 0};
  return (struct pxc_bytes){req->vendor_class_text, req->vendor_class_len};
}

struct pxc_bytes
pxc_user_class(const struct pxc_request *req, size_t i)
{
  if (!req || i >= req->user_class_count || i >= PXC_MAX_USER_CLASS)
    return (struct pxc_bytes){NULL, 0};
  return (struct pxc_bytes){req->user_class_text + req->user_class_at[i].off,
                            req->user_class_at[i].len};
}

bool
pxc_has_feature(const struct pxc_request *req, uint8_t code)
{
  return req && code < 8 * sizeof(req->ipxe.features) &&
         bit_test(req->ipxe.features, code);
}

/* ------------------------------------------------------------------ */
/* Shared with the DHCPv6 classifier (classify.h)                      */
/* Out-of-line copies of the static functions above, which are always  */
/* inlined into the DHCPv4 path (a call there costs ~40 instructions a  */
/* request).                                                           */

void
req_read_arch_values(struct pxc_request *req, const uint8_t *data, size_t len)
{
  arch_values_after(req, req->arch_count, data, len);
}

void
req_read_ndi(struct pxc_request *req, const uint8_t *data, size_t len)
{
  ndi_value(req, data, len);
}

enum pxc_class
req_user_class_program(const struct pxc_request *req, enum pxc_agent *agent)
{
  return user_class_program(req, agent);
}

uint32_t
req_primary_families(const struct pxc_request *req)
{
  return primary_families(req);
}

void
req_resolve_arch(struct pxc_request *req, enum pxc_class vendor,
                 const struct pxc_config *cfg)
{
  resolve_arch(req, vendor, cfg);
}

void
req_check_undi(struct pxc_request *req)
{
  check_undi(req);
}

void
req_check_class(struct pxc_request *req)
{
  check_class(req);
}

uint64_t
req_fingerprint(const struct pxc_request *req)
{
  return fingerprint(req);
}
