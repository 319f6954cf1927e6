/*
 * pxeclass lab: hand over to the Python lab (tools/pxelab/lab.py).
 *
 * The lab itself is Python (standard library only); this front end finds
 * it — next to the sources when run from the build tree, under
 * <datadir>/pxeclass when installed — and tells it the defaults that only
 * the build knows: the lab's own config (examples/lab.conf), the newest
 * patched dnsmasq, and this very executable, which the lab asks for
 * libpxeclass's facts and for the pxeclass lines of a config.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lab-paths.h"

#define LAB_MODULE "pxelab.lab"
#define LAB_EXIT_ENVIRONMENT 3

/* Where the lab's Python package and its examples live. */
struct lab_place {
  char python_path[PATH_MAX]; /* directory holding pxelab/ */
  char examples[PATH_MAX];    /* directory holding lab.conf */
};

/* OUT = DIR + "/" + NAME; false if it does not fit in LEN bytes. */
static bool
join_path(char *out, size_t len, const char *dir, const char *name)
{
  int n = snprintf(out, len, "%s/%s", dir, name);

  return n >= 0 && (size_t)n < len;
}

/* True if PATH names an existing file. */
static bool
file_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

/* True if this executable is the one in the build tree. */
static bool
running_from_build_tree(void)
{
  char exe[PATH_MAX], tools[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

  if (n <= 0 || !realpath(PXC_LAB_BUILD_TOOLS, tools))
    return false;
  exe[n] = '\0';
  return strcmp(dirname(exe), tools) == 0;
}

/* Fill PLACE with the source tree (SOURCE true) or the installed copy;
   false if that copy is not there. */
static bool
lab_place_at(struct lab_place *place, bool source)
{
  char module[PATH_MAX];
  const char *root = source ? PXC_LAB_SOURCE_ROOT : PXC_LAB_DATA_DIR;

  if (source) {
    if (!join_path(place->python_path, sizeof(place->python_path), root, "tools"))
      return false;
  } else if (!join_path(place->python_path, sizeof(place->python_path), root, "")) {
    return false;
  }
  return join_path(place->examples, sizeof(place->examples), root, "examples") &&
         join_path(module, sizeof(module), place->python_path, "pxelab/lab.py") &&
         file_exists(module);
}

/* The build tree's lab for the build tree's binary, the installed one
   otherwise; the other one if the first is missing. */
static bool
find_lab(struct lab_place *place)
{
  bool source_first = running_from_build_tree();

  return lab_place_at(place, source_first) || lab_place_at(place, !source_first);
}

/* Set NAME to VALUE unless the caller's environment already has it. */
static void
default_env(const char *name, const char *value)
{
  if (value && *value)
    setenv(name, value, 0);
}

/* PYTHONPATH with DIR in front of whatever was there. */
static void
prepend_python_path(const char *dir)
{
  const char *old = getenv("PYTHONPATH");
  size_t len = strlen(dir) + (old ? strlen(old) + 1 : 0) + 1;
  char *value = malloc(len);

  if (!value)
    return;
  snprintf(value, len, "%s%s%s", dir, old && *old ? ":" : "", old ? old : "");
  setenv("PYTHONPATH", value, 1);
  free(value);
}

/* This executable, so the lab asks it (`pxeclass facts --json`, `pxeclass
   config --json`) what the library knows and reads: the lab keeps no copy
   of the library's tables or of the directives' grammar. */
static void
export_cli(void)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

  if (n <= 0)
    return;
  exe[n] = '\0';
  setenv("PXC_LAB_CLI", exe, 1);
}

/* The newest patched dnsmasq of the build tree, else the installed one. */
static const char *
default_dnsmasq(void)
{
  if (*PXC_LAB_BUILD_DNSMASQ && file_exists(PXC_LAB_BUILD_DNSMASQ))
    return PXC_LAB_BUILD_DNSMASQ;
  if (*PXC_LAB_INSTALLED_DNSMASQ && file_exists(PXC_LAB_INSTALLED_DNSMASQ))
    return PXC_LAB_INSTALLED_DNSMASQ;
  return NULL;
}

/* True if the arguments only ask for the lab's usage. */
static bool
asks_for_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return true;
  return false;
}

int
cmd_lab(int argc, char **argv)
{
  struct lab_place place;
  char config[PATH_MAX];
  char **args;

  /* First, since an unprivileged user may not even reach the lab's files
     (a checkout in a private directory). */
  if (geteuid() != 0 && !asks_for_help(argc, argv)) {
    fprintf(stderr, "pxeclass lab: needs root: it creates network namespaces "
                    "(run it with sudo)\n");
    return LAB_EXIT_ENVIRONMENT;
  }
  if (!find_lab(&place)) {
    fprintf(stderr, "pxeclass lab: the lab (pxelab/lab.py) is missing: looked in "
                    "%s/tools and %s\n", PXC_LAB_SOURCE_ROOT, PXC_LAB_DATA_DIR);
    return LAB_EXIT_ENVIRONMENT;
  }
  if (!join_path(config, sizeof(config), place.examples, "lab.conf"))
    config[0] = '\0';
  prepend_python_path(place.python_path);
  default_env("PXC_LAB_DEFAULT_CONFIG", config);
  default_env("PXC_LAB_DNSMASQ", default_dnsmasq());
  export_cli();

  /* -P: no current directory on sys.path, only PYTHONPATH's lab;
     -B: no __pycache__ written next to an installed lab */
  args = calloc((size_t)argc + 5, sizeof(*args));
  if (!args)
    return LAB_EXIT_ENVIRONMENT;
  args[0] = "python3";
  args[1] = "-P";
  args[2] = "-B";
  args[3] = "-m";
  args[4] = LAB_MODULE;
  for (int i = 1; i < argc; i++)
    args[i + 4] = argv[i];
  execvp(args[0], args);
  fprintf(stderr, "pxeclass lab: cannot run python3: %s\n", strerror(errno));
  free(args);
  return LAB_EXIT_ENVIRONMENT;
}
