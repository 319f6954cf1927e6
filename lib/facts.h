/*
 * Facts of tables.c that the classifier needs and the public API does not
 * show.  tables.c depends on nothing else of lib/ but wire.h.
 */
#ifndef PXC_FACTS_H
#define PXC_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many option 93 codes the architecture table names: 0 up to one
   less than this, each at its code (pxc_arch_by_code() is NULL from here
   on; tables.c checks the count).  The classifier tests a code against
   it without a call. */
#define PXC_ARCH_CODES 42

/* True if a client with this MAC (MAC_LEN bytes) and option 97 (raw, type
   byte first, UUID97_LEN bytes) is a Raspberry Pi bootloader. */
bool pxc_is_raspberry_pi(const uint8_t *mac, size_t mac_len,
                         const uint8_t *uuid97, size_t uuid97_len);

/* The HTTP Boot code of the firmware family of UEFI PXE code CODE (11
   gives 19), 0 if there is none: for HTTPClient requests that name the
   PXE code. */
uint16_t pxc_arch_http_sibling(uint32_t code);

#endif /* PXC_FACTS_H */
