/*
 * pxeclass: the command-line face of libpxeclass.
 *   pxeclass explain …   classify the DHCP requests of captures
 *   pxeclass watch …     the same, live, for the DHCP of an interface
 *   pxeclass lab …       play boot clients against the patched dnsmasq
 *   pxeclass facts …     the library's fact tables, as JSON
 *   pxeclass config …    the pxeclass lines of a dnsmasq.conf, parsed
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"explain", cmd_explain, "classify every DHCP request of a capture"},
    {"watch", cmd_watch, "classify DHCP requests live on an interface"},
    {"lab", cmd_lab, "play every boot client against a dnsmasq config (root)"},
    {"facts", cmd_facts, "the library's fact tables as JSON"},
    {"config", cmd_config, "the pxeclass lines of a dnsmasq config, parsed"},
};

static void
usage(FILE *out)
{
  fprintf(out, "usage: pxeclass COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\npxeclass %s\n", PXC_VERSION);
}

int
main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("pxeclass %s\n", PXC_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "pxeclass: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
