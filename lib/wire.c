/*
 * The bottom layer's two definitions: the DHCP magic cookie and the one
 * hash of the library (see wire.h).  Depends on nothing else of lib/.
 */
#include "wire.h"

/* RFC 2131 §3: the first four octets of the options field. */
const uint8_t dhcp_cookie[DHCP_COOKIE_LEN] = {99, 130, 83, 99};

/* The last LEN (1..7) bytes at P as one word, from a 4-, a 2- and a
   1-byte load as LEN needs them, LEN in the top byte. */
static inline uint64_t
tail_word(const uint8_t *p, size_t len)
{
  uint64_t w = (uint64_t)len << 56;
  size_t i = 0;

  if (len & 4) {
    uint32_t v;
    memcpy(&v, p, 4);
    w |= v;
    i = 4;
  }
  if (len & 2) {
    uint16_t v;
    memcpy(&v, p + i, 2);
    w |= (uint64_t)v << (8 * i);
    i += 2;
  }
  if (len & 1)
    w |= (uint64_t)p[i] << (8 * i);
  return w;
}

/*
 * Mix LEN bytes of DATA into SEED: FNV-1a's xor-multiply step over eight
 * bytes at a time (memcpy keeps the loads legal at any alignment; each
 * step folds the high bits down, since a multiply only carries upwards),
 * the last one to seven bytes as one more word (tail_word(): put
 * together in a register, their count in its top byte, so that trailing
 * zero bytes count), then a final mix (MurmurHash3's fmix64) so that
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
    h = pxc_hash_word(h, w);
  }
  if (len > 0)
    h = pxc_hash_word(h, tail_word(p, len));
  return pxc_hash_final(h);
}
