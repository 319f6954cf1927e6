/*
 * The plain interface to the 0.1 classifier (see README.md, legacy.h).
 * Compiled against the 0.1 headers of this directory.
 */
#include <string.h>

#include "internal.h"
#include "legacy.h"

/* Copy view B into OUT (room LEGACY_TEXT_MAX), its length into LEN. */
static void
copy_view(struct pxc_bytes b, uint8_t *out, size_t *len)
{
  *len = b.len < LEGACY_TEXT_MAX ? b.len : LEGACY_TEXT_MAX;
  if (*len)
    memcpy(out, b.data, *len);
}

void
legacy_classify(bool arch9_is_ebc, const uint8_t *pkt, size_t len,
                struct legacy_result *out)
{
  static struct pxc_request req;
  struct pxc_config cfg;

  memset(&cfg, 0, sizeof(cfg));
  cfg.arch9_is_ebc = arch9_is_ebc;
  pxc_classify(arch9_is_ebc ? &cfg : NULL, pkt, len, &req);
  memset(out, 0, sizeof(*out));
  out->op = req.op;
  out->htype = req.htype;
  out->hlen = req.hlen;
  out->msg_type = req.msg_type;
  out->xid = req.xid;
  memcpy(out->chaddr, req.chaddr, 16);
  out->fw_class = req.fw_class;
  out->arch_source = req.arch_source;
  out->arch = req.arch;
  out->arch93_raw = req.arch93_raw;
  out->arch60 = req.arch60;
  out->has_arch60 = req.has_arch60;
  out->arch_count = req.arch_count;
  memcpy(out->arch_list, req.arch_list, sizeof(out->arch_list));
  out->has_undi = req.has_undi;
  out->has_undi60 = req.has_undi60;
  out->undi_major = req.undi_major;
  out->undi_minor = req.undi_minor;
  out->undi60_major = req.undi60_major;
  out->undi60_minor = req.undi60_minor;
  out->has_boot_item = req.has_boot_item;
  out->boot_item_type = req.boot_item_type;
  out->boot_item_layer = req.boot_item_layer;
  out->has_uuid = req.has_uuid;
  memcpy(out->uuid, req.uuid, 16);
  out->ipxe_present = req.ipxe.present;
  out->has_version = req.ipxe.has_version;
  out->has_busid = req.ipxe.has_busid;
  memcpy(out->version, req.ipxe.version, 3);
  out->bus_type = req.ipxe.bus_type;
  out->bus_vendor = req.ipxe.bus_vendor;
  out->bus_device = req.ipxe.bus_device;
  memcpy(out->subopts, req.ipxe.subopts, 32);
  memcpy(out->features, req.ipxe.features, 32);
  out->fingerprint = req.fingerprint;
  out->errors = req.errors;
  out->warnings = req.warnings;
  out->has_vendor_class = req.vendor_class.data != NULL;
  copy_view(req.vendor_class, out->vendor_class, &out->vendor_class_len);
  out->user_class_rfc3004 = req.user_class_rfc3004;
  out->user_class_count = req.user_class_count;
  for (unsigned i = 0; i < req.user_class_count && i < 8; i++)
    copy_view(req.user_class[i], out->user_class[i], &out->user_class_len[i]);
}

int
legacy_classify_only(const uint8_t *pkt, size_t len)
{
  static struct pxc_request req;

  pxc_classify(NULL, pkt, len, &req);
  return req.fw_class;
}
