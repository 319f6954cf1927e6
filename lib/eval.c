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

/* own when an identity of CFG matches the iPXE request REQ, vendor when
   none does.  Out of line: its loop's registers would otherwise be saved
   by pxc_evaluate() for every request, iPXE or not. */
static __attribute__((noinline)) enum pxc_own
judge_identities(const struct pxc_config *cfg, const struct pxc_request *req,
                 bool chained)
{
  for (size_t i = 0; i < cfg->identity_count; i++)
    if (identity_matches(&cfg->identities[i], req, chained))
      return PXC_OWN_OWN;
  return PXC_OWN_VENDOR;
}

/* own when an identity matches, vendor when none does; unknown for what
   is not iPXE or without identities. */
static inline enum pxc_own
judge_ownership(const struct pxc_config *cfg, const struct pxc_request *req,
                bool chained)
{
  if (req->fw_class != PXC_CLASS_IPXE || !cfg || cfg->identity_count == 0)
    return PXC_OWN_UNKNOWN;
  return judge_identities(cfg, req, chained);
}

/* The selectors of dhcp-pxe-class that accept the judged request, as
   bits: its class, ipxe-own or ipxe-vendor, and netboot (any boot
   program: not none, not a boot agent, not an operating system).  Its
   agent is matched by the rule itself (pxc_rule_matches()). */
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
/* Rule matching: each kind is a few compares on what pxc_evaluate() and
   pxc_config_finish() prepared; one switch, no call per rule.           */

/* True if the architecture CODE is one of arch rule R's. */
static inline bool
arch_code_matches(const struct rule *r, uint16_t code)
{
  if (code < 64)
    return (r->u.arch.low >> code) & 1;
  for (unsigned k = 0; k < r->u.arch.code_count; k++)
    if (r->u.arch.codes[k] == code)
      return true;
  return false;
}

static inline bool
arch_rule_matches(const struct rule *r, const struct pxc_request *req)
{
  for (unsigned i = 0; i < req->arch_count && i < PXC_MAX_ARCH; i++)
    if (arch_code_matches(r, req->arch_list[i]))
      return true;
  return false;
}

static inline bool
busid_rule_matches(const struct rule *r, const struct pxc_ipxe *ipxe)
{
  return ipxe->has_busid && ipxe->bus_type == r->u.busid.bus_type &&
         ipxe->bus_vendor == r->u.busid.vendor &&
         (r->u.busid.device < 0 || ipxe->bus_device == r->u.busid.device);
}

/* True if rule R sets its tag for the judged request V (REQ = V->req),
   whose selector bits are SELECTORS: the one test of each kind, for
   pxc_rule_matches() and pxc_rules_matched() alike.  Class rules, most
   of a config, are tested before the switch: its jump table costs every
   rule a bounds test, a load and an indirect jump. */
static inline __attribute__((always_inline)) bool
rule_matches(const struct rule *r, const struct pxc_verdict *v,
             const struct pxc_request *req, uint32_t selectors)
{
  if (r->kind == RULE_CLASS)
    return (r->u.cls.selectors & selectors) != 0 ||
           (req->agent < 32 && (r->u.cls.agents >> req->agent & 1));
  switch (r->kind) {
  case RULE_CLASS:
    break;
  case RULE_ARCH:
    return arch_rule_matches(r, req);
  case RULE_FEATURE:
    return req->ipxe.present && bits_subset(r->u.features, req->ipxe.features);
  case RULE_VERSION:
    return req->ipxe.has_version &&
           version_test_matches(&r->u.version, req->ipxe.version);
  case RULE_BUSID:
    return busid_rule_matches(r, &req->ipxe);
  case RULE_GUARD:
    return v->chain.looping;
  case RULE_KIND_COUNT:
    break;
  }
  return false;
}

bool
pxc_rule_matches(const struct pxc_config *cfg, size_t i,
                 const struct pxc_verdict *verdict)
{
  if (!cfg || !verdict || !verdict->req || i >= cfg->rule_count)
    return false;
  return rule_matches(&cfg->rules[i], verdict, verdict->req,
                      verdict->step.flags >> STEP_SELECTOR_SHIFT);
}

/* pxc_rules_matched() on a finished config: each word ORs the rules of
   the request's key bits and arch codes from the config's tables
   (build_match_tables()), then the other rules are tested one by one,
   those that need option 175 only when the request has it.
   The same answers as rule_matches(): a class rule matches when any key
   bit of the request is one of the rule's, an arch rule when any code
   is, the guard when the client loops. */
static size_t
rules_matched_by_table(const struct pxc_config *cfg,
                       const struct pxc_verdict *v, uint64_t *bits,
                       size_t words)
{
  const struct pxc_request *req = v->req;
  uint32_t selectors = v->step.flags >> STEP_SELECTOR_SHIFT;
  uint64_t key =
      class_key(selectors, v->chain.looping, req->agent) & cfg->key_used;
  size_t n = (cfg->rule_count + 63) / 64, matched = 0;
  unsigned arches = req->arch_count < PXC_MAX_ARCH ? req->arch_count
                                                   : PXC_MAX_ARCH;
  size_t others = req->ipxe.present ? cfg->other_count : cfg->other_any;

  for (size_t k = 0; k < words; k++) {
    const uint64_t *row = &cfg->match_words[k * MATCH_ROW];
    uint64_t word = 0;

    if (k < n) {
      for (uint64_t rest = key; rest; rest &= rest - 1)
        word |= row[__builtin_ctzll(rest)];
      for (unsigned a = 0; a < arches; a++)
        if (req->arch_list[a] < 64)
          word |= row[64 + req->arch_list[a]];
    }
    bits[k] = word;
  }
  for (size_t j = 0; j < others; j++) {
    size_t i = cfg->other_rules[j];

    if (i / 64 >= words)
      continue;
    if (rule_matches(&cfg->rules[i], v, req, selectors))
      bits[i / 64] |= UINT64_C(1) << (i % 64);
  }
  for (size_t k = 0; k < words; k++)
    for (uint64_t rest = bits[k]; rest; rest &= rest - 1)
      matched++;
  return matched;
}

/* pxc_rules_matched() on a config without the tables (not finished):
   each rule tested in turn (a finished config without rules takes the
   table path, which zeroes every word).  Kept out of line so that the
   table path saves no registers for it. */
static __attribute__((noinline, cold)) size_t
rules_matched_by_walk(const struct pxc_config *cfg,
                      const struct pxc_verdict *verdict, uint64_t *bits,
                      size_t words)
{
  const struct pxc_request *req = verdict ? verdict->req : NULL;
  size_t i = 0, n = cfg && req ? cfg->rule_count : 0, matched = 0;
  uint32_t selectors = req ? verdict->step.flags >> STEP_SELECTOR_SHIFT : 0;

  /* each word built in a register and stored once; past the rules, 0 */
  for (size_t k = 0; k < words; k++) {
    size_t end = n - i < 64 ? n : i + 64;
    uint64_t word = 0;

    for (; i < end; i++)
      if (rule_matches(&cfg->rules[i], verdict, req, selectors)) {
        word |= UINT64_C(1) << (i % 64);
        matched++;
      }
    bits[k] = word;
  }
  return matched;
}

size_t
pxc_rules_matched(const struct pxc_config *cfg,
                  const struct pxc_verdict *verdict, uint64_t *bits,
                  size_t words)
{
  if (!bits)
    return 0;
  if (cfg && cfg->match_words && verdict && verdict->req)
    return rules_matched_by_table(cfg, verdict, bits, words);
  return rules_matched_by_walk(cfg, verdict, bits, words);
}
