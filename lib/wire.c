/*
 * The bottom layer's two definitions: the DHCP magic cookie and the one
 * hash of the library (see wire.h).  Depends on nothing else of lib/.
 */
#include "wire.h"

/* RFC 2131 §3: the first four octets of the options field. */
const uint8_t dhcp_cookie[DHCP_COOKIE_LEN] = {99, 130, 83, 99};

/* FNV-1a's 64-bit prime. */
#define FNV_PRIME 0x100000001b3ULL

/*
 * Mix LEN bytes of DATA into SEED: FNV-1a's xor-multiply step over eight
 * bytes at a time (memcpy keeps the loads legal at any alignment; each
 * step folds the high bits down, since a multiply only carries upwards),
 * the tail byte by byte, then a final mix (MurmurHash3's fmix64) so that
 * every output bit depends on every input bit and the low bits of the
 * result can index the tracker's buckets.  The result can seed the next
 * call, to hash a sequence of pieces.
 */
uint64_t
pxc_hash(uint64_t seed, const void *data, size_t len)
{
  const uint8_t *p = data;
  uint64_t h = seed;

  if (!p)
    len = 0;
  for (; len >= 8; len -= 8, p += 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * FNV_PRIME;
    h ^= h >> 29;
  }
  for (; len > 0; len--, p++)
    h = (h ^ *p) * FNV_PRIME;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}
