/*
 * The 0.1 classifier (see README.md) behind a plain interface that does
 * not include either version of pxeclass.h, so the tests and the
 * benchmark can hold old and new results side by side.
 */
#ifndef PXC_LEGACY_H
#define PXC_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEGACY_TEXT_MAX 1024 /* 0.1's scratch size */

/* Every field of 0.1's struct pxc_request, the views copied out. */
struct legacy_result {
  uint8_t op, htype, hlen, msg_type;
  uint32_t xid;
  uint8_t chaddr[16];
  int fw_class;
  int arch_source;
  uint16_t arch, arch93_raw, arch60;
  bool has_arch60;
  uint8_t arch_count;
  uint16_t arch_list[8];
  bool has_undi, has_undi60;
  uint8_t undi_major, undi_minor;
  uint16_t undi60_major, undi60_minor;
  bool has_boot_item;
  uint16_t boot_item_type, boot_item_layer;
  bool has_uuid;
  uint8_t uuid[16];
  bool ipxe_present, has_version, has_busid;
  uint8_t version[3];
  uint8_t bus_type;
  uint16_t bus_vendor, bus_device;
  uint8_t subopts[32];
  uint8_t features[32];
  uint64_t fingerprint;
  uint32_t errors, warnings;
  bool has_vendor_class;
  size_t vendor_class_len;
  uint8_t vendor_class[LEGACY_TEXT_MAX];
  bool user_class_rfc3004;
  uint8_t user_class_count;
  size_t user_class_len[8];
  uint8_t user_class[8][LEGACY_TEXT_MAX];
};

/* Classify PKT (LEN bytes) with the 0.1 code; ARCH9_IS_EBC as
   dhcp-pxe-arch9=ebc. */
void legacy_classify(bool arch9_is_ebc, const uint8_t *pkt, size_t len,
                     struct legacy_result *out);

/* The 0.1 pxc_classify() alone into a static request (for timing);
   returns the class so the call cannot be optimised away. */
int legacy_classify_only(const uint8_t *pkt, size_t len);

#endif
