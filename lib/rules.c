/*
 * The rules engine: parses the pxeclass directive lines (dnsmasq syntax,
 * "set:<tag>,<selector>,…") into rules and identities, and judges a
 * classified request against them.  dnsmasq and the CLI both delegate
 * here, so a config means the same thing in both.
 *
 * Parse errors name the directive and the offending word, because dnsmasq
 * prints them as "<message> at line N of FILE" and stops.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Class selectors of dhcp-pxe-class                                   */

#define OWN_ANY (-1)

static const struct {
  const char *name;
  int cls;  /* enum pxc_class, or -1 for "any boot firmware" */
  int own;  /* enum pxc_own required, or OWN_ANY */
} class_selectors[] = {
    {"none", PXC_CLASS_NONE, OWN_ANY},
    {"pxe", PXC_CLASS_PXE, OWN_ANY},
    {"http-boot", PXC_CLASS_HTTP_BOOT, OWN_ANY},
    {"ipxe", PXC_CLASS_IPXE, OWN_ANY},
    {"ipxe-own", PXC_CLASS_IPXE, PXC_OWN_OWN},
    {"ipxe-vendor", PXC_CLASS_IPXE, PXC_OWN_VENDOR},
    {"gpxe", PXC_CLASS_GPXE, OWN_ANY},
    {"etherboot", PXC_CLASS_ETHERBOOT, OWN_ANY},
    {"uboot", PXC_CLASS_UBOOT, OWN_ANY},
    {"netboot", -1, OWN_ANY},
};

#define SELECTOR_COUNT (sizeof(class_selectors) / sizeof(class_selectors[0]))

/* True if selector S accepts the judged request. */
static bool
selector_matches(size_t s, const struct pxc_verdict *v)
{
  enum pxc_class cls = v->req->fw_class;

  if (class_selectors[s].cls < 0)
    return cls != PXC_CLASS_NONE;
  if ((int)cls != class_selectors[s].cls)
    return false;
  return class_selectors[s].own == OWN_ANY || (int)v->own == class_selectors[s].own;
}

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
  struct strbuf sb = STRBUF_INIT(e->buf, e->len);
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  strbuf_printf(&sb, "bad %s: %s", e->directive, msg);
  return -1;
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

/* Comparison operators, longest first so ">=" is not read as ">". */
static const struct {
  const char *text;
  enum version_op op;
} version_ops[] = {
    {">=", OP_GE}, {"<=", OP_LE}, {"!=", OP_NE}, {"==", OP_EQ},
    {">", OP_GT},  {"<", OP_LT},  {"=", OP_EQ},
};

/* "<op><version>", e.g. ">=1.21.1"; no operator means equality. */
static bool
parse_version_test(const char *s, struct version_test *t)
{
  t->op = OP_EQ;
  for (size_t i = 0; i < sizeof(version_ops) / sizeof(version_ops[0]); i++) {
    size_t n = strlen(version_ops[i].text);
    if (strncmp(s, version_ops[i].text, n) == 0) {
      t->op = version_ops[i].op;
      s += n;
      break;
    }
  }
  return parse_version(s, t->version);
}

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

/* A feature by name ("https") or code ("20", "0x14"). */
static int
parse_feature(const char *s, struct err *e)
{
  unsigned long code;
  int named = pxc_feature_by_name(s);
  char names[512];

  if (named >= 0)
    return named;
  if (parse_number(s, 254, &code) && code > 0)
    return (int)code;
  pxc_list_features(names, sizeof(names));
  return fail(e, "unknown iPXE feature '%s' (known: %s; or a code 1-254)", s,
              names);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

/*
 * Room for one more element of SIZE bytes in *ARRAY, which holds COUNT of
 * *ALLOC; the new element is zeroed.  NULL if out of memory.
 */
static void *
grow(void *array_ptr, size_t *alloc, size_t count, size_t size)
{
  void **array = array_ptr;
  uint8_t *slot;

  if (count == *alloc) {
    size_t n = *alloc ? 2 * *alloc : 8;
    void *grown = realloc(*array, n * size);
    if (!grown)
      return NULL;
    *array = grown;
    *alloc = n;
  }
  slot = (uint8_t *)*array + count * size;
  memset(slot, 0, size);
  return slot;
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

/* Append a rule for TAG to the config. NULL if out of memory. */
static struct rule *
add_rule(struct pxc_config *cfg, enum rule_kind kind, const char *tag,
         const char *name, const char *value)
{
  struct rule *r =
      grow(&cfg->rules, &cfg->rule_alloc, cfg->rule_count, sizeof(*r));

  if (!r)
    return NULL;
  r->kind = kind;
  r->tag = strdup(tag);
  r->text = directive_text(name, value);
  if (!r->tag || !r->text) {
    free(r->tag);
    free(r->text);
    return NULL;
  }
  cfg->rule_count++;
  return r;
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
  if (!*word || strpbrk(word, " \t:!")) {
    fail(e, "bad tag name '%s'", word);
    return NULL;
  }
  if (!*rest) {
    fail(e, "nothing to match after set:%s", word);
    return NULL;
  }
  return word;
}

/* dhcp-pxe-class=set:<tag>,<class>[,<class>…]  (any class matches) */
static int
parse_class_rule(struct rule *r, char *rest, struct err *e)
{
  char *word;

  while ((word = next_word(&rest))) {
    size_t s;
    for (s = 0; s < SELECTOR_COUNT; s++)
      if (strcmp(word, class_selectors[s].name) == 0)
        break;
    if (s == SELECTOR_COUNT)
      return fail(e,
                  "unknown class '%s' (known: none, pxe, http-boot, ipxe, "
                  "ipxe-own, ipxe-vendor, gpxe, etherboot, uboot, netboot)",
                  word);
    r->u.class_selectors |= 1u << s;
  }
  return 0;
}

/* dhcp-pxe-arch=set:<tag>,<arch>[,<arch>…]  names, families or numbers */
static int
parse_arch_rule(struct rule *r, char *rest, struct err *e)
{
  char *word;

  while ((word = next_word(&rest))) {
    const struct pxc_arch_info *info = pxc_arch_by_name(word);
    uint32_t family = pxc_family_by_name(word);
    unsigned long code;
    char families[512];

    if (family) {
      r->u.arch.families |= family;
      continue;
    }
    if (info)
      code = info->code;
    else if (!parse_number(word, UINT16_MAX, &code)) {
      pxc_list_families(families, sizeof(families));
      return fail(e,
                  "unknown architecture '%s' (expected an IANA name such as "
                  "x86-bios, efi-x64, efi-arm64-http; a family: %s; or a "
                  "number 0-65535)",
                  word, families);
    }
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
  else if (!parse_number(bus, 255, &type)) {
    pxc_list_buses(buses, sizeof(buses));
    return fail(e, "unknown bus type '%s' (known: %s; or a number)", bus,
                buses);
  }
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

/* One criterion of an identity: user-class:<s>, feature:<f>, version:<test>. */
static int
parse_criterion(struct identity *id, char *word, struct err *e)
{
  if (strncmp(word, "user-class:", 11) == 0) {
    if (!word[11] || strlen(word + 11) > 255)
      return fail(e, "user-class: needs a class of 1 to 255 characters");
    if (id->user_class)
      return fail(e, "two user classes in one identity can never both match");
    id->user_class = strdup(word + 11);
    return id->user_class ? 0 : fail(e, "out of memory");
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
               struct err *e)
{
  struct identity *id = grow(&cfg->identities, &cfg->identity_alloc,
                             cfg->identity_count, sizeof(*id));
  char *rest = value, *word;

  if (!id || !(id->text = directive_text(name, value)))
    return fail(e, "out of memory");
  while ((word = next_word(&rest))) {
    if (!*word || parse_criterion(id, word, e) < 0) {
      if (!*word)
        fail(e, "empty criterion");
      free(id->user_class);
      free(id->text);
      return -1;
    }
  }
  cfg->identity_count++;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Directive table                                                     */

typedef int rule_parser(struct rule *r, char *rest, struct err *e);

static int parse_tag_rule(struct pxc_config *cfg, const char *name,
                          char *value, struct err *e);
static int parse_arch9(struct pxc_config *cfg, const char *name, char *value,
                       struct err *e);
static int parse_chain_guard(struct pxc_config *cfg, const char *name,
                             char *value, struct err *e);

static const struct directive {
  const char *name;
  int (*parse)(struct pxc_config *cfg, const char *name, char *value,
               struct err *e);
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
    {"dhcp-chain-guard", parse_chain_guard, 0, NULL},
};

#define DIRECTIVE_COUNT (sizeof(directives) / sizeof(directives[0]))

static const struct directive *
find_directive(const char *name)
{
  for (size_t i = 0; i < DIRECTIVE_COUNT; i++)
    if (strcmp(directives[i].name, name) == 0)
      return &directives[i];
  return NULL;
}

/* A tag-setting directive: "set:<tag>," then the kind's own selectors. */
static int
parse_tag_rule(struct pxc_config *cfg, const char *name, char *value,
               struct err *e)
{
  const struct directive *d = find_directive(name);
  char *original = strdup(value), *rest = value, *tag;
  struct rule *r;

  if (!original)
    return fail(e, "out of memory");
  tag = parse_set_tag(&rest, e);
  if (!tag) {
    free(original);
    return -1;
  }
  r = add_rule(cfg, d->kind, tag, name, original);
  free(original);
  if (!r)
    return fail(e, "out of memory");
  if (d->parse_rule(r, rest, e) < 0) {
    cfg->rule_count--;
    free(r->tag);
    free(r->text);
    return -1;
  }
  return 0;
}

/* dhcp-pxe-arch9=x64|ebc: what option 93 value 9 means (default x64). */
static int
parse_arch9(struct pxc_config *cfg, const char *name, char *value,
            struct err *e)
{
  (void)name;
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
                  struct err *e)
{
  char *rest = value, *hops_word, *window_word, *word;
  unsigned long hops, window, capacity = CHAIN_DEFAULT_CAPACITY;
  const char *tag = "chain-loop";
  char text[512];

  snprintf(text, sizeof(text), "%s", value);
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
    if (!*tag || strpbrk(tag, " \t:!"))
      return fail(e, "bad tag name '%s'", tag);
  }
  if (!add_rule(cfg, RULE_GUARD, tag, name, text))
    return fail(e, "out of memory");
  cfg->has_guard = true;
  cfg->guard_hops = (unsigned)hops;
  cfg->window = (uint32_t)window;
  cfg->capacity = (uint32_t)capacity;
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
  return i < DIRECTIVE_COUNT ? directives[i].name : NULL;
}

int
pxc_config_add(struct pxc_config *cfg, const char *name, const char *value,
               char *errbuf, size_t errlen)
{
  const struct directive *d = find_directive(name);
  struct err e = {errbuf, errlen, name};
  char *copy;
  int ret;

  if (errlen)
    errbuf[0] = '\0';
  if (!d)
    return fail(&e, "not a pxeclass directive");
  if (!value || !*value)
    return fail(&e, "needs a value");
  copy = strdup(value);
  if (!copy)
    return fail(&e, "out of memory");
  ret = d->parse(cfg, name, copy, &e);
  free(copy);
  return ret;
}

/* True if an identity uses the `chained` criterion. */
static bool
uses_chained(const struct pxc_config *cfg)
{
  for (size_t i = 0; i < cfg->identity_count; i++)
    if (cfg->identities[i].chained)
      return true;
  return false;
}

/*
 * The chain tracker, when the guard or `chained` needs one: its table is
 * allocated here, once, at its final size.
 */
static int
make_tracker(struct pxc_config *cfg, struct err *e)
{
  if (cfg->tracker || (!cfg->has_guard && !uses_chained(cfg)))
    return 0;
  if (!cfg->has_guard) {
    cfg->window = CHAIN_DEFAULT_WINDOW;
    cfg->capacity = CHAIN_DEFAULT_CAPACITY;
  }
  cfg->tracker = chain_new(cfg->capacity, cfg->window, cfg->guard_hops);
  if (!cfg->tracker)
    return fail(e, "cannot allocate the chain table (%u clients)",
                cfg->capacity);
  return 0;
}

int
pxc_config_finish(struct pxc_config *cfg, char *errbuf, size_t errlen)
{
  struct err guard_err = {errbuf, errlen, "dhcp-chain-guard"};

  if (make_tracker(cfg, &guard_err) < 0)
    return -1;
  for (size_t i = 0; i < cfg->rule_count; i++) {
    const struct rule *r = &cfg->rules[i];
    struct err e = {errbuf, errlen, "dhcp-pxe-class"};
    if (r->kind != RULE_CLASS || cfg->identity_count > 0)
      continue;
    for (size_t s = 0; s < SELECTOR_COUNT; s++)
      if ((r->u.class_selectors & (1u << s)) && class_selectors[s].own != OWN_ANY)
        return fail(&e,
                    "%s: %s needs at least one dhcp-ipxe-own line to say "
                    "which iPXE is yours",
                    r->text, class_selectors[s].name);
  }
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
  chain_free(cfg->tracker);
  free(cfg);
}

size_t
pxc_rule_count(const struct pxc_config *cfg)
{
  return cfg ? cfg->rule_count : 0;
}

const char *
pxc_rule_tag(const struct pxc_config *cfg, size_t i)
{
  return i < cfg->rule_count ? cfg->rules[i].tag : NULL;
}

const char *
pxc_rule_text(const struct pxc_config *cfg, size_t i)
{
  return i < cfg->rule_count ? cfg->rules[i].text : NULL;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

/* The tag of the loop guard's rule, or NULL without a guard. */
static const char *
guard_tag(const struct pxc_config *cfg)
{
  for (size_t i = 0; i < cfg->rule_count; i++)
    if (cfg->rules[i].kind == RULE_GUARD)
      return cfg->rules[i].tag;
  return NULL;
}

/* True if every bit set in WANT is set in HAVE (32-byte bitmaps). */
static bool
bits_subset(const uint8_t *want, const uint8_t *have)
{
  for (size_t i = 0; i < 32; i++)
    if ((want[i] & have[i]) != want[i])
      return false;
  return true;
}

/* True if REQ meets every criterion of identity ID; CHAINED says whether it
   follows a chainload hand-out. */
static bool
identity_matches(const struct identity *id, const struct pxc_request *req,
                 bool chained)
{
  if (id->chained && !chained)
    return false;
  if (id->user_class && !request_has_user_class(req, id->user_class))
    return false;
  if (!bits_subset(id->features, req->ipxe.features))
    return false;
  if (id->has_version && (!req->ipxe.has_version ||
                          !version_test_matches(&id->version, req->ipxe.version)))
    return false;
  return true;
}

/* own when an identity matches, vendor when none does; unknown otherwise. */
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

void
pxc_evaluate(struct pxc_config *cfg, const struct pxc_request *req, time_t now,
             struct pxc_verdict *verdict)
{
  struct chain_step step;

  memset(verdict, 0, sizeof(*verdict));
  verdict->req = req;
  if (!cfg || !cfg->tracker) {
    verdict->own = judge_ownership(cfg, req, false);
    return;
  }
  chain_begin(cfg->tracker, req, now, &step, &verdict->chain);
  verdict->own = judge_ownership(cfg, req, verdict->chain.follows_chainload);
  chain_commit(cfg->tracker, req, &step, verdict->own, &verdict->chain);
}

void
pxc_record_reply(struct pxc_config *cfg, const uint8_t *pkt, size_t len,
                 time_t now)
{
  if (cfg && cfg->tracker)
    chain_reply(cfg->tracker, pkt, len, now);
}

bool
pxc_chain_stats(const struct pxc_config *cfg, struct pxc_chain_stats *st)
{
  if (!cfg || !cfg->tracker)
    return false;
  chain_stats(cfg->tracker, st);
  return true;
}

char *
pxc_format_loop_warning(const struct pxc_config *cfg,
                        const struct pxc_verdict *v, char *buf, size_t len)
{
  struct strbuf sb = STRBUF_INIT(buf, len);
  char mac[64];

  if (len)
    buf[0] = '\0';
  if (!cfg || !cfg->tracker || !v->chain.guard_tripped)
    return buf;
  strbuf_printf(&sb, "%s made %u hops within %us (more than %u), tag %s set; "
                "chain: ",
                pxc_format_mac(v->req, mac, sizeof(mac)), v->chain.hops,
                cfg->window, cfg->guard_hops, guard_tag(cfg));
  chain_format(cfg->tracker, v->req, &sb);
  return buf;
}

char *
pxc_format_chain(const struct pxc_config *cfg, const struct pxc_verdict *v,
                 char *buf, size_t len)
{
  struct strbuf sb = STRBUF_INIT(buf, len);

  if (len)
    buf[0] = '\0';
  if (cfg && cfg->tracker)
    chain_format(cfg->tracker, v->req, &sb);
  return buf;
}

static bool
class_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  for (size_t s = 0; s < SELECTOR_COUNT; s++)
    if ((r->u.class_selectors & (1u << s)) && selector_matches(s, v))
      return true;
  return false;
}

static bool
arch_rule_matches(const struct rule *r, const struct pxc_verdict *v)
{
  const struct pxc_request *req = v->req;

  for (unsigned i = 0; i < req->arch_count; i++) {
    const struct pxc_arch_info *info = pxc_arch_by_code(req->arch_list[i]);
    if (info && (info->families & r->u.arch.families))
      return true;
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

static bool (*const rule_matchers[])(const struct rule *,
                                     const struct pxc_verdict *) = {
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
  if (!cfg || i >= cfg->rule_count)
    return false;
  return rule_matchers[cfg->rules[i].kind](&cfg->rules[i], verdict);
}
