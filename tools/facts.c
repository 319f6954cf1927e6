/*
 * pxeclass facts / pxeclass config: what the library knows, and what it
 * reads in a dnsmasq.conf, as JSON for other programs (the Python lab).
 *
 * Every item comes from the library's API as it is asked, so the lab and
 * the dnsmasq patch cannot disagree on a name: nothing here is a copy of
 * a table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FLAG_BITS 32
#define BUS_TYPES 256

/* ------------------------------------------------------------------ */
/* pxeclass facts                                                      */

/* "families": [names] of the PXC_FAM_* bits set in BITS. */
static void
print_family_names(uint32_t bits)
{
  const char *sep = "";

  fputs("[", stdout);
  for (unsigned i = 0; i < 32; i++)
    if (bits & (1u << i)) {
      fputs(sep, stdout);
      json_str(pxc_family_name(1u << i));
      sep = ",";
    }
  fputs("]", stdout);
}

/* "architectures": every entry of the option 93 table. */
static void
print_architectures(void)
{
  const struct pxc_arch_info *a;
  const char *sep = "\n  ";

  fputs(",\n\"architectures\":[", stdout);
  for (size_t i = 0; (a = pxc_arch_at(i)); i++) {
    printf("%s{\"code\":%u", sep, a->code);
    json_key(",", "name");
    json_str(a->name);
    json_key(",", "iana");
    json_str(a->iana);
    json_key(",", "families");
    print_family_names(a->families);
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "families": the family bits that have a name. */
static void
print_families(void)
{
  const char *sep = "\n  ";

  fputs(",\n\"families\":[", stdout);
  for (unsigned i = 0; i < 32; i++) {
    const char *name = pxc_family_name(1u << i);
    if (!name)
      continue;
    printf("%s{\"bit\":%u,\"mask\":%u", sep, i, 1u << i);
    json_key(",", "name");
    json_str(name);
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "feature_range" and "features": the iPXE feature flags the library
   names, and the codes iPXE can announce at all. */
static void
print_features(void)
{
  const char *sep = "\n  ";
  int code;

  printf(",\n\"feature_range\":{\"first\":%u,\"last\":%u}", PXC_FEATURE_FIRST,
         PXC_FEATURE_LAST);
  fputs(",\n\"features\":[", stdout);
  for (size_t i = 0; (code = pxc_feature_at(i)) >= 0; i++) {
    printf("%s{\"code\":%d", sep, code);
    json_key(",", "name");
    json_str(pxc_feature_name((uint8_t)code));
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "buses": the iPXE bus types (sub-option 177) that have a name. */
static void
print_buses(void)
{
  const char *sep = "\n  ";

  fputs(",\n\"buses\":[", stdout);
  for (unsigned type = 0; type < BUS_TYPES; type++) {
    const char *name = pxc_bus_name((uint8_t)type);
    if (!name)
      continue;
    printf("%s{\"type\":%u", sep, type);
    json_key(",", "name");
    json_str(name);
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "classes" (with starts_chain and netboot), "agents" (with their class
   and description) and "own": the verdict names; the request's
   "ip_families" and "mac_sources". */
static void
print_classes(void)
{
  const char *sep = "\n  ";

  fputs(",\n\"classes\":[", stdout);
  for (int cls = 0; cls < PXC_CLASS_COUNT; cls++) {
    fputs(sep, stdout);
    json_key("{", "name");
    json_str(pxc_class_name((enum pxc_class)cls));
    printf(",\"starts_chain\":%s,\"netboot\":%s}",
           pxc_class_starts_chain((enum pxc_class)cls) ? "true" : "false",
           pxc_class_is_netboot((enum pxc_class)cls) ? "true" : "false");
    sep = ",\n  ";
  }
  fputs("]", stdout);
  fputs(",\n\"agents\":[", stdout);
  sep = "\n  ";
  for (int a = PXC_AGENT_NONE + 1; a < PXC_AGENT_COUNT; a++) {
    fputs(sep, stdout);
    json_key("{", "name");
    json_str(pxc_agent_name((enum pxc_agent)a));
    json_key(",", "class");
    json_str(pxc_class_name(pxc_agent_class((enum pxc_agent)a)));
    json_key(",", "text");
    json_str(pxc_agent_text((enum pxc_agent)a));
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
  fputs(",\n\"own\":[", stdout);
  sep = "";
  for (int own = PXC_OWN_UNKNOWN; own <= PXC_OWN_OWN; own++) {
    fputs(sep, stdout);
    json_str(pxc_own_name((enum pxc_own)own));
    sep = ",";
  }
  fputs("]", stdout);
  fputs(",\n\"ip_families\":[", stdout);
  for (int f = 0; f < PXC_IP_FAMILY_COUNT; f++) {
    fputs(f ? "," : "", stdout);
    json_str(pxc_ip_family_name((enum pxc_ip_family)f));
  }
  fputs("],\n\"mac_sources\":[", stdout);
  for (int m = 0; m < PXC_MAC_SOURCE_COUNT; m++) {
    fputs(m ? "," : "", stdout);
    json_str(pxc_mac_source_name((enum pxc_mac_source)m));
  }
  fputs("]", stdout);
}

/* "KEY": [NAME_AT(0), NAME_AT(1), …] up to the first NULL. */
static void
print_name_list(const char *key, const char *(*name_at)(size_t))
{
  const char *name, *sep = "";

  json_key(",\n", key);
  fputs("[", stdout);
  for (size_t i = 0; (name = name_at(i)); i++) {
    fputs(sep, stdout);
    json_str(name);
    sep = ",";
  }
  fputs("]", stdout);
}

/* "KEY": [{bit, mask, name, text}] of the error or warning flags. */
static void
print_flags(const char *key, const char *(*name_of)(uint32_t),
            const char *(*text_of)(uint32_t))
{
  const char *sep = "\n  ";

  json_key(",\n", key);
  fputs("[", stdout);
  for (unsigned i = 0; i < FLAG_BITS; i++) {
    const char *name = name_of(1u << i);
    if (!name)
      continue;
    printf("%s{\"bit\":%u,\"mask\":%u", sep, i, 1u << i);
    json_key(",", "name");
    json_str(name);
    json_key(",", "text");
    json_str(text_of(1u << i));
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* The usage of `pxeclass facts`. */
static void
facts_usage(FILE *out)
{
  fprintf(out, "usage: pxeclass facts --json\n"
               "The library's fact tables (architectures, families, iPXE "
               "features and bus types,\nclasses, selectors, directives, "
               "error and warning flags) as one JSON document.\n");
}

/* pxeclass facts --json: the whole document on stdout. */
int
cmd_facts(int argc, char **argv)
{
  bool json = false;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      facts_usage(stdout);
      return 0;
    } else {
      facts_usage(stderr);
      return 2;
    }
  }
  if (!json) {
    facts_usage(stderr);
    return 2;
  }
  json_key("{", "version");
  json_str(PXC_VERSION);
  printf(",\"abi\":%d", PXC_ABI);
  print_architectures();
  print_families();
  print_features();
  print_buses();
  print_classes();
  print_name_list("class_selectors", pxc_class_selector_name);
  print_name_list("directives", pxc_directive_name);
  print_flags("errors", pxc_error_name, pxc_error_text);
  print_flags("warnings", pxc_warning_name, pxc_warning_text);
  fputs("\n}\n", stdout);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* pxeclass config                                                     */

/* A directive line of the config, copied out of the reader's buffers. */
struct record {
  char *path;
  unsigned line;
  char *name;
  char *value;     /* NULL: the line had no '=' */
  const char *tag; /* the tag it sets (owned by the config), or NULL */
};

struct records {
  struct record *items;
  size_t count, size;
};

/* strdup that keeps NULL. */
static char *
copy_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

/* conf_read() callback: keep a copy of the line's place and text. */
static int
keep_record(void *ctx, const struct conf_directive *d)
{
  struct records *rs = ctx;
  struct record *r;

  if (rs->count == rs->size) {
    size_t size = rs->size ? rs->size * 2 : 16;
    struct record *items = realloc(rs->items, size * sizeof(*items));
    if (!items)
      return -1;
    rs->items = items;
    rs->size = size;
  }
  r = &rs->items[rs->count];
  *r = (struct record){strdup(d->path), d->line, strdup(d->name),
                       copy_or_null(d->value), NULL};
  if (!r->path || !r->name || (d->value && !r->value)) {
    free(r->path);
    free(r->name);
    free(r->value);
    return -1;
  }
  rs->count++;
  return 0;
}

/* Free the copies keep_record() made. */
static void
free_records(struct records *rs)
{
  for (size_t i = 0; i < rs->count; i++) {
    free(rs->items[i].path);
    free(rs->items[i].name);
    free(rs->items[i].value);
  }
  free(rs->items);
}

/* The rules are in config order, one per tag-setting line: give each
   such record its rule's tag. */
static void
attach_tags(const struct pxc_config *cfg, struct records *rs)
{
  size_t at = 0, n = pxc_rule_count(cfg);

  for (size_t i = 0; i < n; i++) {
    const char *directive = pxc_rule_directive(cfg, i);
    while (at < rs->count && strcmp(rs->items[at].name, directive) != 0)
      at++;
    if (at == rs->count)
      return;
    rs->items[at++].tag = pxc_rule_tag(cfg, i);
  }
}

/* The record of the I-th line named NAME, or NULL. */
static const struct record *
nth_record(const struct records *rs, const char *name, size_t i)
{
  for (size_t k = 0; k < rs->count; k++)
    if (strcmp(rs->items[k].name, name) == 0 && i-- == 0)
      return &rs->items[k];
  return NULL;
}

/* "file": …, "line": … of R (null for both without one). */
static void
print_place(const struct record *r)
{
  json_key(",", "file");
  json_str(r ? r->path : NULL);
  if (r)
    printf(",\"line\":%u", r->line);
  else
    fputs(",\"line\":null", stdout);
}

/* "directives": each pxeclass line with its place and its tag. */
static void
print_directives(const struct records *rs)
{
  const char *sep = "\n  ";

  fputs(",\n\"directives\":[", stdout);
  for (size_t i = 0; i < rs->count; i++) {
    const struct record *r = &rs->items[i];
    fputs(sep, stdout);
    json_key("{", "directive");
    json_str(r->name);
    json_key(",", "value");
    json_str(r->value);
    json_key(",", "tag");
    json_str(r->tag);
    print_place(r);
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "features": [{code, name}] of an identity's bitmap. */
static void
print_identity_features(const uint8_t features[16])
{
  const char *sep = "";

  fputs(",\"features\":[", stdout);
  for (unsigned code = 0; code < 128; code++)
    if (features[code / 8] & (1u << (code % 8))) {
      printf("%s{\"code\":%u", sep, code);
      json_key(",", "name");
      json_str(pxc_feature_name((uint8_t)code));
      fputs("}", stdout);
      sep = ",";
    }
  fputs("]", stdout);
}

/* "identities": each dhcp-ipxe-own line as the library parsed it, with
   the place of its line. */
static void
print_identities(const struct pxc_config *cfg, const struct records *rs)
{
  struct pxc_identity_info id;
  const char *sep = "\n  ";

  fputs(",\n\"identities\":[", stdout);
  for (size_t i = 0; pxc_identity_get(cfg, i, &id); i++) {
    fputs(sep, stdout);
    json_key("{", "text");
    json_str(id.text);
    json_key(",", "user_class");
    json_str(id.user_class);
    print_identity_features(id.features);
    fputs(",\"version\":", stdout);
    if (id.has_version) {
      json_key("{", "op");
      json_str(id.version_op);
      printf(",\"value\":\"%u.%u.%u\"}", id.version[0], id.version[1],
             id.version[2]);
    } else {
      fputs("null", stdout);
    }
    printf(",\"chained\":%s", id.chained ? "true" : "false");
    print_place(nth_record(rs, "dhcp-ipxe-own", i));
    fputs("}", stdout);
    sep = ",\n  ";
  }
  fputs("]", stdout);
}

/* "tracker": the chain tracker's parameters, null if none is needed. */
static void
print_tracker(const struct pxc_config *cfg)
{
  struct pxc_guard_info g;

  fputs(",\n\"tracker\":", stdout);
  if (!pxc_config_tracker_info(cfg, &g)) {
    fputs("null", stdout);
    return;
  }
  printf("{\"guard\":%s,\"hops\":%u,\"window\":%u,\"capacity\":%u",
         g.guard ? "true" : "false", g.hops, g.window, g.capacity);
  json_key(",", "tag");
  json_str(g.tag);
  fputs("}", stdout);
}

/* The whole `config --json` document for the finished CFG. */
static void
print_config_json(const char *path, const struct pxc_config *cfg,
                  const struct records *rs)
{
  json_key("{", "config");
  json_str(path);
  print_directives(rs);
  print_identities(cfg, rs);
  print_tracker(cfg);
  fputs(",\n\"arch9\":", stdout);
  json_str(pxc_config_arch9_is_ebc(cfg) ? "ebc" : "x64");
  fputs("\n}\n", stdout);
}

/* The directives, one per line: FILE:LINE: name=value [tag]. */
static void
print_config_text(const struct records *rs)
{
  for (size_t i = 0; i < rs->count; i++) {
    const struct record *r = &rs->items[i];
    printf("%s:%u: %s%s%s", r->path, r->line, r->name, r->value ? "=" : "",
           r->value ? r->value : "");
    if (r->tag)
      printf("  (sets %s)", r->tag);
    putchar('\n');
  }
}

/* The usage of `pxeclass config`. */
static void
config_usage(FILE *out)
{
  fprintf(out, "usage: pxeclass config [--json] dnsmasq.conf\n"
               "The pxeclass directives of a dnsmasq config (conf-file and "
               "conf-dir followed),\nwith their file and line, the parsed "
               "dhcp-ipxe-own identities and the chain\ntracker's parameters. "
               "Errors read as dnsmasq prints them; exit status 1.\n");
}

/* pxeclass config [--json] FILE: read FILE as dnsmasq would, print its
   pxeclass lines; status 1 with dnsmasq's message if one is refused. */
int
cmd_config(int argc, char **argv)
{
  static const struct option options[] = {
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct records rs = {0};
  struct pxc_config *cfg;
  bool json = false;
  char err[1024];
  int c, status = 0;

  while ((c = getopt_long(argc, argv, "jh", options, NULL)) != -1) {
    if (c == 'j') {
      json = true;
    } else if (c == 'h') {
      config_usage(stdout);
      return 0;
    } else {
      config_usage(stderr);
      return 2;
    }
  }
  if (optind != argc - 1) {
    config_usage(stderr);
    return 2;
  }
  cfg = pxc_config_new();
  if (!cfg) {
    fprintf(stderr, "pxeclass config: out of memory\n");
    return 1;
  }
  if (conf_read(cfg, argv[optind], keep_record, &rs, err, sizeof(err)) < 0) {
    fprintf(stderr, "pxeclass config: %s\n", err);
    if (json) {
      json_key("{", "error");
      json_str(err);
      fputs("}\n", stdout);
    }
    status = 1;
  } else {
    attach_tags(cfg, &rs);
    if (json)
      print_config_json(argv[optind], cfg, &rs);
    else
      print_config_text(&rs);
    if (fflush(stdout) != 0)
      status = 1;
  }
  free_records(&rs);
  pxc_config_free(cfg);
  return status;
}
