/*
 * The configuration: parses the pxeclass directive lines (dnsmasq syntax,
 * "set:<tag>,<selector>,…") into rules and identities.  dnsmasq and the
 * CLI both delegate here, so a config means the same thing in both.
 *
 * Each line is parsed into a rule or identity of its own, which joins the
 * config only once the whole line was read: a line that fails leaves the
 * config untouched.  pxc_config_finish() makes the config read-only.
 *
 * Parse errors name the directive and the offending word, because dnsmasq
 * prints them as "<message> at line N of FILE" and stops.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Error reporting                                                     */

struct err {
  char *buf;
  size_t len;
  const char *directive;
};

/* Write "bad <directive>: <message>" into the caller's buffer; returns -1. */
static int __attribute__((format(printf, 2, 3)))
fail(struct err *e, const char *fmt, ...)
{
  char msg[768];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (e->len)
    snprintf(e->buf, e->len, "bad %s: %s", e->directive, msg);
  return -1;
}

/* A list of names for error messages: "a, b, c" into BUF (LEN bytes),
   from NAME_AT(0), NAME_AT(1), … skipping NULLs, up to LIMIT entries. */
static char *
name_list(char *buf, size_t len, const char *(*name_at)(size_t), size_t limit)
{
  size_t used = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < limit; i++) {
    const char *name = name_at(i);
    int n;
    if (!name)
      continue;
    n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
    if (n < 0 || (size_t)n >= len - used)
      break;
    used += (size_t)n;
  }
  return buf;
}

static const char *
feature_at(size_t i)
{
  int code = pxc_feature_at(i);
  return code < 0 ? NULL : pxc_feature_name((uint8_t)code);
}

static const char *
family_at(size_t i)
{
  return pxc_family_name(1u << i);
}

static const char *
bus_at(size_t i)
{
  return pxc_bus_name((uint8_t)i);
}

/* ------------------------------------------------------------------ */
/* Lexing                                                              */

/* Trim white space at both ends of S, in place. */
static char *
trim(char *s)
{
  char *end = s + strlen(s);

  while (isspace((unsigned char)*s))
    s++;
  while (end > s && isspace((unsigned char)end[-1]))
    *--end = '\0';
  return s;
}

/* Cut the next comma-separated word off *REST (NULL when none is left). */
static char *
next_word(char **rest)
{
  char *word = *rest, *comma;

  if (!word)
    return NULL;
  comma = strchr(word, ',');
  if (comma) {
    *comma = '\0';
    *rest = comma + 1;
  } else {
    *rest = NULL;
  }
  return trim(word);
}

/* Parse the whole of S as an unsigned number in BASE, at most MAX. */
static bool
parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
  char *end;
  unsigned long v;

  if (!isxdigit((unsigned char)*s))
    return false;
  errno = 0;
  v = strtoul(s, &end, base);
  if (errno || *end || v > max)
    return false;
  *out = v;
  return true;
}

/* A number given in decimal, or in hex with a 0x prefix. */
static bool
parse_number(const char *s, unsigned long max, unsigned long *out)
{
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    return parse_uint(s + 2, 16, max, out);
  return parse_uint(s, 10, max, out);
}

/* "1", "1.21" or "1.21.1": up to three components of 0–255. */
static bool
parse_version(const char *s, uint8_t v[3])
{
  char copy[32], *rest = copy, *part;
  unsigned n = 0;

  if (strlen(s) >= sizeof(copy) || !*s)
    return false;
  strcpy(copy, s);
  memset(v, 0, 3);
  while ((part = strsep(&rest, "."))) {
    unsigned long x;
    if (n == 3 || !parse_uint(part, 10, 255, &x))
      return false;
    v[n++] = (uint8_t)x;
  }
  return true;
}

/* Comparison operators, longest first so ">=" is not read as ">"; the
   first entry of each operator is how it is shown. */
static const struct {
  const char *text;
  enum version_op op;
} version_ops[] = {
    {">=", OP_GE}, {"<=", OP_LE}, {"!=", OP_NE}, {"=", OP_EQ},
    {"==", OP_EQ}, {">", OP_GT},  {"<", OP_LT},
};

const char *
version_op_text(enum version_op op)
{
  for (size_t i = 0; i < COUNT(version_ops); i++)
    if (version_ops[i].op == op)
      return version_ops[i].text;
  return "?";
}

/* "<op><version>", e.g. ">=1.21.1"; no operator means equality. */
static bool
parse_version_test(const char *s, struct version_test *t)
{
  size_t best = 0;

  t->op = OP_EQ;
  for (size_t i = 0; i < COUNT(version_ops); i++) {
    size_t n = strlen(version_ops[i].text);
    if (n > best && strncmp(s, version_ops[i].text, n) == 0) {
      t->op = version_ops[i].op;
      best = n;
    }
  }
  return parse_version(s + best, t->version);
}

/*
 * A feature by name ("https") or code ("20", "0x14").  iPXE announces
 * only codes PXC_FEATURE_FIRST to PXC_FEATURE_LAST, so any other code
 * could never match and is refused.
 */
static int
parse_feature(const char *s, struct err *e)
{
  unsigned long code;
  int named = pxc_feature_by_name(s);
  char names[512];

  if (named >= 0)
    return named;
  if (parse_number(s, 255, &code)) {
    if (code >= PXC_FEATURE_FIRST && code <= PXC_FEATURE_LAST)
      return (int)code;
    return fail(e,
                "iPXE feature code %lu is outside %d-%d (0x%02x-0x%02x), the "
                "codes iPXE announces: it could never match",
                code, PXC_FEATURE_FIRST, PXC_FEATURE_LAST, PXC_FEATURE_FIRST,
                PXC_FEATURE_LAST);
  }
  return fail(e, "unknown iPXE feature '%s' (known: %s; or a code %d-%d)", s,
              name_list(names, sizeof(names), feature_at, 256),
              PXC_FEATURE_FIRST, PXC_FEATURE_LAST);
}

/* A tag name as dnsmasq takes it: not empty, no blank, ':' or '!'. */
static bool
tag_ok(const char *tag)
{
  return *tag && !strpbrk(tag, " \t:!");
}

/*
 * "set:<tag>" (dnsmasq's form; "net:" is its older synonym).  Returns the
 * tag, or NULL with the error written.
 */
static char *
parse_set_tag(char **rest, struct err *e)
{
  char *word = next_word(rest);

  if (!word || (strncmp(word, "set:", 4) != 0 && strncmp(word, "net:", 4) != 0)) {
    fail(e, "expected set:<tag> first");
    return NULL;
  }
  word += 4;
  if (!tag_ok(word)) {
    fail(e, "bad tag name '%s'", word);
    return NULL;
  }
  if (!*rest) {
    fail(e, "nothing to match after set:%s", word);
    return NULL;
  }
  return word;
}

/* ------------------------------------------------------------------ */
/* Growing arrays                                                      */

/* The next capacity of an array of ELEM-byte elements that holds ALLOC:
   false if its size in bytes would not fit a size_t. */
bool
array_next_capacity(size_t alloc, size_t elem, size_t *out)
{
  size_t n = alloc ? alloc * 2 : 8;

  if (elem == 0 || n < alloc || n > SIZE_MAX / elem)
    return false;
  *out = n;
  return true;
}

/* ARRAY (of ELEM-byte elements, ALLOC of them) with room for N more than
   COUNT: the new block, or NULL (ARRAY unchanged) if none can be had. */
static void *
array_reserve(void *array, size_t count, size_t *alloc, size_t elem)
{
  size_t n;
  void *grown;

  if (count < *alloc)
    return array;
  if (!array_next_capacity(*alloc, elem, &n))
    return NULL;
  grown = realloc(array, n * elem);
  if (grown)
    *alloc = n;
  return grown;
}

/* Room for one more rule; false if out of memory. */
static bool
reserve_rule(struct pxc_config *cfg)
{
  struct rule *rules = array_reserve(cfg->rules, cfg->rule_count,
                                     &cfg->rule_alloc, sizeof(*rules));

  if (rules)
    cfg->rules = rules;
  return rules != NULL;
}

/* Room for one more identity; false if out of memory. */
static bool
reserve_identity(struct pxc_config *cfg)
{
  struct identity *ids = array_reserve(cfg->identities, cfg->identity_count,
                                       &cfg->identity_alloc, sizeof(*ids));

  if (ids)
    cfg->identities = ids;
  return ids != NULL;
}

/* "name=value", the directive as written, for logs. NULL if out of memory. */
static char *
directive_text(const char *name, const char *value)
{
  size_t len = strlen(name) + 1 + strlen(value) + 1;
  char *text = malloc(len);

  if (text)
    snprintf(text, len, "%s=%s", name, value);
  return text;
}

/*
 * Publish rule R (parsed, its strings not yet set) with TAG and the line
 * NAME=VALUE: the one place a rule joins the config.  Returns 0, or -1
 * with nothing changed.
 */
static int
publish_rule(struct pxc_config *cfg, struct rule *r, const char *name,
             const char *tag, const char *value, struct err *e)
{
  r->tag = strdup(tag);
  r->text = directive_text(name, value);
  if (!r->tag || !r->text || !reserve_rule(cfg)) {
    free(r->tag);
    free(r->text);
    return fail(e, "out of memory");
  }
  cfg->rules[cfg->rule_count++] = *r;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

/* dhcp-pxe-class=set:<tag>,<class>[,<class>…]  (any class matches): class
   names, ipxe-own, ipxe-vendor, netboot, and agent names. */
static int
parse_class_rule(struct rule *r, char *rest, struct err *e)
{
  char *word, names[512];
  const size_t count = SELECTOR_COUNT + SELECTOR_AGENTS;

  while ((word = next_word(&rest))) {
    size_t s;
    for (s = 0; s < count; s++)
      if (strcmp(word, pxc_class_selector_name(s)) == 0)
        break;
    if (s == count)
      return fail(e, "unknown class '%s' (known: %s)", word,
                  name_list(names, sizeof(names), pxc_class_selector_name,
                            count));
    if (s < SELECTOR_COUNT)
      r->u.cls.selectors |= 1u << s;
    else
      r->u.cls.agents |= 1u << (s - SELECTOR_COUNT + 1);
  }
  return 0;
}

/* dhcp-pxe-arch=set:<tag>,<arch>[,<arch>…]  names, families or numbers */
static int
parse_arch_rule(struct rule *r, char *rest, struct err *e)
{
  char *word, families[512];

  while ((word = next_word(&rest))) {
    const struct pxc_arch_info *info = pxc_arch_by_name(word);
    uint32_t family = pxc_family_by_name(word);
    unsigned long code;

    if (family) {
      r->u.arch.families |= family;
      continue;
    }
    if (info)
      code = info->code;
    else if (!parse_number(word, UINT16_MAX, &code))
      return fail(e,
                  "unknown architecture '%s' (expected an IANA name such as "
                  "x86-bios, efi-x64, efi-arm64-http; a family: %s; or a "
                  "number 0-65535)",
                  word, name_list(families, sizeof(families), family_at, 32));
    if (r->u.arch.code_count == RULE_MAX_ARCH)
      return fail(e, "more than %d architectures in one line", RULE_MAX_ARCH);
    r->u.arch.codes[r->u.arch.code_count++] = (uint16_t)code;
  }
  return 0;
}

/* dhcp-ipxe-feature=set:<tag>,<feature>[,<feature>…]  (all must be present) */
static int
parse_feature_rule(struct rule *r, char *rest, struct err *e)
{
  char *word;

  while ((word = next_word(&rest))) {
    int code = parse_feature(word, e);
    if (code < 0)
      return -1;
    bit_set(r->u.features, (unsigned)code);
  }
  return 0;
}

/* dhcp-ipxe-version=set:<tag>,<op><version> */
static int
parse_version_rule(struct rule *r, char *rest, struct err *e)
{
  char *word = next_word(&rest);

  if (rest)
    return fail(e, "one version test per line");
  if (!parse_version_test(word, &r->u.version))
    return fail(e,
                "bad version test '%s' (expected <op><version> such as "
                ">=1.21.1; op is one of >= <= > < = !=)",
                word);
  return 0;
}

/* dhcp-ipxe-busid=set:<tag>,<bus>:<vendor>[:<device>]  (hex ids) */
static int
parse_busid_rule(struct rule *r, char *rest, struct err *e)
{
  char *word = next_word(&rest), *bus, *vendor, *device;
  unsigned long type, id;
  char buses[256];
  int named;

  if (rest)
    return fail(e, "one bus id per line");
  bus = strsep(&word, ":");
  vendor = strsep(&word, ":");
  device = strsep(&word, ":");
  if (!vendor || !*vendor || word)
    return fail(e, "bad bus id '%s' (expected <bus>:<vendor>[:<device>], "
                   "e.g. pci:1af4 or pci:8086:100e)",
                bus);
  named = pxc_bus_by_name(bus);
  if (named >= 0)
    type = (unsigned long)named;
  else if (!parse_number(bus, 255, &type))
    return fail(e, "unknown bus type '%s' (known: %s; or a number)", bus,
                name_list(buses, sizeof(buses), bus_at, 256));
  r->u.busid.bus_type = (uint8_t)type;
  if (strlen(vendor) > 4 || !parse_uint(vendor, 16, 0xffff, &id))
    return fail(e, "bad vendor id '%s' (expected up to 4 hex digits)", vendor);
  r->u.busid.vendor = (uint16_t)id;
  r->u.busid.device = -1;
  if (device) {
    if (strlen(device) > 4 || !parse_uint(device, 16, 0xffff, &id))
      return fail(e, "bad device id '%s' (expected up to 4 hex digits)",
                  device);
    r->u.busid.device = (int32_t)id;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Identities of the site's own iPXE (dhcp-ipxe-own)                   */

/* One criterion of an identity: user-class:<s>, feature:<f>,
   version:<test> or chained.  A user class is kept as a pointer into the
   line, copied once the whole line is read. */
static int
parse_criterion(struct identity *id, char *word, struct err *e)
{
  if (strncmp(word, "user-class:", 11) == 0) {
    if (!word[11] || strlen(word + 11) > 255)
      return fail(e, "user-class: needs a class of 1 to 255 characters");
    if (id->user_class)
      return fail(e, "two user classes in one identity can never both match");
    id->user_class = word + 11;
    return 0;
  }
  if (strncmp(word, "feature:", 8) == 0) {
    int code = parse_feature(word + 8, e);
    if (code < 0)
      return -1;
    bit_set(id->features, (unsigned)code);
    return 0;
  }
  if (strncmp(word, "version:", 8) == 0) {
    if (!parse_version_test(word + 8, &id->version))
      return fail(e, "bad version test '%s' (expected e.g. version:>=1.21.1)",
                  word + 8);
    id->has_version = true;
    return 0;
  }
  if (strcmp(word, "chained") == 0) {
    id->chained = true;
    return 0;
  }
  return fail(e,
              "unknown criterion '%s' (expected user-class:<s>, feature:<f>, "
              "version:<op><v> or chained)",
              word);
}

/* dhcp-ipxe-own=<criterion>[,<criterion>…]  criteria ANDed, lines ORed */
static int
parse_identity(struct pxc_config *cfg, const char *name, char *value,
               const char *original, struct err *e)
{
  struct identity id = {0};
  char *rest = value, *word;
  const char *user_class;

  while ((word = next_word(&rest))) {
    if (!*word)
      return fail(e, "empty criterion");
    if (parse_criterion(&id, word, e) < 0)
      return -1;
  }
  user_class = id.user_class;
  id.user_class = user_class ? strdup(user_class) : NULL;
  id.user_class_len = user_class ? strlen(user_class) : 0;
  id.text = directive_text(name, original);
  if (!id.text || (user_class && !id.user_class) || !reserve_identity(cfg)) {
    free(id.text);
    free(id.user_class);
    return fail(e, "out of memory");
  }
  cfg->identities[cfg->identity_count++] = id;
  cfg->uses_chained |= id.chained;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Directive table                                                     */

typedef int rule_parser(struct rule *r, char *rest, struct err *e);
typedef int line_parser(struct pxc_config *cfg, const char *name, char *value,
                        const char *original, struct err *e);

static line_parser parse_tag_rule, parse_arch9, parse_chain_guard,
    parse_chain_peer;

static const struct directive {
  const char *name;
  line_parser *parse;
  enum rule_kind kind;
  rule_parser *parse_rule;
} directives[] = {
    {"dhcp-pxe-class", parse_tag_rule, RULE_CLASS, parse_class_rule},
    {"dhcp-pxe-arch", parse_tag_rule, RULE_ARCH, parse_arch_rule},
    {"dhcp-ipxe-feature", parse_tag_rule, RULE_FEATURE, parse_feature_rule},
    {"dhcp-ipxe-version", parse_tag_rule, RULE_VERSION, parse_version_rule},
    {"dhcp-ipxe-busid", parse_tag_rule, RULE_BUSID, parse_busid_rule},
    {"dhcp-ipxe-own", parse_identity, 0, NULL},
    {"dhcp-pxe-arch9", parse_arch9, 0, NULL},
    {"dhcp-chain-guard", parse_chain_guard, RULE_GUARD, NULL},
    {"dhcp-chain-peer", parse_chain_peer, 0, NULL},
};

static const struct directive *
find_directive(const char *name)
{
  for (size_t i = 0; i < COUNT(directives); i++)
    if (strcmp(directives[i].name, name) == 0)
      return &directives[i];
  return NULL;
}

/* A tag-setting directive: "set:<tag>," then the kind's own selectors. */
static int
parse_tag_rule(struct pxc_config *cfg, const char *name, char *value,
               const char *original, struct err *e)
{
  const struct directive *d = find_directive(name);
  struct rule r = {.kind = d->kind, .directive = d->name};
  char *rest = value, *tag;

  tag = parse_set_tag(&rest, e);
  if (!tag || d->parse_rule(&r, rest, e) < 0)
    return -1;
  return publish_rule(cfg, &r, name, tag, original, e);
}

/* dhcp-pxe-arch9=x64|ebc: what option 93 value 9 means (default x64). */
static int
parse_arch9(struct pxc_config *cfg, const char *name, char *value,
            const char *original, struct err *e)
{
  (void)name;
  (void)original;
  value = trim(value);
  if (strcmp(value, "x64") == 0)
    cfg->arch9_is_ebc = false;
  else if (strcmp(value, "ebc") == 0)
    cfg->arch9_is_ebc = true;
  else
    return fail(e, "expected x64 or ebc, not '%s'", value);
  return 0;
}

/*
 * dhcp-chain-guard=<hops>,<seconds>[,<table-size>][,set:<tag>]: the loop
 * guard, a rule whose tag (default chain-loop) is set for a client that
 * made more than <hops> hops within <seconds>.
 */
static int
parse_chain_guard(struct pxc_config *cfg, const char *name, char *value,
                  const char *original, struct err *e)
{
  struct rule r = {.kind = RULE_GUARD, .directive = name};
  char *rest = value, *hops_word, *window_word, *word;
  unsigned long hops, window, capacity = CHAIN_DEFAULT_CAPACITY;
  const char *tag = "chain-loop";

  if (cfg->has_guard)
    return fail(e, "given twice: one loop guard per configuration");
  hops_word = next_word(&rest);
  if (!parse_uint(hops_word, 10, CHAIN_STAGES - 1, &hops) || hops == 0)
    return fail(e, "bad hop count '%s' (expected 1 to %d)", hops_word,
                CHAIN_STAGES - 1);
  window_word = next_word(&rest);
  if (!window_word || !parse_uint(window_word, 10, 86400, &window) ||
      window == 0)
    return fail(e, "bad window '%s' (expected 1 to 86400 seconds)",
                window_word ? window_word : "");
  word = next_word(&rest);
  if (word && strncmp(word, "set:", 4) != 0) {
    if (!parse_uint(word, 10, CHAIN_MAX_CAPACITY, &capacity) || capacity < 16)
      return fail(e, "bad table size '%s' (expected 16 to %u clients)", word,
                  CHAIN_MAX_CAPACITY);
    word = next_word(&rest);
  }
  if (word) {
    if (strncmp(word, "set:", 4) != 0 || rest)
      return fail(e, "expected set:<tag> last, not '%s'", word);
    tag = word + 4;
    if (!tag_ok(tag))
      return fail(e, "bad tag name '%s'", tag);
  }
  if (publish_rule(cfg, &r, name, tag, original, e) < 0)
    return -1;
  cfg->has_guard = true;
  cfg->guard_hops = (unsigned)hops;
  cfg->window = (uint32_t)window;
  cfg->capacity = (uint32_t)capacity;
  cfg->guard_tag = cfg->rules[cfg->rule_count - 1].tag;
  return 0;
}

/*
 * dhcp-chain-peer=<address>[,<address>...]: the server ids of the other
 * instances of this config on the client's link (two boot servers for
 * redundancy).  A REQUEST naming one takes a hand-out like ours (the
 * same config hands out the same file), so the tracker does not strike
 * ours, and the chain goes on whichever instance the client picks.
 */
static int
parse_chain_peer(struct pxc_config *cfg, const char *name, char *value,
                 const char *original, struct err *e)
{
  char *rest = value, *word;
  struct in_addr addr;

  (void)name;
  (void)original;
  while ((word = next_word(&rest)) != NULL) {
    if (inet_pton(AF_INET, word, &addr) != 1 || addr.s_addr == 0)
      return fail(e, "bad server address '%s' (expected an IPv4 address)",
                  word);
    if (cfg->peer_count == CHAIN_PEERS_MAX)
      return fail(e, "more than %d peers", CHAIN_PEERS_MAX);
    cfg->peer_ids[cfg->peer_count++] = ntohl(addr.s_addr);
  }
  return 0;
}

bool
pxc_is_directive(const char *name)
{
  return name && find_directive(name) != NULL;
}

const char *
pxc_directive_name(size_t i)
{
  return i < COUNT(directives) ? directives[i].name : NULL;
}

int
pxc_config_add(struct pxc_config *cfg, const char *name, const char *value,
               char *errbuf, size_t errlen)
{
  struct err e = {errbuf, errbuf ? errlen : 0, name ? name : "(null)"};
  const struct directive *d;
  char *copy;
  int ret;

  if (e.len)
    errbuf[0] = '\0';
  if (!cfg || !name)
    return fail(&e, "no configuration or no directive name");
  if (cfg->finished)
    return fail(&e, "the configuration is finished: no line can be added");
  d = find_directive(name);
  if (!d)
    return fail(&e, "not a pxeclass directive");
  if (!value || !*value)
    return fail(&e, "needs a value");
  copy = strdup(value);
  if (!copy)
    return fail(&e, "out of memory");
  ret = d->parse(cfg, d->name, copy, value, &e);
  free(copy);
  return ret;
}

/* The selector of class rule R that needs an identity (ipxe-own,
   ipxe-vendor), or -1. */
static int
selector_needing_identity(const struct rule *r)
{
  static const int needing[] = {SELECTOR_IPXE_OWN, SELECTOR_IPXE_VENDOR};

  if (r->kind != RULE_CLASS)
    return -1;
  for (size_t k = 0; k < COUNT(needing); k++)
    if (r->u.cls.selectors & (1u << needing[k]))
      return needing[k];
  return -1;
}

/* The codes below 64 that arch rule R matches, as bits: the codes of the
   architecture table in one of its families, and the codes it lists.  An
   architecture is then one shift and AND when a request is judged. */
static uint64_t
arch_low_bits(const struct rule *r)
{
  uint64_t bits = 0;

  for (uint32_t code = 0; code < 64; code++) {
    const struct pxc_arch_info *info = pxc_arch_by_code(code);
    if (info && (info->families & r->u.arch.families))
      bits |= 1ull << code;
  }
  for (unsigned k = 0; k < r->u.arch.code_count; k++)
    if (r->u.arch.codes[k] < 64)
      bits |= 1ull << r->u.arch.codes[k];
  return bits;
}

/* The key bits (class_key()) that accept rule R when the table holds
   it: a class rule's selectors and agents, the guard's loop bit. */
static uint64_t
rule_key(const struct rule *r)
{
  if (r->kind == RULE_GUARD)
    return UINT64_C(1) << KEY_LOOPING;
  return r->u.cls.selectors | (uint64_t)r->u.cls.agents << 32;
}

/* True if arch rule R has a code from 64 on: the table cannot hold it. */
static bool
arch_has_high_code(const struct rule *r)
{
  for (unsigned k = 0; k < r->u.arch.code_count; k++)
    if (r->u.arch.codes[k] >= 64)
      return true;
  return false;
}

/* True if rule R can match only a request that has option 175 (iPXE's
   feature and version rules: the version is its sub-option 235). */
static bool
rule_needs_option_175(const struct rule *r)
{
  return r->kind == RULE_FEATURE || r->kind == RULE_VERSION;
}

/* True if the table of pxc_rules_matched() holds rule R: class and guard
   rules by their key bits, arch rules by their codes (below 64). */
static bool
rule_in_table(const struct rule *r)
{
  return r->kind == RULE_CLASS || r->kind == RULE_GUARD ||
         (r->kind == RULE_ARCH && !arch_has_high_code(r));
}

/* The tables of pxc_rules_matched() (struct pxc_config): a class or
   guard rule matches when any key bit of the request is one of its own,
   an arch rule (codes below 64) when any code of the request is, so
   OR-ing the entries of the request's key bits and codes gives its word
   at once.  Returns -1 if out of memory. */
static int
build_match_tables(struct pxc_config *cfg)
{
  size_t words = (cfg->rule_count + 63) / 64;

  cfg->match_words = calloc(words ? words * MATCH_ROW : 1, sizeof(uint64_t));
  cfg->other_rules = calloc(cfg->rule_count ? cfg->rule_count : 1,
                            sizeof(size_t));
  if (!cfg->match_words || !cfg->other_rules) {
    free(cfg->match_words);
    free(cfg->other_rules);
    cfg->match_words = NULL;
    cfg->other_rules = NULL;
    return -1;
  }
  cfg->other_count = 0;
  cfg->key_used = 0;
  for (size_t i = 0; i < cfg->rule_count; i++)
    if (!rule_in_table(&cfg->rules[i]) &&
        !rule_needs_option_175(&cfg->rules[i]))
      cfg->other_rules[cfg->other_count++] = i;
  cfg->other_any = cfg->other_count;
  for (size_t i = 0; i < cfg->rule_count; i++) {
    const struct rule *r = &cfg->rules[i];
    uint64_t *row = &cfg->match_words[i / 64 * MATCH_ROW];
    uint64_t key, bit = UINT64_C(1) << (i % 64);

    if (!rule_in_table(r)) {
      if (rule_needs_option_175(r))
        cfg->other_rules[cfg->other_count++] = i;
      continue;
    }
    if (r->kind == RULE_ARCH) {
      for (unsigned c = 0; c < 64; c++)
        if (r->u.arch.low >> c & 1)
          row[64 + c] |= bit;
      continue;
    }
    key = rule_key(r);
    cfg->key_used |= key;
    for (unsigned b = 0; b < 64; b++)
      if (key >> b & 1)
        row[b] |= bit;
  }
  return 0;
}

int
pxc_config_finish(struct pxc_config *cfg, char *errbuf, size_t errlen)
{
  struct err e = {errbuf, errbuf ? errlen : 0, "dhcp-pxe-class"};

  if (e.len)
    errbuf[0] = '\0';
  if (!cfg)
    return fail(&e, "no configuration");
  if (cfg->finished)
    return 0;
  for (size_t i = 0; cfg->identity_count == 0 && i < cfg->rule_count; i++) {
    int s = selector_needing_identity(&cfg->rules[i]);
    if (s >= 0)
      return fail(&e,
                  "%s: %s needs at least one dhcp-ipxe-own line to say "
                  "which iPXE is yours",
                  cfg->rules[i].text, pxc_class_selector_name((size_t)s));
  }
  for (size_t i = 0; i < cfg->rule_count; i++)
    if (cfg->rules[i].kind == RULE_ARCH)
      cfg->rules[i].u.arch.low = arch_low_bits(&cfg->rules[i]);
  if (build_match_tables(cfg) < 0)
    return fail(&e, "out of memory");
  if (!cfg->has_guard) {
    cfg->window = CHAIN_DEFAULT_WINDOW;
    cfg->capacity = CHAIN_DEFAULT_CAPACITY;
  }
  cfg->finished = true;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Configuration object                                                */

struct pxc_config *
pxc_config_new(void)
{
  return calloc(1, sizeof(struct pxc_config));
}

void
pxc_config_free(struct pxc_config *cfg)
{
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->rule_count; i++) {
    free(cfg->rules[i].tag);
    free(cfg->rules[i].text);
  }
  for (size_t i = 0; i < cfg->identity_count; i++) {
    free(cfg->identities[i].user_class);
    free(cfg->identities[i].text);
  }
  free(cfg->rules);
  free(cfg->identities);
  free(cfg->match_words);
  free(cfg->other_rules);
  free(cfg);
}

/* ------------------------------------------------------------------ */
/* Introspection                                                       */

/* Rule I of CFG, or NULL. */
static const struct rule *
rule_at(const struct pxc_config *cfg, size_t i)
{
  return cfg && i < cfg->rule_count ? &cfg->rules[i] : NULL;
}

size_t
pxc_rule_count(const struct pxc_config *cfg)
{
  return cfg ? cfg->rule_count : 0;
}

const char *
pxc_rule_tag(const struct pxc_config *cfg, size_t i)
{
  const struct rule *r = rule_at(cfg, i);
  return r ? r->tag : NULL;
}

const char *
pxc_rule_text(const struct pxc_config *cfg, size_t i)
{
  const struct rule *r = rule_at(cfg, i);
  return r ? r->text : NULL;
}

const char *
pxc_rule_directive(const struct pxc_config *cfg, size_t i)
{
  const struct rule *r = rule_at(cfg, i);
  return r ? r->directive : NULL;
}

size_t
pxc_identity_count(const struct pxc_config *cfg)
{
  return cfg ? cfg->identity_count : 0;
}

bool
pxc_identity_get(const struct pxc_config *cfg, size_t i,
                 struct pxc_identity_info *out)
{
  const struct identity *id;

  if (!cfg || !out || i >= cfg->identity_count)
    return false;
  id = &cfg->identities[i];
  memset(out, 0, sizeof(*out));
  out->text = id->text;
  out->user_class = id->user_class;
  memcpy(out->features, id->features, sizeof(out->features));
  out->has_version = id->has_version;
  out->version_op = id->has_version ? version_op_text(id->version.op) : NULL;
  memcpy(out->version, id->version.version, sizeof(out->version));
  out->chained = id->chained;
  return true;
}

bool
pxc_config_tracker_info(const struct pxc_config *cfg,
                        struct pxc_guard_info *out)
{
  bool needed = cfg && (cfg->has_guard || cfg->uses_chained);

  if (out) {
    memset(out, 0, sizeof(*out));
    if (needed) {
      out->guard = cfg->has_guard;
      out->hops = cfg->guard_hops;
      out->window = cfg->has_guard ? cfg->window : CHAIN_DEFAULT_WINDOW;
      out->capacity = cfg->has_guard ? cfg->capacity : CHAIN_DEFAULT_CAPACITY;
      out->tag = cfg->guard_tag;
    }
  }
  return needed;
}

bool
pxc_config_arch9_is_ebc(const struct pxc_config *cfg)
{
  return cfg && cfg->arch9_is_ebc;
}
