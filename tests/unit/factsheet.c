/*
 * The firmware fact sheet's reader for the unit tests (see factsheet.h).
 * Only what a DISCOVER needs is kept; the lines about REQUESTs and the
 * lab (kind, label, request-order …) are known and skipped.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factsheet.h"
#include "pxeclass.h"

#define SHEET_LINE_MAX 1024
#define BROADCAST_FLAG 0x8000
#define IPXE_BUSID     0xb1
#define IPXE_VERSION   0xeb

/* Where the reader is, for messages. */
struct sheet_reader {
  const char *path;
  unsigned line;
  char *err;
  size_t errlen;
};

/* Program lines that only the lab and the REQUEST builders use. */
static const char *const skipped_program_keys[] = {
    "kind",
    "label",
    "arch",
    "source",
    "short-class-4011",
    "request-order",
    "request-option",
    "request-drops",
};

/* Lines of a machine block (the C tests build for a machine of their own). */
static const char *const machine_keys[] = {
    "title", "mac", "uuid", "busid", "program", "program6",
};

/* Lines of a program6 block: the lab's DHCPv6 programs (the C tests build
   DHCPv4 DISCOVERs only, and read their v6 packets from the captures). */
static const char *const program6_keys[] = {
    "kind", "label", "arch", "source", "iaid", "xid", "option6",
    "request-order6", "request-ia",
};

/* "PATH:LINE: message" into the reader's error buffer; returns -1. */
static int
sheet_error(struct sheet_reader *r, const char *fmt, ...)
{
  char msg[256];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(r->err, r->errlen, "%s:%u: %s", r->path, r->line, msg);
  return -1;
}

/* True if KEY is one of the N names of LIST. */
static bool
key_in(const char *key, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(key, list[i]) == 0)
      return true;
  return false;
}

/* Copy SRC into DST (SIZE bytes); false if it does not fit. */
static bool
copy_text(char *dst, size_t size, const char *src)
{
  size_t n = strlen(src);

  if (n >= size)
    return false;
  memcpy(dst, src, n + 1);
  return true;
}

/* Split LINE in place into its first word (returned) and the rest
   (*REST, leading blanks skipped). */
static char *
first_word(char *line, char **rest)
{
  char *p = line;

  while (*p && !isspace((unsigned char)*p))
    p++;
  if (*p)
    *p++ = '\0';
  while (isspace((unsigned char)*p))
    p++;
  *rest = p;
  return line;
}

/* A new, empty program NAME at the end of SH. */
static struct sheet_program *
add_program(struct sheet_reader *r, struct sheet *sh, const char *name)
{
  struct sheet_program *grown, *p;

  grown = realloc(sh->programs, (sh->count + 1) * sizeof(*grown));
  if (!grown) {
    sheet_error(r, "out of memory");
    return NULL;
  }
  sh->programs = grown;
  p = &sh->programs[sh->count];
  memset(p, 0, sizeof(*p));
  p->line = r->line;
  p->expect_arch = SHEET_ARCH_NONE;
  if (!copy_text(p->name, sizeof(p->name), name)) {
    sheet_error(r, "program name too long");
    return NULL;
  }
  sh->count++;
  return p;
}

/* option CODE TYPE [ARGS] */
static int
program_option(struct sheet_reader *r, struct sheet_program *p, char *rest)
{
  struct sheet_option *o;
  char *type, *args, *end;
  unsigned long code = strtoul(rest, &end, 0);

  if (end == rest || code > 254)
    return sheet_error(r, "bad option code");
  if (p->option_count == SHEET_OPTIONS_MAX)
    return sheet_error(r, "more than %d options", SHEET_OPTIONS_MAX);
  while (isspace((unsigned char)*end))
    end++;
  type = first_word(end, &args);
  o = &p->options[p->option_count];
  o->code = (uint8_t)code;
  if (!*type || !copy_text(o->type, sizeof(o->type), type) ||
      !copy_text(o->args, sizeof(o->args), args))
    return sheet_error(r, "bad option line");
  p->option_count++;
  return 0;
}

/* ipxe-version X.Y.Z */
static int
program_version(struct sheet_reader *r, struct sheet_program *p,
                const char *rest)
{
  unsigned v[3];

  if (sscanf(rest, "%u.%u.%u", &v[0], &v[1], &v[2]) != 3 || v[0] > 255 ||
      v[1] > 255 || v[2] > 255)
    return sheet_error(r, "bad ipxe-version");
  for (int i = 0; i < 3; i++)
    p->version[i] = (uint8_t)v[i];
  p->has_version = true;
  return 0;
}

/* ipxe-features NAME[=VALUE]… */
static int
program_features(struct sheet_reader *r, struct sheet_program *p, char *rest)
{
  char *word, *save = NULL;

  for (word = strtok_r(rest, " \t", &save); word;
       word = strtok_r(NULL, " \t", &save)) {
    if (p->feature_count == SHEET_FEATURES_MAX)
      return sheet_error(r, "more than %d features", SHEET_FEATURES_MAX);
    if (!copy_text(p->features[p->feature_count++], SHEET_NAME_MAX, word))
      return sheet_error(r, "feature name too long");
  }
  return 0;
}

/* expect class C arch N|- own O [warnings W,…] */
static int
program_expect(struct sheet_reader *r, struct sheet_program *p,
               const char *rest)
{
  char cls[SHEET_NAME_MAX], arch[16], own[SHEET_NAME_MAX];
  int used = 0;

  if (sscanf(rest, "class %63s arch %15s own %63s%n", cls, arch, own, &used) !=
      3)
    return sheet_error(r, "expect needs: class C arch N own O");
  rest += used;
  p->expect_warnings[0] = '\0';
  if (sscanf(rest, " warnings %255s%n", p->expect_warnings, &used) == 1)
    rest += used;
  if (*rest)
    return sheet_error(r, "expect: unknown '%s'", rest);
  strcpy(p->expect_class, cls);
  strcpy(p->expect_own, own);
  p->expect_arch = strcmp(arch, "-") == 0 ? SHEET_ARCH_NONE : atoi(arch);
  p->has_expect = true;
  return 0;
}

/* One indented line of a program block. */
static int
program_line(struct sheet_reader *r, struct sheet_program *p, char *key,
             char *rest)
{
  size_t n = sizeof(skipped_program_keys) / sizeof(skipped_program_keys[0]);

  if (strcmp(key, "option") == 0)
    return program_option(r, p, rest);
  if (strcmp(key, "flags") == 0) {
    p->flags = strcmp(rest, "broadcast") == 0
                   ? BROADCAST_FLAG
                   : (uint16_t)strtoul(rest, NULL, 0);
    return 0;
  }
  if (strcmp(key, "pad-to") == 0) {
    p->pad_to = strtoul(rest, NULL, 0);
    return p->pad_to <= BUILDER_SIZE ? 0 : sheet_error(r, "pad-to too large");
  }
  if (strcmp(key, "secs") == 0) {
    p->secs_xid_low = strcmp(rest, "xid-low") == 0;
    p->secs = p->secs_xid_low ? 0 : (uint16_t)strtoul(rest, NULL, 0);
    return 0;
  }
  if (strcmp(key, "ipxe-version") == 0)
    return program_version(r, p, rest);
  if (strcmp(key, "ipxe-features") == 0)
    return program_features(r, p, rest);
  if (strcmp(key, "expect") == 0)
    return program_expect(r, p, rest);
  if (key_in(key, skipped_program_keys, n))
    return 0;
  return sheet_error(r, "unknown program line '%s'", key);
}

/* One line of the sheet (newline removed); *CURRENT is the program block
   being read, NULL in any other block. */
static int
sheet_line(struct sheet_reader *r, struct sheet *sh, char *line,
           struct sheet_program **current, bool *in_block)
{
  bool indented = isspace((unsigned char)line[0]);
  char *start = line, *key, *rest, *end;

  while (isspace((unsigned char)*start))
    start++;
  end = start + strlen(start);
  while (end > start && isspace((unsigned char)end[-1]))
    *--end = '\0';
  if (!*start || *start == '#')
    return 0;
  key = first_word(start, &rest);
  if (indented) {
    if (*current)
      return program_line(r, *current, key, rest);
    if (*in_block && key_in(key, machine_keys,
                            sizeof(machine_keys) / sizeof(machine_keys[0])))
      return 0;
    if (*in_block && key_in(key, program6_keys,
                            sizeof(program6_keys) / sizeof(program6_keys[0])))
      return 0;
    return sheet_error(r, "unexpected line '%s'", key);
  }
  *current = NULL;
  *in_block = true;
  if (strcmp(key, "program") == 0)
    return (*current = add_program(r, sh, rest)) ? 0 : -1;
  if (strcmp(key, "machine") == 0 || strcmp(key, "program6") == 0)
    return 0;
  if (strcmp(key, "identity") == 0) {
    *in_block = false;
    if (sh->identity_count == SHEET_IDENTITY_MAX ||
        !copy_text(sh->identities[sh->identity_count++], SHEET_TEXT_MAX, rest))
      return sheet_error(r, "too many or too long identities");
    return 0;
  }
  return sheet_error(r, "unknown block '%s'", key);
}

int
sheet_load(const char *path, struct sheet *sh, char *err, size_t errlen)
{
  struct sheet_reader r = {path, 0, err, errlen};
  struct sheet_program *current = NULL;
  bool in_block = false;
  char line[SHEET_LINE_MAX];
  FILE *f = fopen(path, "r");
  int ret = 0;

  memset(sh, 0, sizeof(*sh));
  if (!f) {
    snprintf(err, errlen, "cannot read %s", path);
    return -1;
  }
  while (ret == 0 && fgets(line, sizeof(line), f)) {
    r.line++;
    if (!strchr(line, '\n') && !feof(f))
      ret = sheet_error(&r, "line too long");
    else
      ret = sheet_line(&r, sh, line, &current, &in_block);
  }
  fclose(f);
  if (ret < 0)
    sheet_free(sh);
  return ret;
}

void
sheet_free(struct sheet *sh)
{
  free(sh->programs);
  sh->programs = NULL;
  sh->count = 0;
}

/* ------------------------------------------------------------------ */
/* Building a DISCOVER                                                 */

/* Hex digits of TEXT (blanks between them allowed) into OUT; the byte
   count, or -1. */
static int
parse_hex(const char *text, uint8_t *out, size_t size)
{
  size_t n = 0;
  int high = -1;

  for (const char *c = text; *c; c++) {
    int v;
    if (isspace((unsigned char)*c))
      continue;
    if (!isxdigit((unsigned char)*c))
      return -1;
    v = isdigit((unsigned char)*c) ? *c - '0' : tolower(*c) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else if (n == size) {
      return -1;
    } else {
      out[n++] = (uint8_t)(high << 4 | v);
      high = -1;
    }
  }
  return high < 0 ? (int)n : -1;
}

/* Option 93 from the library's architecture names in NAMES. */
static int
arch_bytes(const char *names, uint8_t *out, size_t size, char *err,
           size_t errlen)
{
  char copy[SHEET_TEXT_MAX], *word, *save = NULL;
  size_t n = 0;

  snprintf(copy, sizeof(copy), "%s", names);
  for (word = strtok_r(copy, " \t", &save); word;
       word = strtok_r(NULL, " \t", &save)) {
    const struct pxc_arch_info *info = pxc_arch_by_name(word);
    if (!info || n + 2 > size) {
      snprintf(err, errlen, "architecture '%s' unknown to the library", word);
      return -1;
    }
    out[n++] = (uint8_t)(info->code >> 8);
    out[n++] = (uint8_t)info->code;
  }
  return (int)n;
}

/* One feature sub-option (code 01 value) of "NAME[=VALUE]" at OUT. */
static int
feature_bytes(const char *item, uint8_t *out, char *err, size_t errlen)
{
  char name[SHEET_NAME_MAX];
  const char *eq = strchr(item, '=');
  size_t len = eq ? (size_t)(eq - item) : strlen(item);
  int code;

  snprintf(name, sizeof(name), "%.*s", (int)len, item);
  code = isdigit((unsigned char)name[0]) ? (int)strtol(name, NULL, 0)
                                         : pxc_feature_by_name(name);
  if (code < 0 || code > 254) {
    snprintf(err, errlen, "feature '%s' unknown to the library", name);
    return -1;
  }
  out[0] = (uint8_t)code;
  out[1] = 1;
  out[2] = (uint8_t)(eq ? strtoul(eq + 1, NULL, 0) : 1);
  return 3;
}

/* Option 175 as iPXE emits it: the machine's bus id, the version, the
   features in the sheet's order. */
static int
ipxe_bytes(const struct sheet_program *p, const struct sheet_machine *m,
           uint8_t *out, size_t size, char *err, size_t errlen)
{
  size_t n = 0;

  if (size < 7 + 5 + 3 * p->feature_count) {
    snprintf(err, errlen, "option 175 too long");
    return -1;
  }
  out[n++] = IPXE_BUSID;
  out[n++] = 5;
  out[n++] = m->bus_type;
  out[n++] = (uint8_t)(m->bus_vendor >> 8);
  out[n++] = (uint8_t)m->bus_vendor;
  out[n++] = (uint8_t)(m->bus_device >> 8);
  out[n++] = (uint8_t)m->bus_device;
  if (p->has_version) {
    out[n++] = IPXE_VERSION;
    out[n++] = 3;
    memcpy(out + n, p->version, 3);
    n += 3;
  }
  for (size_t i = 0; i < p->feature_count; i++) {
    int k = feature_bytes(p->features[i], out + n, err, errlen);
    if (k < 0)
      return -1;
    n += (size_t)k;
  }
  return (int)n;
}

/* The bytes of option O of program P for machine M into OUT; the count,
   or -1 with a message in ERR. */
static int
option_bytes(const struct sheet_program *p, const struct sheet_option *o,
             const struct sheet_machine *m, uint8_t *out, size_t size,
             char *err, size_t errlen)
{
  const char *t = o->type;

  if (strcmp(t, "msg-type") == 0) {
    out[0] = 1; /* DISCOVER */
    return 1;
  }
  if (strcmp(t, "u16") == 0) {
    unsigned long v = strtoul(o->args, NULL, 0);
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
    return 2;
  }
  if (strcmp(t, "hex") == 0)
    return parse_hex(o->args, out, size);
  if (strcmp(t, "text") == 0) {
    size_t n = strlen(o->args);
    memcpy(out, o->args, n < size ? n : size);
    return n < size ? (int)n : -1;
  }
  if (strcmp(t, "arch") == 0)
    return arch_bytes(o->args, out, size, err, errlen);
  if (strcmp(t, "uuid") == 0) {
    out[0] = 0;
    memcpy(out + 1, m->uuid, 16);
    return 17;
  }
  if (strcmp(t, "client-id") == 0) {
    out[0] = (uint8_t)(*o->args ? strtoul(o->args, NULL, 0) : 1);
    memcpy(out + 1, m->mac, 6);
    return 7;
  }
  if (strcmp(t, "ipxe") == 0)
    return ipxe_bytes(p, m, out, size, err, errlen);
  snprintf(err, errlen, "unknown option type '%s'", t);
  return -1;
}

int
sheet_build_discover(const struct sheet_program *p,
                     const struct sheet_machine *m, uint32_t xid,
                     struct builder *b, char *err, size_t errlen)
{
  uint8_t value[255];
  uint16_t secs = p->secs_xid_low ? (uint16_t)xid : p->secs;

  builder_request(b, m->mac, xid, 0);
  b->buf[8] = (uint8_t)(secs >> 8);
  b->buf[9] = (uint8_t)secs;
  b->buf[10] = (uint8_t)(p->flags >> 8);
  b->buf[11] = (uint8_t)p->flags;
  for (size_t i = 0; i < p->option_count; i++) {
    char why[128] = "bad value";
    int n = option_bytes(p, &p->options[i], m, value, sizeof(value), why,
                         sizeof(why));
    if (n < 0) {
      snprintf(err, errlen, "program %s, option %u: %s", p->name,
               p->options[i].code, why);
      return -1;
    }
    builder_option(b, p->options[i].code, value, (size_t)n);
  }
  builder_end(b);
  if (b->len < p->pad_to)
    b->len = p->pad_to; /* builder_request zeroed the buffer */
  return 0;
}
