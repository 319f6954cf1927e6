/*
 * Reading a dnsmasq.conf the way dnsmasq does (option.c read_file): one
 * option per line, "#" after white space starts a comment, double quotes
 * group text and allow \" \\ \t \n \e \b \r, spaces around "=" are allowed.
 * conf-file= and conf-dir= are followed.  Lines that are pxeclass
 * directives go to the library; every other line is ignored, since dnsmasq
 * itself judges those.  Errors read "<message> at line N of FILE", as
 * dnsmasq prints them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CONF_MAX_DEPTH 16
#define CONF_LINE_MAX  1025 /* dnsmasq reads lines of up to MAXDNAME bytes */

struct conf_reader {
  struct pxc_config *cfg;
  conf_directive_fn *fn; /* told of each directive the library took */
  void *ctx;
  char *err;
  size_t errlen;
  unsigned depth;
  unsigned directives; /* pxeclass lines seen */
};

static int read_conf_file(struct conf_reader *r, const char *path);

/* The escape characters dnsmasq accepts after a backslash inside quotes. */
static char
unescape(char c)
{
  static const char from[] = "tnbre", to[] = "\t\n\b\r\033";
  const char *p = strchr(from, c);

  return p ? to[p - from] : c;
}

/*
 * Remove quotes (keeping their content and resolving escapes) and cut the
 * comment off LINE, in place.  Returns false on an unterminated quote.
 */
static bool
strip_quotes_and_comment(char *line)
{
  char *in = line, *out = line;
  bool white = true;

  while (*in) {
    if (*in == '"') {
      for (in++; *in && *in != '"'; in++) {
        if (*in == '\\' && in[1] && strchr("\"tnebr\\", in[1]))
          *out++ = unescape(*++in);
        else
          *out++ = *in;
      }
      if (!*in)
        return false;
      in++;
      white = false;
      continue;
    }
    if (white && *in == '#')
      break;
    white = (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n');
    *out++ = white ? ' ' : *in;
    in++;
  }
  *out = '\0';
  return true;
}

/* Write "<msg> at line N of FILE" into the reader's error buffer. */
static int
line_error(struct conf_reader *r, const char *msg, unsigned line,
           const char *path)
{
  snprintf(r->err, r->errlen, "%s at line %u of %s", msg, line, path);
  return -1;
}

/* dnsmasq skips backups, hidden files and emacs autosaves in a conf-dir. */
static bool
conf_dir_skips(const char *name)
{
  size_t n = strlen(name);

  return name[0] == '.' || name[n - 1] == '~' ||
         (name[0] == '#' && n > 1 && name[n - 1] == '#');
}

/* True if NAME ends in SUFFIX. */
static bool
ends_with(const char *name, const char *suffix)
{
  size_t n = strlen(name), s = strlen(suffix);

  return n >= s && strcmp(name + n - s, suffix) == 0;
}

/*
 * conf-dir=<dir>[,<ext>…]: every file of DIR in alphabetical order;
 * "*.ext" selects only those extensions, a bare ".ext" excludes one.
 */
static int
read_conf_dir(struct conf_reader *r, char *value)
{
  char *dir = strsep(&value, ","), *exts = value;
  struct dirent **names;
  int n, ret = 0;

  n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) {
    snprintf(r->err, r->errlen, "cannot access directory %s: %s", dir,
             strerror(errno));
    return -1;
  }
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    bool wanted = !conf_dir_skips(name), have_match = false, matched = false;
    char *list = exts ? strdup(exts) : NULL, *cursor = list, *ext;

    while (list && (ext = strsep(&cursor, ","))) {
      if (ext[0] == '*') {
        have_match = true;
        matched |= ends_with(name, ext + 1);
      } else if (*ext && ends_with(name, ext)) {
        wanted = false;
      }
    }
    free(list);
    if (have_match && !matched)
      wanted = false;
    if (wanted && ret == 0) {
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", dir, name);
      if (names[i]->d_type == DT_REG || names[i]->d_type == DT_UNKNOWN ||
          names[i]->d_type == DT_LNK)
        ret = read_conf_file(r, path);
    }
    free(names[i]);
  }
  free(names);
  return ret;
}

/* Handle one logical line: follow includes, hand our directives over. */
static int
conf_line(struct conf_reader *r, char *line, unsigned lineno, const char *path)
{
  char *name = line, *value = NULL, *eq = strchr(line, '=');
  char msg[512];

  if (eq) {
    char *end = eq;
    value = eq + 1;
    while (*value == ' ')
      value++;
    while (end > name && (end[-1] == ' '))
      end--;
    *end = '\0';
  }
  if (strcmp(name, "conf-file") == 0 && value && *value)
    return read_conf_file(r, value);
  if (strcmp(name, "conf-dir") == 0 && value && *value)
    return read_conf_dir(r, value);
  if (!pxc_is_directive(name))
    return 0;
  r->directives++;
  if (pxc_config_add(r->cfg, name, value, msg, sizeof(msg)) < 0)
    return line_error(r, msg, lineno, path);
  if (r->fn) {
    struct conf_directive d = {path, lineno, name, value};
    if (r->fn(r->ctx, &d) < 0) {
      snprintf(r->err, r->errlen, "out of memory at line %u of %s", lineno,
               path);
      return -1;
    }
  }
  return 0;
}

/* Read one file, line by line. */
static int
read_conf_file(struct conf_reader *r, const char *path)
{
  char line[CONF_LINE_MAX];
  unsigned lineno = 0;
  FILE *f;
  int ret = 0;

  if (r->depth >= CONF_MAX_DEPTH) {
    snprintf(r->err, r->errlen, "conf-file nesting deeper than %d at %s",
             CONF_MAX_DEPTH, path);
    return -1;
  }
  f = fopen(path, "r");
  if (!f) {
    snprintf(r->err, r->errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  r->depth++;
  while (ret == 0 && fgets(line, sizeof(line), f)) {
    char *start = line, *end;
    lineno++;
    if (!strip_quotes_and_comment(line)) {
      ret = line_error(r, "missing \"", lineno, path);
      break;
    }
    while (*start == ' ')
      start++;
    end = start + strlen(start);
    while (end > start && end[-1] == ' ')
      *--end = '\0';
    if (*start)
      ret = conf_line(r, start, lineno, path);
  }
  r->depth--;
  fclose(f);
  return ret;
}

/* Read PATH (and what it includes) into CFG, telling FN of each directive
   the library took, then finish CFG: see cli.h. */
int
conf_read(struct pxc_config *cfg, const char *path, conf_directive_fn *fn,
          void *ctx, char *err, size_t errlen)
{
  struct conf_reader r = {cfg, fn, ctx, err, errlen, 0, 0};

  if (read_conf_file(&r, path) < 0)
    return -1;
  return pxc_config_finish(cfg, err, errlen);
}

/* conf_read() for callers that need no record of the lines. */
int
conf_load(struct pxc_config *cfg, const char *path, char *err, size_t errlen)
{
  return conf_read(cfg, path, NULL, NULL, err, errlen);
}
