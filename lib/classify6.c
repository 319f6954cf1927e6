/*
 * Classification of one DHCPv6 request (RFC 8415): the same struct
 * pxc_request and the same classes as the DHCPv4 classifier (classify.c),
 * whose decisions on a whole request it shares (classify.h).
 *
 * Relay messages come first, unwrapped one after the other (a loop, not
 * recursion, bounded by PXC_RELAY_MAX): each relay's options are walked
 * once with tlv6_next() for its relay message (9), interface-id (18) and
 * client link-layer address (79).  Then the client message's options are
 * walked once, each option the classifier reads handed to its reader by
 * a table indexed by option code.  The decisions follow the walk: MAC,
 * architecture, UNDI, class, and the DUID-UUID's byte order, which
 * depends on the class.  Every reader checks its lengths first and raises
 * an error flag rather than guessing; a malformed option ends its walk,
 * and the request is classified from what came before it.
 *
 * What each firmware sends: shared/research/dhcpv6.md §2 (EDK2
 * PxeBcDhcp6.c and HttpBootDhcp6.c, iPXE dhcpv6.c, U-Boot dhcpv6.c).
 */
#include <string.h>

#include "classify.h"
#include "config.h"
#include "pxeclass.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Entries of option 15 and 16 remembered to find a repeated one. */
#define SEEN_MAX 8

/* An entry of a user or vendor class list, in the packet. */
struct entry {
  const uint8_t *data;
  uint16_t len;
};

/* The state of one pxc_classify6() call (on its stack). */
struct parse6 {
  const struct pxc_config *cfg;
  struct pxc_request *req;
  struct entry link_layer;     /* option 79 of the innermost relay with
                                  one; data NULL if none */
  enum pxc_class vendor;       /* what the kept option 16 entry announces */
  enum pxc_agent vendor_agent; /* ...and which program, if it says */
  unsigned vendor_seen;        /* entries of vendor_entries[] */
  struct entry vendor_entries[SEEN_MAX];
  enum pxc_class vendor_classes[SEEN_MAX];
  bool has_nii;
  bool edk2_ia; /* the IA_NA has EDK2's T1 = T2 = ~0 */
};

/* ------------------------------------------------------------------ */
/* Relays                                                              */

/* Option 18 of a relay: kept up to PXC_IFACE_ID_MAX bytes, its length as
   sent. */
static void
read_interface_id(struct pxc_request *req, const struct tlv6 *opt)
{
  size_t keep = opt->len < PXC_IFACE_ID_MAX ? opt->len : PXC_IFACE_ID_MAX;

  memcpy(req->interface_id, opt->data, keep);
  req->interface_id_len = opt->len;
}

/*
 * One relay message (MSG, LEN bytes, its type checked): keep its header
 * and options 18 and 79, and return its relay message (9; the first)
 * in INNER.  False, with an error raised, if there is none to go on with.
 * An option past the end raises PXC_ERR_OPT_OVERRUN, but a relay message
 * before it still counts.
 */
static bool
read_relay(struct parse6 *ps, const uint8_t *msg, size_t len,
           struct entry *inner)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(msg, len);
  struct tlv6 opt;
  bool overrun;

  if (len < DHCP6_RELAY_HEADER_LEN) {
    req->errors |= PXC_ERR_SHORT;
    return false;
  }
  if (req->relay_depth == PXC_RELAY_MAX) {
    req->errors |= PXC_ERR_RELAY_DEPTH;
    return false;
  }
  req->relay_depth++;
  read_bytes(&r, NULL, 2); /* type, hop count */
  read_bytes(&r, req->link_address, sizeof(req->link_address));
  read_bytes(&r, req->peer_address, sizeof(req->peer_address));
  req->interface_id_len = 0; /* the innermost relay's, or none */
  inner->data = NULL;
  while (tlv6_next(&r, &opt, &overrun)) {
    if (opt.code == DHCP6_RELAY_MSG && !inner->data)
      *inner = (struct entry){opt.data, opt.len};
    else if (opt.code == DHCP6_INTERFACE_ID)
      read_interface_id(req, &opt);
    else if (opt.code == DHCP6_CLIENT_LINKLAYER)
      ps->link_layer = (struct entry){opt.data, opt.len};
  }
  if (overrun)
    req->errors |= PXC_ERR_OPT_OVERRUN;
  if (!inner->data) {
    req->errors |= PXC_ERR_RELAY_MSG;
    return false;
  }
  return true;
}

/* True for the message types of a relay (RFC 8415 §9). */
static bool
is_relay(uint8_t type)
{
  return type == DHCP6_RELAY_FORW || type == DHCP6_RELAY_REPL;
}

/*
 * Unwrap MSG (*LEN bytes) to the client's message: the relays' headers
 * and options read on the way.  NULL if a relay could not be read; the
 * type of the last message reached is msg_type either way.
 */
static const uint8_t *
unwrap_relays(struct parse6 *ps, const uint8_t *msg, size_t *len)
{
  struct entry inner;

  while (*len > 0 && is_relay(msg[0])) {
    ps->req->msg_type = msg[0];
    if (!read_relay(ps, msg, *len, &inner))
      return NULL;
    msg = inner.data;
    *len = inner.len;
  }
  return msg;
}

/* ------------------------------------------------------------------ */
/* The client message's options                                        */

/* Minimum length of each DUID type, type included (RFC 8415 §11.2-11.4,
   RFC 6355 §4: LLT hwtype + time, EN enterprise, LL hwtype, UUID exactly
   16 more); 0 for a type read as opaque. */
static const uint8_t duid_min_len[] = {
    [DUID_LLT] = 8,
    [DUID_EN] = 6,
    [DUID_LL] = 4,
    [DUID_UUID] = 18,
};

/* Option 1, the client's DUID (the first one): kept whole. */
static void
read_client_id(struct parse6 *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  uint16_t type;

  if (req->duid_len)
    return;
  if (len < 2 || len > PXC_DUID_MAX) {
    req->errors |= PXC_ERR_DUID;
    return;
  }
  type = be16_at(data);
  if (type < COUNT(duid_min_len) &&
      (len < duid_min_len[type] ||
       (type == DUID_UUID && len != duid_min_len[type]))) {
    req->errors |= PXC_ERR_DUID;
    return;
  }
  memcpy(req->duid, data, len);
  req->duid_len = (uint8_t)len;
  req->duid_type = type;
}

/*
 * Step to the next entry of a class list (RFC 8415 §21.15, §21.16: a
 * 16-bit length, then that many bytes) of R into E.  False at the end,
 * with *BAD set if the entry is empty or crosses the end.
 */
static bool
next_entry(struct reader *r, struct entry *e, bool *bad)
{
  uint16_t n;

  *bad = false;
  if (r->left == 0)
    return false;
  if (!read_be16(r, &n) || n == 0 || n > r->left) {
    *bad = true;
    return false;
  }
  e->data = r->p;
  e->len = n;
  read_bytes(r, NULL, n);
  return true;
}

/* True if user class E is one REQ keeps already. */
static bool
user_class_kept(const struct pxc_request *req, const struct entry *e)
{
  for (unsigned i = 0; i < req->user_class_count; i++)
    if (req->user_class_at[i].len == e->len &&
        memcmp(req->user_class_text + req->user_class_at[i].off, e->data,
               e->len) == 0)
      return true;
  return false;
}

/* Option 15, every instance: each entry kept in the user class text, as
   long as it has room. */
static void
read_user_class(struct parse6 *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(data, len);
  struct entry e;
  bool bad;

  if (len == 0)
    req->errors |= PXC_ERR_USER_CLASS;
  while (next_entry(&r, &e, &bad)) {
    size_t used = req->user_class_len;
    if (user_class_kept(req, &e))
      req->warnings |= PXC_WARN_CLASS_REPEATED;
    if (req->user_class_count == PXC_MAX_USER_CLASS ||
        e.len > PXC_TEXT_MAX - used) {
      req->warnings |= PXC_WARN_USER_CLASS_MANY;
      continue;
    }
    memcpy(req->user_class_text + used, e.data, e.len);
    req->user_class_at[req->user_class_count].off = (uint8_t)used;
    req->user_class_at[req->user_class_count].len = (uint8_t)e.len;
    req->user_class_count++;
    req->user_class_len = (uint8_t)(used + e.len);
  }
  if (bad)
    req->errors |= PXC_ERR_USER_CLASS;
}

/* Keep vendor class entry E (of an instance with ENTERPRISE) as the
   request's vendor class, announcing CLS and AGENT: its text (at most
   PXC_TEXT_MAX bytes) and the Arch/UNDI digits that follow its prefix. */
static void
keep_vendor_entry(struct parse6 *ps, const struct entry *e, uint32_t enterprise,
                  enum pxc_class cls, enum pxc_agent agent)
{
  struct pxc_request *req = ps->req;
  size_t keep = e->len < PXC_TEXT_MAX ? e->len : PXC_TEXT_MAX;

  memcpy(req->vendor_class_text, e->data, keep);
  req->vendor_class_len = (uint8_t)keep;
  req->has_vendor_class = true;
  req->has_enterprise = true;
  req->enterprise = enterprise;
  req->has_arch60 = req->has_undi60 = false;
  read_vendor_string_arch(req, e->data, e->len);
  ps->vendor = cls;
  ps->vendor_agent = agent;
}

/* True if entry E, announcing CLS, repeats one seen before: the same
   bytes, or the same class (a dhcp-vendorclass rule would match both).
   Remembers E. */
static bool
vendor_entry_repeated(struct parse6 *ps, const struct entry *e,
                      enum pxc_class cls)
{
  bool repeated = false;

  for (unsigned i = 0; i < ps->vendor_seen; i++)
    repeated |= (cls != PXC_CLASS_NONE && ps->vendor_classes[i] == cls) ||
                (ps->vendor_entries[i].len == e->len &&
                 memcmp(ps->vendor_entries[i].data, e->data, e->len) == 0);
  if (ps->vendor_seen < SEEN_MAX) {
    ps->vendor_entries[ps->vendor_seen] = *e;
    ps->vendor_classes[ps->vendor_seen++] = cls;
  }
  return repeated;
}

/*
 * Option 16, every instance: an enterprise number, then entries.  The
 * entry kept is the first that announces a class (by the same prefixes as
 * option 60), else the very first.  The enterprise number is not judged:
 * EDK2 and iPXE send 343, U-Boot 0 by default, and EDK2's HTTP Boot
 * checks none.
 */
static void
read_vendor_class(struct parse6 *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(data, len);
  uint32_t enterprise;
  struct entry e;
  bool bad;

  if (!read_be32(&r, &enterprise) || r.left == 0) {
    req->errors |= PXC_ERR_VENDOR_CLASS;
    return;
  }
  while (next_entry(&r, &e, &bad)) {
    enum pxc_agent agent;
    enum pxc_class cls = vendor_string_class(e.data, e.len, &agent);
    if (req->vendor_class_count < UINT8_MAX)
      req->vendor_class_count++;
    if (vendor_entry_repeated(ps, &e, cls))
      req->warnings |= PXC_WARN_CLASS_REPEATED;
    if (!req->has_vendor_class ||
        (ps->vendor == PXC_CLASS_NONE && cls != PXC_CLASS_NONE))
      keep_vendor_entry(ps, &e, enterprise, cls, agent);
  }
  if (bad)
    req->errors |= PXC_ERR_VENDOR_CLASS;
}

/* Option 61: every value of every instance. */
static void
read_client_arch(struct parse6 *ps, const uint8_t *data, size_t len)
{
  req_read_arch_values(ps->req, data, len);
}

/* Option 62 (the first): type, major, minor, as option 94. */
static void
read_client_nii(struct parse6 *ps, const uint8_t *data, size_t len)
{
  if (ps->has_nii)
    return;
  ps->has_nii = true;
  req_read_ndi(ps->req, data, len);
}

/*
 * Option 3, IA_NA (the first): its IAID, and whether T1 and T2 are both
 * 0xffffffff, which EDK2's Dhcp6Dxe writes for every stack of it
 * (Dhcp6AppendIaOption(), Dhcp6Utility.c; the g* captures) and iPXE,
 * U-Boot and GRUB never do (0).  Sub-options are not read.
 */
static void
read_ia_na(struct parse6 *ps, const uint8_t *data, size_t len)
{
  struct pxc_request *req = ps->req;

  if (req->has_iaid || len < 12)
    return;
  req->has_iaid = true;
  req->iaid = be32_at(data);
  ps->edk2_ia =
      be32_at(data + 4) == UINT32_MAX && be32_at(data + 8) == UINT32_MAX;
}

typedef void option6_reader(struct parse6 *ps, const uint8_t *data, size_t len);

/* The reader of each option code the classifier reads. */
static option6_reader *const readers6[] = {
    [DHCP6_CLIENT_ID] = read_client_id,
    [DHCP6_IA_NA] = read_ia_na,
    [DHCP6_USER_CLASS] = read_user_class,
    [DHCP6_VENDOR_CLASS] = read_vendor_class,
    [DHCP6_CLIENT_ARCH] = read_client_arch,
    [DHCP6_CLIENT_NII] = read_client_nii,
};

/* The client message MSG (LEN bytes): header, then one walk of its
   options. */
static void
read_message(struct parse6 *ps, const uint8_t *msg, size_t len)
{
  struct pxc_request *req = ps->req;
  struct reader r = reader_of(msg, len);
  struct tlv6 opt;
  bool overrun;

  if (len > 0)
    req->msg_type = msg[0];
  if (len < DHCP6_HEADER_LEN) {
    req->errors |= PXC_ERR_SHORT;
    return;
  }
  req->xid = be32_at(msg) & 0xffffff;
  read_bytes(&r, NULL, DHCP6_HEADER_LEN);
  while (tlv6_next(&r, &opt, &overrun))
    if (opt.code < COUNT(readers6) && readers6[opt.code])
      readers6[opt.code](ps, opt.data, opt.len);
  if (overrun)
    req->errors |= PXC_ERR_OPT_OVERRUN;
}

/* ------------------------------------------------------------------ */
/* Decisions on the whole request                                      */

/* Keep the hardware address of type HWTYPE in ADDR (LEN bytes) as the
   request's MAC from SOURCE, if the BOOTP-sized fields can hold it. */
static bool
keep_mac(struct pxc_request *req, uint16_t hwtype, const uint8_t *addr,
         size_t len, enum pxc_mac_source source)
{
  if (hwtype > UINT8_MAX || len == 0 || len > sizeof(req->chaddr))
    return false;
  req->htype = (uint8_t)hwtype;
  req->hlen = (uint8_t)len;
  memcpy(req->chaddr, addr, len);
  req->mac_source = source;
  return true;
}

/*
 * The client's MAC: option 79 (RFC 6939: hwtype, address), as dnsmasq
 * takes it, else the address of a DUID-LL (U-Boot, GRUB) or DUID-LLT
 * (EDK2 without an SMBIOS UUID: made on one NIC, kept for all; so
 * mac_source says which).
 */
static void
settle_mac(struct parse6 *ps)
{
  struct pxc_request *req = ps->req;
  const struct entry *ll = &ps->link_layer;

  req->mac_source = PXC_MAC_NONE;
  if (ll->data) {
    if (ll->len < 3 || ll->len - 2u > sizeof(req->chaddr))
      req->errors |= PXC_ERR_LINK_LAYER;
    else if (keep_mac(req, be16_at(ll->data), ll->data + 2, ll->len - 2u,
                      PXC_MAC_RELAY))
      return;
  }
  if (req->duid_type == DUID_LL)
    keep_mac(req, be16_at(req->duid + 2), req->duid + 4, req->duid_len - 4u,
             PXC_MAC_DUID_LL);
  else if (req->duid_type == DUID_LLT)
    keep_mac(req, be16_at(req->duid + 2), req->duid + 8, req->duid_len - 8u,
             PXC_MAC_DUID_LLT);
}

/* True if one of REQ's user classes is that of a dhcp-ipxe-own identity
   of CFG: the site's own iPXE build, whose user-class setting changes
   the DHCPv6 user class too (dhcpv6.md §2.5). */
static bool
has_own_user_class(const struct pxc_config *cfg, const struct pxc_request *req)
{
  struct pxc_bytes uc;

  for (size_t k = 0; cfg && k < cfg->identity_count; k++) {
    const struct identity *id = &cfg->identities[k];
    for (size_t i = 0; id->user_class && (uc = pxc_user_class(req, i)).data;
         i++)
      if (uc.len == id->user_class_len &&
          memcmp(uc.data, id->user_class, uc.len) == 0)
        return true;
  }
  return false;
}

/*
 * The class and the agent, by the same precedence as DHCPv4's
 * decide_class(): Etherboot's vendor class, then the user class (iPXE
 * sends a PXEClient vendor class too), then a U-Boot architecture, then
 * the vendor class (x86 U-Boot sends 61 = 0, so its "U-Boot" entry is
 * the surer mark).  Without option 175 (or DHCPv4's 250 and GRUB's
 * parameter list) nothing else tells a program apart.
 */
static enum pxc_class
decide_class6(const struct parse6 *ps)
{
  struct pxc_request *req = ps->req;
  enum pxc_agent agent = PXC_AGENT_NONE;
  enum pxc_class by_user_class = req_user_class_program(req, &agent);

  if (ps->vendor == PXC_CLASS_ETHERBOOT)
    return PXC_CLASS_ETHERBOOT;
  if (by_user_class != PXC_CLASS_NONE) {
    req->agent = (uint8_t)agent;
    return by_user_class;
  }
  if (has_own_user_class(ps->cfg, req))
    return PXC_CLASS_IPXE;
  if ((req_primary_families(req) & PXC_FAM_UBOOT) ||
      req->arch93_raw == UBOOT_ARCH_ARM)
    return PXC_CLASS_UBOOT;
  req->agent = (uint8_t)ps->vendor_agent;
  return ps->vendor;
}

/*
 * A DUID-UUID as the machine's UUID, in canonical (RFC 4122) order, as
 * option 97's.  RFC 6355 sends that order, and so does iPXE; EDK2 copies
 * the SMBIOS bytes, whose first three fields are little-endian
 * (Dhcp6GenerateClientId(); dhcpv6.md §2.3), so the UUID of EDK2 is
 * turned round: an EDK2 class (PXE, HTTP Boot), or EDK2's IA_NA
 * lifetimes (its IP stack's messages and RELEASEs, which name no class,
 * carry the same DUID).  Any other sender is taken at the RFC's word.
 */
static void
settle_uuid(const struct parse6 *ps)
{
  struct pxc_request *req = ps->req;
  const uint8_t *u = req->duid + 2;

  if (req->duid_type != DUID_UUID)
    return;
  req->has_uuid = true;
  if (req->fw_class != PXC_CLASS_PXE && req->fw_class != PXC_CLASS_HTTP_BOOT &&
      !ps->edk2_ia) {
    memcpy(req->uuid, u, 16);
    return;
  }
  store_be32(req->uuid, le32_at(u));
  store_be16(req->uuid + 4, le16_at(u + 4));
  store_be16(req->uuid + 6, le16_at(u + 6));
  memcpy(req->uuid + 8, u + 8, 8);
  req->warnings |= PXC_WARN_UUID_EDK2;
}

void
pxc_classify6(const struct pxc_config *cfg, const uint8_t *pkt, size_t len,
              struct pxc_request *req)
{
  struct parse6 ps = {.cfg = cfg,
                      .req = req,
                      .vendor = PXC_CLASS_NONE,
                      .vendor_agent = PXC_AGENT_NONE};
  const uint8_t *msg;

  if (!req)
    return;
  if (!pkt)
    len = 0;
  /* the byte arrays are read only up to their lengths */
  zero_bytes(req, offsetof(struct pxc_request, vendor_class_text));
  memset(&req->ip_family, 0, PXC_REQUEST_V6_FIELDS);
  req->ip_family = PXC_IPV6;
  msg = unwrap_relays(&ps, pkt, &len);
  if (msg)
    read_message(&ps, msg, len);
  else if (len == 0)
    req->errors |= PXC_ERR_SHORT;
  settle_mac(&ps);
  req_resolve_arch(req, ps.vendor, cfg);
  req_check_undi(req);
  req->fw_class = decide_class6(&ps);
  settle_uuid(&ps);
  req_check_class(req);
  req->fingerprint = req_fingerprint(req);
}
