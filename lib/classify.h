/*
 * What the DHCPv4 classifier (classify.c) shares with the DHCPv6 one
 * (classify6.c): the readers of the values both families send alike
 * (architectures, UNDI, a vendor class string) and the decisions on a
 * whole request.  One place per rule: the families differ only in where
 * the values lie in the packet.  Internal (hidden), not in pxeclass.h.
 * The req_ functions are out-of-line copies of classify.c's own static
 * ones, which its DHCPv4 path keeps inlined.
 */
#ifndef PXC_CLASSIFY_H
#define PXC_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pxeclass.h"

/* The bytes of struct pxc_request's DHCPv6 scalars (ip_family up to
   duid[]), which both classifiers clear besides everything before the
   text arrays. */
#define PXC_REQUEST_V6_FIELDS                                                  \
  (offsetof(struct pxc_request, duid) - offsetof(struct pxc_request, ip_family))

/* U-Boot's option 93 values before IANA assigned 21–24: 0x100, "an ARM
   U-Boot" (board headers' CONFIG_BOOTP_PXE_CLIENTARCH, e.g.
   vexpress_aemv8a.h, thunderx_88xx.h, vexpress_ca9x4.h). */
#define UBOOT_ARCH_ARM 0x100

/* Zero N bytes at P, in pieces of 64: a memset of a constant 64 bytes
   becomes four vector stores, where one of the request's 189 becomes a
   "rep stos", tens of cycles to start. */
static inline void
zero_bytes(void *p, size_t n)
{
  uint8_t *q = p;

  for (; n >= 64; n -= 64, q += 64)
    memset(q, 0, 64);
  memset(q, 0, n);
}

/* Append the 16-bit architecture values of DATA (LEN bytes: option 93,
   or DHCPv6 61) to REQ's list: empty or odd-length raises
   PXC_ERR_ARCH, more than the list holds PXC_WARN_ARCH_MANY. */
void req_read_arch_values(struct pxc_request *req, const uint8_t *data,
                          size_t len);

/* The network interface identifier (option 94, DHCPv6 62): type 1
   (UNDI), major, minor; anything else raises PXC_ERR_UNDI. */
void req_read_ndi(struct pxc_request *req, const uint8_t *data, size_t len);

/* The class a vendor class string (option 60, or one entry of DHCPv6
   option 16) announces by its prefix, PXC_CLASS_NONE for none; the
   program it names (or PXC_AGENT_NONE) in *AGENT. */
enum pxc_class vendor_string_class(const uint8_t *data, size_t len,
                                   enum pxc_agent *agent);

/* Read the ":Arch:NNNNN:UNDI:yyyzzz" that may follow the prefix of a
   PXEClient/HTTPClient vendor class string into REQ (arch60, undi60). */
void read_vendor_string_arch(struct pxc_request *req, const uint8_t *data,
                             size_t len);

/* The program the user classes of REQ name (gPXE, iPXE, FreeBSD's
   loader, an agent) or none; the agent, if one is named, in *AGENT. */
enum pxc_class req_user_class_program(const struct pxc_request *req,
                                      enum pxc_agent *agent);

/* Families of REQ's primary architecture, 0 if none or unassigned. */
uint32_t req_primary_families(const struct pxc_request *req);

/* Settle the architecture of REQ (the list, else the vendor class's
   Arch digits; the 7/9 quirk of CFG; each value as the firmware VENDOR
   announced means it) and its warnings. */
void req_resolve_arch(struct pxc_request *req, enum pxc_class vendor,
                      const struct pxc_config *cfg);

/* The UNDI consistency warning, and the warnings that need the class. */
void req_check_undi(struct pxc_request *req);
void req_check_class(struct pxc_request *req);

/* The identity hash of REQ (see struct pxc_request.fingerprint). */
uint64_t req_fingerprint(const struct pxc_request *req);

#endif /* PXC_CLASSIFY_H */
