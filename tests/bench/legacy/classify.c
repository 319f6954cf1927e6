/*
 * Classification of one DHCPv4 request: which boot firmware sent it, for
 * which architecture, and what an iPXE build says about itself.
 *
 * Each option is read by its own small function from the option index;
 * each one checks its length first and raises an error flag rather than
 * guessing.  Facts (arch names, feature names) come from tables.c.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Vendor class prefixes (option 60) and what they announce.  EDK2 and iPXE
   compare the first 9 ("PXEClient") or 10 ("HTTPClient") bytes. */
static const struct {
  const char *prefix;
  enum pxc_class cls;
  bool has_arch; /* ":Arch:NNNNN:UNDI:yyyzzz" may follow */
} vendor_prefixes[] = {
    {"PXEClient", PXC_CLASS_PXE, true},
    {"HTTPClient", PXC_CLASS_HTTP_BOOT, true},
    {"Etherboot", PXC_CLASS_ETHERBOOT, false},
    {"U-Boot", PXC_CLASS_UBOOT, false},
};

/* A read position inside a byte string, for the text of option 60. */
struct cursor {
  const uint8_t *p;
  const uint8_t *end;
};

/* Consume the literal TEXT if it is next. */
static bool
cursor_literal(struct cursor *c, const char *text)
{
  size_t n = strlen(text);

  if ((size_t)(c->end - c->p) < n || memcmp(c->p, text, n) != 0)
    return false;
  c->p += n;
  return true;
}

/* Consume exactly DIGITS decimal digits into VALUE. */
static bool
cursor_decimal(struct cursor *c, unsigned digits, uint32_t *value)
{
  uint32_t v = 0;

  if ((size_t)(c->end - c->p) < digits)
    return false;
  for (unsigned i = 0; i < digits; i++) {
    if (c->p[i] < '0' || c->p[i] > '9')
      return false;
    v = v * 10 + (uint32_t)(c->p[i] - '0');
  }
  c->p += digits;
  *value = v;
  return true;
}

/* Read the BOOTP header fields that lie inside the packet. */
static void
read_header(struct pxc_request *req, const uint8_t *pkt, size_t len)
{
  if (len >= 4) {
    req->op = pkt[0];
    req->htype = pkt[1];
    req->hlen = pkt[2];
  }
  if (len >= 8)
    req->xid = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 |
               (uint32_t)pkt[6] << 8 | pkt[7];
  if (req->hlen > sizeof(req->chaddr))
    req->errors |= PXC_ERR_HLEN;
  if (len >= BOOTP_CHADDR_OFF + sizeof(req->chaddr))
    memcpy(req->chaddr, pkt + BOOTP_CHADDR_OFF, sizeof(req->chaddr));
}

/* Option 53: the DHCP message type, one byte. */
static void
read_msg_type(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;

  if (!dhcp_index_get(ix, DHCP_MSG_TYPE, &opt))
    return;
  if (opt.len != 1) {
    req->errors |= PXC_ERR_MSG_TYPE;
    return;
  }
  req->msg_type = opt.data[0];
}

/*
 * The ":Arch:NNNNN:UNDI:yyyzzz" tail of a PXEClient/HTTPClient vendor
 * class.  The digits are decimal (PXE 2.1; iPXE DHCP_VENDOR_PXECLIENT,
 * EDK2 PxeBcUintnToAscDecWithFormat).  Either part may be missing.
 */
static void
read_vendor_arch(struct pxc_request *req, struct cursor *c)
{
  uint32_t arch, major, minor;

  if (!cursor_literal(c, ":Arch:") || !cursor_decimal(c, 5, &arch) ||
      arch > UINT16_MAX)
    return;
  req->has_arch60 = true;
  req->arch60 = (uint16_t)arch;
  if (cursor_literal(c, ":UNDI:") && cursor_decimal(c, 3, &major) &&
      cursor_decimal(c, 3, &minor)) {
    req->has_undi60 = true;
    req->undi60_major = (uint16_t)major;
    req->undi60_minor = (uint16_t)minor;
  }
}

/* Option 60: keep it, and return the class its prefix announces. */
static enum pxc_class
read_vendor_class(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;

  if (!dhcp_index_get(ix, DHCP_VENDOR_CLASS, &opt))
    return PXC_CLASS_NONE;
  req->vendor_class = opt;
  for (size_t i = 0; i < sizeof(vendor_prefixes) / sizeof(vendor_prefixes[0]);
       i++) {
    struct cursor c = {opt.data, opt.data + opt.len};
    if (!cursor_literal(&c, vendor_prefixes[i].prefix))
      continue;
    if (vendor_prefixes[i].has_arch)
      read_vendor_arch(req, &c);
    return vendor_prefixes[i].cls;
  }
  return PXC_CLASS_NONE;
}

/*
 * True if BYTES are RFC 3004 counted strings filling them exactly (each
 * count ≥ 1).  iPXE's raw "iPXE" is not: 'i' (105) exceeds the length.
 * This is the test dnsmasq applies (rfc2131.c) so both agree.
 */
static bool
is_rfc3004(const struct pxc_bytes *b)
{
  size_t i = 0;

  while (i < b->len) {
    size_t n = b->data[i];
    if (n == 0 || n > b->len - i - 1)
      return false;
    i += 1 + n;
  }
  return true;
}

/* Option 77, as RFC 3004 counted strings or as iPXE's single raw string. */
static void
read_user_class(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;
  size_t i = 0;

  if (!dhcp_index_get(ix, DHCP_USER_CLASS, &opt))
    return;
  if (opt.len == 0) {
    req->errors |= PXC_ERR_USER_CLASS;
    return;
  }
  if (!is_rfc3004(&opt)) {
    req->user_class[0] = opt;
    req->user_class_count = 1;
    return;
  }
  req->user_class_rfc3004 = true;
  while (i < opt.len) {
    size_t n = opt.data[i];
    if (req->user_class_count == PXC_MAX_USER_CLASS) {
      req->warnings |= PXC_WARN_USER_CLASS_MANY;
      break;
    }
    req->user_class[req->user_class_count].data = opt.data + i + 1;
    req->user_class[req->user_class_count].len = n;
    req->user_class_count++;
    i += 1 + n;
  }
}

/* Option 93: every 16-bit value of the list (RFC 4578 §2.1). */
static void
read_client_arch(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;
  size_t values;

  if (!dhcp_index_get(ix, DHCP_CLIENT_ARCH, &opt))
    return;
  if (opt.len == 0 || opt.len % 2 != 0)
    req->errors |= PXC_ERR_ARCH;
  values = opt.len / 2;
  if (values > PXC_MAX_ARCH) {
    req->warnings |= PXC_WARN_ARCH_MANY;
    values = PXC_MAX_ARCH;
  }
  for (size_t i = 0; i < values; i++)
    req->arch_list[i] =
        (uint16_t)(opt.data[2 * i] << 8 | opt.data[2 * i + 1]);
  req->arch_count = (uint8_t)values;
  if (values > 0)
    req->arch93_raw = req->arch_list[0];
}

/* Option 94: type 1 (UNDI), major, minor (RFC 4578 §2.2). */
static void
read_client_ndi(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;

  if (!dhcp_index_get(ix, DHCP_CLIENT_NDI, &opt))
    return;
  if (opt.len != 3 || opt.data[0] != 1) {
    req->errors |= PXC_ERR_UNDI;
    return;
  }
  req->has_undi = true;
  req->undi_major = opt.data[1];
  req->undi_minor = opt.data[2];
}

/*
 * Option 97: type 0 and a 16-byte GUID whose first three fields are
 * little-endian on the wire (RFC 4578 §2.3, SMBIOS ≥ 2.6, iPXE
 * uuid_mangle).  Stored in canonical RFC 4122 order.
 */
static void
read_client_uuid(struct pxc_request *req, struct dhcp_index *ix)
{
  static const uint8_t canonical_from_wire[16] = {3, 2, 1, 0, 5,  4,  7,  6,
                                                  8, 9, 10, 11, 12, 13, 14, 15};
  struct pxc_bytes opt;

  if (!dhcp_index_get(ix, DHCP_CLIENT_UUID, &opt))
    return;
  if (opt.len != 17 || opt.data[0] != 0) {
    req->errors |= PXC_ERR_UUID;
    return;
  }
  for (size_t i = 0; i < 16; i++)
    req->uuid[i] = opt.data[1 + canonical_from_wire[i]];
  req->has_uuid = true;
}

/* Fill the bus id from 5 bytes: type, vendor and device, big-endian. */
static void
read_busid(struct pxc_ipxe *ipxe, const uint8_t *data)
{
  ipxe->bus_type = data[0];
  ipxe->bus_vendor = (uint16_t)(data[1] << 8 | data[2]);
  ipxe->bus_device = (uint16_t)(data[3] << 8 | data[4]);
  ipxe->has_busid = true;
}

/* One sub-option of 175: a feature flag, the version, or the bus id. */
static void
read_ipxe_subopt(void *ctx, uint8_t code, const uint8_t *data, uint8_t len)
{
  struct pxc_request *req = ctx;
  struct pxc_ipxe *ipxe = &req->ipxe;
  bool first = !bit_test(ipxe->subopts, code);

  bit_set(ipxe->subopts, code);
  if (code >= DHCP_EB_FEATURE_FIRST && code <= DHCP_EB_FEATURE_LAST) {
    if (len == 1)
      bit_set(ipxe->features, code);
  } else if (code == DHCP_EB_VERSION && first) {
    if (len != 3) {
      req->errors |= PXC_ERR_ENCAP_VALUE;
      return;
    }
    memcpy(ipxe->version, data, 3);
    ipxe->has_version = true;
  } else if (code == DHCP_EB_BUS_ID && first) {
    if (len != 5) {
      req->errors |= PXC_ERR_ENCAP_VALUE;
      return;
    }
    read_busid(ipxe, data);
  }
}

/* Option 175: iPXE's encapsulated options, parsed as TLV, never scanned. */
static void
read_ipxe(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;

  if (!dhcp_index_get(ix, DHCP_EB_ENCAP, &opt))
    return;
  req->ipxe.present = true;
  if (!dhcp_walk_encap(opt.data, opt.len, read_ipxe_subopt, req))
    req->errors |= PXC_ERR_ENCAP;
}

/* One sub-option of Etherboot 5's option 150: the NIC's bus id (175, as
   in iPXE's 177; big-endian on the wire, the arch (177) is not). */
static void
read_etherboot_subopt(void *ctx, uint8_t code, const uint8_t *data,
                      uint8_t len)
{
  struct pxc_request *req = ctx;

  if (code == DHCP_EB5_NIC_ID && len == 5 && !req->ipxe.has_busid)
    read_busid(&req->ipxe, data);
}

/* Option 150: Etherboot 5.x's encapsulated options. */
static void
read_etherboot(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes opt;

  if (dhcp_index_get(ix, DHCP_EB5_ENCAP, &opt) &&
      !dhcp_walk_encap(opt.data, opt.len, read_etherboot_subopt, req))
    req->errors |= PXC_ERR_ENCAP;
}

/* One PXE sub-option of 43: the boot item (type, layer; 4 bytes). */
static void
read_pxe_subopt(void *ctx, uint8_t code, const uint8_t *data, uint8_t len)
{
  struct pxc_request *req = ctx;

  if (code != PXE_BOOT_ITEM || len != 4 || req->has_boot_item)
    return;
  req->boot_item_type = (uint16_t)(data[0] << 8 | data[1]);
  req->boot_item_layer = (uint16_t)(data[2] << 8 | data[3]);
  req->has_boot_item = true;
}

/* Option 43 of a PXE client: PXE's own sub-options (PXE 2.1 spec; only
   a client whose vendor class says PXEClient speaks them). */
static void
read_pxe_options(struct pxc_request *req, struct dhcp_index *ix,
                 enum pxc_class vendor)
{
  struct pxc_bytes opt;

  if (vendor == PXC_CLASS_PXE && dhcp_index_get(ix, DHCP_VENDOR_ENCAP, &opt))
    dhcp_walk_encap(opt.data, opt.len, read_pxe_subopt, req);
}

/* True if one of the user classes is exactly NAME (either 77 encoding). */
bool
request_has_user_class(const struct pxc_request *req, const char *name)
{
  size_t n = strlen(name);

  for (unsigned i = 0; i < req->user_class_count; i++)
    if (req->user_class[i].len == n &&
        memcmp(req->user_class[i].data, name, n) == 0)
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
  bool arch9_is_ebc = cfg && cfg->arch9_is_ebc;

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
  if (request_has_user_class(req, "gPXE"))
    return PXC_CLASS_GPXE;
  if (request_has_user_class(req, "iPXE"))
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
check_raspberry_pi(struct pxc_request *req, struct dhcp_index *ix)
{
  struct pxc_bytes uuid = {NULL, 0};

  if (req->fw_class != PXC_CLASS_PXE || req->arch_count == 0 || req->arch != 0)
    return;
  dhcp_index_get(ix, DHCP_CLIENT_UUID, &uuid);
  if (!pxc_is_raspberry_pi(req->chaddr, req->hlen, uuid.data, uuid.len))
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

/* Mix LEN bytes into H: FNV-1a's xor-multiply step, eight bytes at a
   time (memcpy keeps the loads legal at any alignment). */
static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
  const uint8_t *p = data;

  for (; len >= 8; len -= 8, p += 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; len > 0; len--, p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  return h;
}

/*
 * A hash of what identifies a boot program, not a transaction: class,
 * user classes, architectures, UNDI version and the whole of 175 (as
 * parsed, so the order of sub-options does not matter).  Option 60 is left
 * out: iPXE shortens it to "PXEClient" in some requests of one stage.
 * Stable within one build on one machine.
 */
static uint64_t
fingerprint(const struct pxc_request *req)
{
  const struct pxc_ipxe *ipxe = &req->ipxe;
  uint8_t scalars[] = {
      (uint8_t)req->fw_class, req->has_undi, req->undi_major, req->undi_minor,
      ipxe->present,          ipxe->version[0], ipxe->version[1],
      ipxe->version[2],       ipxe->bus_type,   (uint8_t)(ipxe->bus_vendor >> 8),
      (uint8_t)ipxe->bus_vendor, (uint8_t)(ipxe->bus_device >> 8),
      (uint8_t)ipxe->bus_device,
  };
  uint64_t h = 0xcbf29ce484222325ULL;

  h = hash_bytes(h, scalars, sizeof(scalars));
  for (unsigned i = 0; i < req->user_class_count; i++) {
    uint8_t n = (uint8_t)req->user_class[i].len;
    h = hash_bytes(h, &n, 1);
    h = hash_bytes(h, req->user_class[i].data, req->user_class[i].len);
  }
  h = hash_bytes(h, req->arch_list, req->arch_count * sizeof(req->arch_list[0]));
  h = hash_bytes(h, ipxe->subopts, sizeof(ipxe->subopts));
  h = hash_bytes(h, ipxe->features, sizeof(ipxe->features));
  return h;
}

void
pxc_classify(const struct pxc_config *cfg, const uint8_t *pkt, size_t len,
             struct pxc_request *req)
{
  struct dhcp_index ix;
  enum pxc_class vendor;

  memset(req, 0, offsetof(struct pxc_request, scratch));
  read_header(req, pkt, len);
  dhcp_index_build(&ix, pkt, len, req->scratch, sizeof(req->scratch));

  read_msg_type(req, &ix);
  vendor = read_vendor_class(req, &ix);
  read_user_class(req, &ix);
  read_client_arch(req, &ix);
  read_client_ndi(req, &ix);
  read_client_uuid(req, &ix);
  read_ipxe(req, &ix);
  read_etherboot(req, &ix);
  read_pxe_options(req, &ix, vendor);
  req->errors |= ix.errors;

  resolve_arch(req, cfg);
  check_undi(req);
  req->fw_class = decide_class(req, vendor);
  check_class(req);
  check_raspberry_pi(req, &ix);
  req->fingerprint = fingerprint(req);
}

bool
pxc_has_feature(const struct pxc_request *req, uint8_t code)
{
  return bit_test(req->ipxe.features, code);
}
