/*
 * Evaluation: a classified request judged against a finished config (and
 * what the chain tracker knows of its client), then each rule asked
 * whether it sets its tag.  Nothing here writes: the tracker learns of the
 * request only when the caller hands the verdict to pxc_tracker_record().
 */
#include <string.h>

#include "config.h"
#include "wire.h"

/* Compare V with the test's version using the test's operator. */
bool
version_test_matches(const struct version_test *t, const uint8_t v[3])
{
  int cmp = memcmp(v, t->version, 3);

  switch (t->op) {
  case OP_EQ:
    return cmp == 0;
  case OP_NE:
    return cmp != 0;
  case OP_LT:
    return cmp < 0;
  case OP_LE:
    return cmp <= 0;
  case OP_GT:
    return cmp > 0;
  case OP_GE:
    return cmp >= 0;
  }
  return false;
}

/* True if every bit set in WANT is set in HAVE (16-byte bitmaps). */
static bool
bits_subset(const uint8_t *want, const uint8_t *have)
{
  uint64_t w[2], h[2];

  memcpy(w, want, 16);
  memcpy(h, have, 16);
  return ((w[0] & ~h[0]) | (w[1] & ~h[1])) == 0;
}

/* True if one of the user classes of REQ is exactly NAME (LEN bytes). */
static bool
has_user_class(const struct pxc_request *req, const char *name, size_t len)
{
  struct pxc_bytes uc;

  for (size_t i = 0; (uc = pxc_user_class(req, i)).data; i++)
    if (uc.len == len && memcmp(uc.data, name, len) == 0)
      return true;
  return false;
}

/* True if REQ meets every criterion of identity ID; CHAINED says whether
   it follows a chainload hand-out. */
static bool
identity_matches(const struct identity *id, const struct pxc_request *req,
                 bool chained)
{
  if (id->chained && !chained)
    return false;
  if (id->user_class &&
      !has_user_class(req, id->user_class, id->user_class_len))
    return false;
  if (!bits_subset(id->features, req->ipxe.features))
    return false;
  if (id->has_version && (!req->ipxe.has_version ||
                          !version_test_matches(&id->version, req->ipxe.version)))
    return false;
  return true;
}

/* own when an identity matches, vendor when none does; unknown for what
   is not iPXE or without identities. */
static enum pxc_own
judge_ownership(const struct pxc_config *cfg, const struct pxc_request *req,
                bool chained)
{
  if (req->fw_class != PXC_CLASS_IPXE || !cfg || cfg->identity_count == 0)
    return PXC_OWN_UNKNOWN;
  for (size_t i = 0; i < cfg->identity_count; i++)
    if (identity_matches(&cfg->identities[i], req, chained))
      return PXC_OWN_OWN;
  return PXC_OWN_VENDOR;
}

/* The selectors of dhcp-pxe-class that accept the judged request, as
   bits: its class, ipxe-own or ipxe-vendor, and netboot (any boot
   program: not none, not a boot agent, not an operating system).  Its
   agent is matched by the rule itself (class_rule_matches()). */
static uint32_t
request_selectors(const struct pxc_verdict *v)
{
  enum pxc_class cls = v->req->fw_class;
  uint32_t bits = (unsigned)cls < PXC_CLASS_COUNT ? 1u << cls : 0;

  if (class_is_netboot(cls))
    bits |= 1u << SELECTOR_NETBOOT;
  if (cls == PXC_CLASS_IPXE && v->own == PXC_OWN_OWN)
    bits |= 1u << SELECTOR_IPXE_OWN;
  if (cls == PXC_CLASS_IPXE && v->own == PXC_OWN_VENDOR)
    bits |= 1u << SELECTOR_IPXE_VENDOR;
  return bits;
}

void
pxc_evaluate(const struct pxc_config *cfg, const struct pxc_tracker *trk,
             const struct pxc_request *req, time_t now,
             struct pxc_verdict *verdict)
{
  if (!verdict)
    return;
  memset(verdict, 0, sizeof(*verdict));
  verdict->req = req;
  if (!req)
    return;
  if (trk)
    tracker_judge(trk, req, now, &verdict->step, &verdict->chain);
  verdict->own = judge_ownership(cfg, req, verdict->chain.follows_chainload);
  verdict->step.flags |= request_selectors(verdict) << STEP_SELECTOR_SHIFT;
}

/* ------------------------------------------------------------------ */
/* Rule matching                                                       */

static bool
class_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  return (r->u.cls.selectors & (v->step.flags >> STEP_SELECTOR_SHIFT)) != 0 ||
         (v->req->agent < 32 && (r->u.cls.agents >> v->req->agent & 1));
}

static bool
arch_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  const struct pxc_request *req = v->req;

  for (unsigned i = 0; i < req->arch_count && i < PXC_MAX_ARCH; i++) {
    if (r->u.arch.families) {
      const struct pxc_arch_info *info = pxc_arch_by_code(req->arch_list[i]);
      if (info && (info->families & r->u.arch.families))
        return true;
    }
    for (unsigned k = 0; k < r->u.arch.code_count; k++)
      if (r->u.arch.codes[k] == req->arch_list[i])
        return true;
  }
  return false;
}

static bool
feature_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  return v->req->ipxe.present &&
         bits_subset(r->u.features, v->req->ipxe.features);
}

static bool
version_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  return v->req->ipxe.has_version &&
         version_test_matches(&r->u.version, v->req->ipxe.version);
}

static bool
busid_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  const struct pxc_ipxe *ipxe = &v->req->ipxe;

  return ipxe->has_busid && ipxe->bus_type == r->u.busid.bus_type &&
         ipxe->bus_vendor == r->u.busid.vendor &&
         (r->u.busid.device < 0 || ipxe->bus_device == r->u.busid.device);
}

static bool
guard_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  (void)r;
  return v->chain.looping;
}

static bool (*const rule_matchers[RULE_KIND_COUNT])(
    const struct rule *, const struct pxc_verdict *) = {
    [RULE_CLASS] = class_rule_matches,
    [RULE_ARCH] = arch_rule_matches,
    [RULE_FEATURE] = feature_rule_matches,
    [RULE_VERSION] = version_rule_matches,
    [RULE_BUSID] = busid_rule_matches,
    [RULE_GUARD] = guard_rule_matches,
};

bool
pxc_rule_matches(const struct pxc_config *cfg, size_t i,
                 const struct pxc_verdict *verdict)
{
  const struct rule *r;

  if (!cfg || !verdict || i >= cfg->rule_count || !verdict->req)
    return false;
  r = &cfg->rules[i];
  return rule_matchers[r->kind](r, verdict);
}
