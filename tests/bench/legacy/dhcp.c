/*
 * A bounds-checked, zero-copy index of the options of one DHCPv4 packet.
 *
 * One pass records, for every option code, where its first fragment lies
 * and how many fragments it has: options field first, then the file and
 * sname fields when option 52 overloads them (RFC 2131 §4.1, RFC 2132
 * §9.3).  Options split into several fragments (RFC 3396) are joined on
 * demand into a caller-supplied scratch buffer, so a normal packet is read
 * without a single copy.  Every read is checked against the length of the
 * area it is in; a malformed option stops the walk of its area and raises
 * an error flag, and what was read before it is kept.
 */
#include <string.h>

#include "internal.h"

static const uint8_t dhcp_cookie[4] = {99, 130, 83, 99};

enum tlv_result { TLV_END, TLV_NO_END, TLV_OVERRUN };

/*
 * Walk code/length/value items (DHCP options, or the sub-options of an
 * encapsulating option), calling FN for each: PAD is skipped, END stops.
 * A length that would cross the end of DATA stops the walk too: what came
 * before it has been seen, nothing after it is read.
 */
static enum tlv_result
tlv_walk(const uint8_t *data, size_t len, dhcp_subopt_fn *fn, void *ctx)
{
  while (len > 0) {
    uint8_t code = data[0];
    if (code == DHCP_PAD) {
      data++;
      len--;
      continue;
    }
    if (code == DHCP_END)
      return TLV_END;
    if (len < 2 || data[1] > len - 2)
      return TLV_OVERRUN;
    fn(ctx, code, data + 2, data[1]);
    len -= 2 + (size_t)data[1];
    data += 2 + (size_t)data[1];
  }
  return TLV_NO_END;
}

/* Walk the options of one area; an overrun raises the area's error flag.
   Returns false if the area ended without END. */
static bool
walk_area(struct dhcp_index *ix, const struct dhcp_area *area,
          dhcp_subopt_fn *fn, void *ctx)
{
  enum tlv_result r = tlv_walk(area->start, area->len, fn, ctx);

  if (r == TLV_OVERRUN)
    ix->errors |= area->error;
  return r != TLV_NO_END;
}

/* Index one option fragment (CTX: the index); the first one found is the
   one kept. */
static void
record_option(void *ctx, uint8_t code, const uint8_t *data, uint8_t len)
{
  struct dhcp_index *ix = ctx;
  struct dhcp_slot *slot = &ix->slot[code];

  if (!bit_test(ix->seen, code)) {
    bit_set(ix->seen, code);
    slot->data = data;
    slot->len = len;
    slot->fragments = 1;
  } else if (slot->fragments < UINT16_MAX) {
    slot->fragments++;
  }
}

/* Add an area to walk. */
static void
add_area(struct dhcp_index *ix, const uint8_t *start, size_t len,
         uint32_t error)
{
  struct dhcp_area *area = &ix->areas[ix->area_count++];

  area->start = start;
  area->len = len;
  area->error = error;
}

/*
 * Read option 52 (only meaningful in the options field, RFC 2131 §4.1) and
 * add the overloaded file/sname areas in RFC 3396 order.
 */
static void
add_overload_areas(struct dhcp_index *ix, const uint8_t *pkt, size_t len)
{
  const struct dhcp_slot *slot = &ix->slot[DHCP_OVERLOAD];
  uint8_t overload;

  if (!bit_test(ix->seen, DHCP_OVERLOAD))
    return;
  if (slot->len != 1 || slot->data[0] < 1 || slot->data[0] > 3) {
    ix->errors |= PXC_ERR_OVERLOAD;
    return;
  }
  overload = slot->data[0];
  if (len < BOOTP_HEADER_LEN)
    return;
  if (overload & DHCP_OVERLOAD_FILE)
    add_area(ix, pkt + BOOTP_FILE_OFF, BOOTP_FILE_LEN, PXC_ERR_OVERLOAD);
  if (overload & DHCP_OVERLOAD_SNAME)
    add_area(ix, pkt + BOOTP_SNAME_OFF, BOOTP_SNAME_LEN, PXC_ERR_OVERLOAD);
}

/*
 * Build the option index of PKT (LEN bytes).  SCRATCH (SCRATCH_SIZE bytes)
 * receives joined split options later; it must outlive the index.
 */
void
dhcp_index_build(struct dhcp_index *ix, const uint8_t *pkt, size_t len,
                 uint8_t *scratch, size_t scratch_size)
{
  memset(ix->seen, 0, sizeof(ix->seen));
  ix->area_count = 0;
  ix->errors = 0;
  ix->scratch = scratch;
  ix->scratch_size = scratch_size;
  ix->scratch_used = 0;

  if (len < BOOTP_HEADER_LEN) {
    ix->errors |= PXC_ERR_SHORT;
    return;
  }
  if (len < DHCP_OPTIONS_OFF ||
      memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, sizeof(dhcp_cookie)) != 0) {
    ix->errors |= PXC_ERR_COOKIE;
    return;
  }

  add_area(ix, pkt + DHCP_OPTIONS_OFF, len - DHCP_OPTIONS_OFF,
           PXC_ERR_OPT_OVERRUN);
  if (!walk_area(ix, &ix->areas[0], record_option, ix))
    ix->errors |= PXC_ERR_NO_END;

  add_overload_areas(ix, pkt, len);
  for (unsigned i = 1; i < ix->area_count; i++)
    walk_area(ix, &ix->areas[i], record_option, ix);
}

struct join {
  uint8_t code;
  uint8_t *out;
  size_t room;
  size_t used;
  bool overflow;
};

/* Append one fragment of the option being joined (CTX: the join). */
static void
join_fragment(void *ctx, uint8_t code, const uint8_t *data, uint8_t len)
{
  struct join *j = ctx;

  if (code != j->code || j->overflow)
    return;
  if (len > j->room - j->used) {
    j->overflow = true;
    return;
  }
  memcpy(j->out + j->used, data, len);
  j->used += len;
}

/*
 * Concatenate every fragment of CODE into scratch (RFC 3396 §5: in the
 * order options, file, sname).  If scratch is too small the first
 * fragment alone is kept and PXC_ERR_SPLIT raised.
 */
static void
join_split_option(struct dhcp_index *ix, uint8_t code)
{
  struct dhcp_slot *slot = &ix->slot[code];
  struct join j = {
      .code = code,
      .out = ix->scratch + ix->scratch_used,
      .room = ix->scratch_size - ix->scratch_used,
  };

  for (unsigned i = 0; i < ix->area_count; i++)
    walk_area(ix, &ix->areas[i], join_fragment, &j);

  slot->fragments = 1;
  if (j.overflow) {
    ix->errors |= PXC_ERR_SPLIT;
    return;
  }
  slot->data = j.out;
  slot->len = j.used;
  ix->scratch_used += j.used;
}

/* Look up option CODE, joining split fragments. False if absent. */
bool
dhcp_index_get(struct dhcp_index *ix, uint8_t code, struct pxc_bytes *out)
{
  if (!bit_test(ix->seen, code))
    return false;
  if (ix->slot[code].fragments > 1)
    join_split_option(ix, code);
  out->data = ix->slot[code].data;
  out->len = ix->slot[code].len;
  return true;
}

/*
 * Walk the sub-options of an encapsulated option (iPXE 175, PXE 43): code,
 * length, value; PAD skipped, END stops.  No order and no END is assumed.
 * Returns false if a sub-option's length runs past the end of DATA.
 */
bool
dhcp_walk_encap(const uint8_t *data, size_t len, dhcp_subopt_fn *fn, void *ctx)
{
  return tlv_walk(data, len, fn, ctx) != TLV_OVERRUN;
}
