/*
 * Classification of one DHCPv4 request: which boot firmware sent it, for
 * which architecture, and what an iPXE build says about itself.
 *
 * One pass: the options field is walked once with tlv_next(), then the
 * file and sname fields when option 52 overloads them (RFC 2131 §4.1, in
 * RFC 3396 §5 order: options, file, sname).  The walk only notes, for the
 * few options the classifier reads, where their first fragment lies and
 * how many there are (a table indexed by option code says which).  Then
 * each noted option is read by its own small function, in a fixed order,
 * straight from the packet; an option split into several fragments
 * (RFC 3396) is first joined into a local buffer, or into the request's
 * text array for options 60 and 77.  Every reader checks the length first
 * and raises an error flag rather than guessing.  Nothing is written to
 * the request but what the request keeps; facts come from tables.c.
 */
#include <stddef.h>
#include <string.h>

#include "facts.h"
#include "pxeclass.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(PXC_FEATURE_FIRST < 64 && PXC_FEATURE_LAST == 127,
               "read_ipxe() gathers the feature flags in two 64-bit words");

/* Longest joined split option (other than 60 and 77, which are joined
   into their PXC_TEXT_MAX-byte text arrays); as 0.1's scratch buffer. */
#define JOIN_MAX 1024

/* Vendor class prefixes (option 60) and what they announce.  EDK2 and iPXE
   compare the first 9 ("PXEClient") or 10 ("HTTPClient") bytes. */
static const struct {
  const char *prefix;
  uint8_t len;
  enum pxc_class cls;
  bool has_arch; /* ":Arch:NNNNN:UNDI:yyyzzz" may follow */
} vendor_prefixes[] = {
    {"PXEClient", 9, PXC_CLASS_PXE, true},
    {"HTTPClient", 10, PXC_CLASS_HTTP_BOOT, true},
    {"Etherboot", 9, PXC_CLASS_ETHERBOOT, false},
    {"U-Boot", 6, PXC_CLASS_UBOOT, false},
};

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

/* The state of one pxc_classify() call (on its stack). */
struct parse {
  struct pxc_request *req;
  struct area areas[3];
  unsigned area_count;
  uint16_t present;             /* bit N: slot N seen */
  struct slot slot[11];         /* by slot number, see option_slot[] */
  enum pxc_class vendor;        /* what option 60's prefix announces */
  uint8_t uuid97[5];            /* head of option 97, for the Pi test */
  uint8_t uuid97_len;
};

struct option_reader {
  uint8_t code;
  void (*read)(struct parse *ps, const uint8_t *data, size_t len);
};

static void read_msg_type(struct parse *, const uint8_t *, size_t);
static void read_vendor_class(struct parse *, const uint8_t *, size_t);
static void read_user_class(struct parse *, const uint8_t *, size_t);
static void read_client_arch(struct parse *, const uint8_t *, size_t);
static void read_client_ndi(struct parse *, const uint8_t *, size_t);
static void read_client_uuid(struct parse *, const uint8_t *, size_t);
static void read_ipxe(struct parse *, const uint8_t *, size_t);
static void read_etherboot(struct parse *, const uint8_t *, size_t);
static void read_pxe_options(struct parse *, const uint8_t *, size_t);

/*
 * The options read, in the order they are read: 60 before 43 (43 is PXE's
 * only for a PXEClient), 175 before 150 (iPXE's bus id wins over
 * Etherboot 5's).  Slot N + 1 is readers[N]; slot SLOT_OVERLOAD is 52,
 * which the walk itself uses.
 */
static const struct option_reader readers[] = {
    {DHCP_MSG_TYPE, read_msg_type},
    {DHCP_VENDOR_CLASS, read_vendor_class},
    {DHCP_USER_CLASS, read_user_class},
    {DHCP_CLIENT_ARCH, read_client_arch},
    {DHCP_CLIENT_NDI, read_client_ndi},
    {DHCP_CLIENT_UUID, read_client_uuid},
    {DHCP_EB_ENCAP, read_ipxe},
    {DHCP_EB5_ENCAP, read_etherboot},
    {DHCP_VENDOR_ENCAP, read_pxe_options},
};

#define SLOT_OVERLOAD (COUNT(readers) + 1)

/* Slot of each option code: 0 for the options the classifier skips. */
static const uint8_t option_slot[256] = {
    [DHCP_MSG_TYPE] = 1,     [DHCP_VENDOR_CLASS] = 2, [DHCP_USER_CLASS] = 3,
    [DHCP_CLIENT_ARCH] = 4,  [DHCP_CLIENT_NDI] = 5,   [DHCP_CLIENT_UUID] = 6,
    [DHCP_EB_ENCAP] = 7,     [DHCP_EB5_ENCAP] = 8,    [DHCP_VENDOR_ENCAP] = 9,
    [DHCP_OVERLOAD] = SLOT_OVERLOAD,
};

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
  unsigned todo = ps->present & ((1u << (COUNT(readers) + 1)) - 2);

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

/* Read the BOOTP header fields that lie inside the packet. */
static void
read_header(struct pxc_request *req, const uint8_t *pkt, size_t len)
{
  struct reader r = reader_of(pkt, len);
  uint8_t head[4];

  if (!read_bytes(&r, head, sizeof(head)))
    return;
  req->op = head[offsetof(struct bootp_header, op)];
  req->htype = head[offsetof(struct bootp_header, htype)];
  req->hlen = head[offsetof(struct bootp_header, hlen)];
  if (req->hlen > sizeof(req->chaddr))
    req->errors |= PXC_ERR_HLEN;
  if (!read_be32(&r, &req->xid) ||
      !read_bytes(&r, NULL,
                  offsetof(struct bootp_header, chaddr) -
                      offsetof(struct bootp_header, secs)))
    return;
  read_bytes(&r, req->chaddr, sizeof(req->chaddr));
}

/* Option 53: the DHCP message type, one byte. */
static void
read_msg_type(struct parse *ps, const uint8_t *data, size_t len)
{
  if (len != 1) {
    ps->req->errors |= PXC_ERR_MSG_TYPE;
    return;
  }
  ps->req->msg_type = data[0];
}

/* Consume exactly DIGITS decimal digits into VALUE. */
static inline bool
read_decimal(struct reader *r, unsigned digits, uint32_t *value)
{
  uint32_t v = 0;

  if (r->left < digits)
    return false;
  for (unsigned i = 0; i < digits; i++) {
    uint32_t d = (uint32_t)r->p[i] - '0';
    if (d > 9)
      return false;
    v = v * 10 + d;
  }
  read_bytes(r, NULL, digits);
  *value = v;
  return true;
}

/* Consume the literal TEXT (N bytes) if it is next. */
static inline bool
read_literal(struct reader *r, const char *text, size_t n)
{
  if (r->left < n || memcmp(r->p, text, n) != 0)
    return false;
  read_bytes(r, NULL, n);
  return true;
}

/*
 * The ":Arch:NNNNN:UNDI:yyyzzz" tail of a PXEClient/HTTPClient vendor
 * class.  The digits are decimal (PXE 2.1; iPXE DHCP_VENDOR_PXECLIENT,
 * EDK2 PxeBcUintnToAscDecWithFormat).  Either part may be missing.
 */
static void
read_vendor_arch(struct pxc_request *req, struct reader *r)
{
  uint32_t arch, major, minor;

  if (!read_literal(r, ":Arch:", 6) || !read_decimal(r, 5, &arch) ||
      arch > UINT16_MAX)
    return;
  req->has_arch60 = true;
  req->arch60 = (uint16_t)arch;
  if (read_literal(r, ":UNDI:", 6) && read_decimal(r, 3, &major) &&
      read_decimal(r, 3, &minor)) {
    req->has_undi60 = true;
    req->undi60_major = (uint16_t)major;
    req->undi60_minor = (uint16_t)minor;
  }
}

/* Option 60: keep a copy, and note the class its prefix announces. */
static void
read_vendor_class(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;

  if (data != req->vendor_class_text)
    memcpy(req->vendor_class_text, data, len);
  req->has_vendor_class = true;
  req->vendor_class_len = (uint8_t)len;
  for (size_t i = 0; i < COUNT(vendor_prefixes); i++) {
    struct reader r = reader_of(req->vendor_class_text, len);
    if (len == 0 || req->vendor_class_text[0] != vendor_prefixes[i].prefix[0] ||
        !read_literal(&r, vendor_prefixes[i].prefix, vendor_prefixes[i].len))
      continue;
    if (vendor_prefixes[i].has_arch)
      read_vendor_arch(req, &r);
    ps->vendor = vendor_prefixes[i].cls;
    return;
  }
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
   kept as sent, the strings as offsets into the copy. */
static void
read_user_class(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  size_t i = 0;

  if (len == 0) {
    req->errors |= PXC_ERR_USER_CLASS;
    return;
  }
  if (data != req->user_class_text)
    memcpy(req->user_class_text, data, len);
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

/* Option 93: every 16-bit value of the list (RFC 4578 §2.1). */
static void
read_client_arch(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(data, len);

  if (len == 0 || len % 2 != 0)
    req->errors |= PXC_ERR_ARCH;
  if (len / 2 > PXC_MAX_ARCH)
    req->warnings |= PXC_WARN_ARCH_MANY;
  while (req->arch_count < PXC_MAX_ARCH &&
         read_be16(&r, &req->arch_list[req->arch_count]))
    req->arch_count++;
  if (req->arch_count > 0)
    req->arch93_raw = req->arch_list[0];
}

/* Option 94: type 1 (UNDI), major, minor (RFC 4578 §2.2). */
static void
read_client_ndi(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;

  if (len != 3 || data[0] != 1) {
    req->errors |= PXC_ERR_UNDI;
    return;
  }
  req->has_undi = true;
  req->undi_major = data[1];
  req->undi_minor = data[2];
}

/*
 * Option 97: type 0 and a 16-byte GUID whose first three fields are
 * little-endian on the wire (RFC 4578 §2.3, SMBIOS ≥ 2.6, iPXE
 * uuid_mangle).  Stored in canonical RFC 4122 order.  Its head is kept
 * for the Raspberry Pi test, whatever its length.
 */
static void
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
  u[0] = data[3], u[1] = data[2], u[2] = data[1], u[3] = data[0];
  u[4] = data[5], u[5] = data[4];
  u[6] = data[7], u[7] = data[6];
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

/* Sub-option 235 (version) or 177 (bus id) of 175; FIRST if its code was
   not seen before (a repeat is ignored). */
static void
read_ipxe_value(struct pxc_request *req, const struct tlv *sub, bool first)
{
  struct pxc_ipxe *ipxe = &req->ipxe;

  if (!first)
    return;
  if (sub->len != (sub->code == DHCP_EB_VERSION ? 3 : 5)) {
    req->errors |= PXC_ERR_ENCAP_VALUE;
    return;
  }
  if (sub->code == DHCP_EB_VERSION) {
    memcpy(ipxe->version, sub->data, 3);
    ipxe->has_version = true;
  } else {
    read_busid(ipxe, sub->data);
  }
}

/* OR the 64 bits of W into the 8 bytes of BITMAP (bit N of W is bit N of
   the bitmap, as bit_set() numbers them). */
static inline void
bitmap_or64(uint8_t *bitmap, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, bitmap, 8);
  v |= w;
  memcpy(bitmap, &v, 8);
#else
  for (unsigned i = 0; i < 8; i++)
    bitmap[i] |= (uint8_t)(w >> (8 * i));
#endif
}

/*
 * Option 175: iPXE's encapsulated options, parsed as TLV (no order and
 * no END assumed, END honoured), never scanned.  Every code is noted;
 * a one-byte sub-option PXC_FEATURE_FIRST..PXC_FEATURE_LAST is a feature
 * flag; 235 and 177 are the version and the bus id.  The codes below 128
 * are gathered in two words, their bitmaps written once at the end.
 */
static void
read_ipxe(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_ipxe *ipxe = &ps->req->ipxe;
  struct reader r = reader_of(data, len);
  uint64_t seen0 = 0, seen1 = 0, features0 = 0, features1 = 0;
  struct tlv sub;
  enum tlv_step step;

  ipxe->present = true;
  while ((step = tlv_next(&r, &sub)) == TLV_ITEM) {
    uint64_t bit = 1ull << (sub.code & 63);
    uint64_t flag = sub.len == 1 ? bit : 0;
    if (sub.code < 64) {
      seen0 |= bit;
      features0 |= flag;
    } else if (sub.code < 128) { /* PXC_FEATURE_LAST is 127 */
      seen1 |= bit;
      features1 |= flag;
    } else {
      if (sub.code == DHCP_EB_VERSION || sub.code == DHCP_EB_BUS_ID)
        read_ipxe_value(ps->req, &sub, !bit_test(ipxe->subopts, sub.code));
      bit_set(ipxe->subopts, sub.code);
    }
  }
  if (step == TLV_OVERRUN)
    ps->req->errors |= PXC_ERR_ENCAP;
  bitmap_or64(ipxe->subopts, seen0);
  bitmap_or64(ipxe->subopts + 8, seen1);
  features0 &= ~((1ull << PXC_FEATURE_FIRST) - 1);
  bitmap_or64(ipxe->features, features0);
  bitmap_or64(ipxe->features + 8, features1);
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

/* Option 43 of a PXE client: PXE's own sub-options (PXE 2.1; only a
   client whose vendor class says PXEClient speaks them): the boot item
   (type, layer; 4 bytes), the first one only. */
static void
read_pxe_options(struct parse *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(data, len);
  struct tlv sub;

  if (ps->vendor != PXC_CLASS_PXE)
    return;
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

/* True if one of the user classes is exactly NAME (N bytes). */
static bool
has_user_class(const struct pxc_request *req, const char *name, size_t n)
{
  for (unsigned i = 0; i < req->user_class_count; i++)
    if (req->user_class_at[i].len == n &&
        memcmp(req->user_class_text + req->user_class_at[i].off, name, n) == 0)
      return true;
  return false;
}

/* Families of the primary architecture, 0 if none or unassigned. */
static uint32_t
primary_families(const struct pxc_request *req)
{
  const struct pxc_arch_info *info;

  if (req->arch_source == PXC_ARCH_NONE)
    return 0;
  info = pxc_arch_by_code(req->arch);
  return info ? info->families : 0;
}

/*
 * Settle the architecture: the values of option 93, or else the Arch
 * digits of option 60; the 7/9 quirk (RFC 4578 erratum 4624: firmware in
 * the field sends 9 for x64); and the consistency warnings.
 */
static void
resolve_arch(struct pxc_request *req, const struct pxc_config *cfg)
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
    if (!pxc_arch_by_code(req->arch_list[i]))
      req->warnings |= PXC_WARN_ARCH_UNKNOWN;
  }
  req->arch = req->arch_list[0];
}

/* The consistency check between option 94 and the UNDI digits of 60. */
static void
check_undi(struct pxc_request *req)
{
  if (req->has_undi && req->has_undi60 &&
      (req->undi_major != req->undi60_major ||
       req->undi_minor != req->undi60_minor))
    req->warnings |= PXC_WARN_UNDI_MISMATCH;
}

/*
 * The firmware class, by precedence.  Marks of a network bootloader
 * (Etherboot's vendor class, gPXE/iPXE user class, option 175) outrank
 * the vendor class a PXE stack would send, because iPXE and gPXE send
 * "PXEClient" too.  gPXE 0.9.3–0.9.6 sent 175 without a version (235
 * arrived with gPXE 0.9.7), iPXE always sends one.
 */
static enum pxc_class
decide_class(const struct pxc_request *req, enum pxc_class vendor)
{
  if (vendor == PXC_CLASS_ETHERBOOT)
    return PXC_CLASS_ETHERBOOT;
  if (has_user_class(req, "gPXE", 4))
    return PXC_CLASS_GPXE;
  if (has_user_class(req, "iPXE", 4))
    return PXC_CLASS_IPXE;
  if (req->ipxe.present)
    return req->ipxe.has_version || (req->errors & PXC_ERR_ENCAP)
               ? PXC_CLASS_IPXE
               : PXC_CLASS_GPXE;
  if (primary_families(req) & PXC_FAM_UBOOT)
    return PXC_CLASS_UBOOT;
  if (vendor == PXC_CLASS_NONE && req->arch_source == PXC_ARCH_OPT93 &&
      req->has_undi)
    return PXC_CLASS_PXE; /* options 93 and 94 are PXE's (RFC 4578); the
                             Raspberry Pi's REQUEST drops option 60 */
  return vendor;
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

/* Warnings that depend on the class. */
static void
check_class(struct pxc_request *req)
{
  if (req->fw_class != PXC_CLASS_NONE && req->arch_source == PXC_ARCH_NONE &&
      req->fw_class != PXC_CLASS_ETHERBOOT && req->fw_class != PXC_CLASS_UBOOT)
    req->warnings |= PXC_WARN_NO_ARCH;
}

/*
 * A hash of what identifies a boot program, not a transaction: class,
 * user classes, architectures, UNDI version and the whole of 175 as
 * parsed (struct pxc_ipxe, so the order of sub-options does not matter).
 * Option 60 is left out: iPXE shortens it to "PXEClient" in some requests
 * of one stage.  Stable within one build on one machine.  One key, every
 * byte of it set (pxc_classify() zeroed the padding of the request's
 * struct pxc_ipxe); the user classes follow as count-prefixed strings.
 */
static uint64_t
fingerprint(const struct pxc_request *req)
{
  struct {
    uint8_t scalars[8];
    uint16_t arch_list[PXC_MAX_ARCH]; /* zero past arch_count */
    struct pxc_ipxe ipxe;
    uint8_t classes[PXC_MAX_USER_CLASS + PXC_TEXT_MAX];
  } key;
  size_t n = 0;

  memset(key.scalars, 0, sizeof(key.scalars));
  key.scalars[0] = (uint8_t)req->fw_class;
  key.scalars[1] = req->has_undi;
  key.scalars[2] = req->undi_major;
  key.scalars[3] = req->undi_minor;
  key.scalars[4] = req->arch_count;
  memcpy(key.arch_list, req->arch_list, sizeof(key.arch_list));
  memcpy(&key.ipxe, &req->ipxe, sizeof(key.ipxe));
  for (unsigned i = 0; i < req->user_class_count; i++) {
    key.classes[n++] = req->user_class_at[i].len;
    memcpy(key.classes + n, req->user_class_text + req->user_class_at[i].off,
           req->user_class_at[i].len);
    n += req->user_class_at[i].len;
  }
  return pxc_hash(PXC_HASH_SEED, &key, offsetof(__typeof__(key), classes) + n);
}

/* Read the options of PKT (header and cookie checked) into PS->req. */
static void
parse_options(struct parse *ps, const uint8_t *pkt, size_t len)
{
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
  /* the text arrays are read only up to their lengths */
  memset(req, 0, offsetof(struct pxc_request, vendor_class_text));
  ps.req = req;
  ps.area_count = 0;
  ps.present = 0;
  ps.vendor = PXC_CLASS_NONE;
  ps.uuid97_len = 0;

  read_header(req, pkt, len);
  if (len < BOOTP_HEADER_LEN)
    req->errors |= PXC_ERR_SHORT;
  else if (len < DHCP_OPTIONS_OFF ||
           memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, DHCP_COOKIE_LEN) != 0)
    req->errors |= PXC_ERR_COOKIE;
  else
    parse_options(&ps, pkt, len);

  resolve_arch(req, cfg);
  check_undi(req);
  req->fw_class = decide_class(req, ps.vendor);
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
