/*
 * Reading the firmware fact sheet (tools/pxelab/firmware.sheet) for the
 * unit tests: the programs, the options each sends, and the verdict the
 * library must give each.  The lab and the network tests read the same
 * file (tools/pxelab/firmware.py); its header describes the format.
 */
#ifndef PXC_TEST_FACTSHEET_H
#define PXC_TEST_FACTSHEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"

#define SHEET_NAME_MAX     64
#define SHEET_TEXT_MAX     256
#define SHEET_OPTIONS_MAX  24
#define SHEET_FEATURES_MAX 32
#define SHEET_IDENTITY_MAX 8
#define SHEET_ARCH_NONE    -1

/* One `option CODE TYPE ARGS` line, as written. */
struct sheet_option {
  uint8_t code;
  char type[16];
  char args[SHEET_TEXT_MAX]; /* the rest of the line, maybe empty */
};

/* One `program` block. */
struct sheet_program {
  char name[SHEET_NAME_MAX];
  unsigned line; /* of the block's first line */
  uint16_t flags;
  size_t pad_to;
  bool secs_xid_low; /* secs xid-low: secs = the xid's low 16 bits (GRUB) */
  uint16_t secs;     /* else this number */
  size_t option_count;
  struct sheet_option options[SHEET_OPTIONS_MAX];
  bool has_version;
  uint8_t version[3];
  size_t feature_count;
  char features[SHEET_FEATURES_MAX][SHEET_NAME_MAX]; /* NAME or NAME=VALUE */
  bool has_expect;
  char expect_class[SHEET_NAME_MAX];
  int expect_arch; /* SHEET_ARCH_NONE: no architecture */
  char expect_own[SHEET_NAME_MAX];
  char expect_warnings[SHEET_TEXT_MAX]; /* "a,b" in bit order; "" for none */
};

struct sheet {
  size_t count;
  struct sheet_program *programs;
  size_t identity_count;
  /* the dhcp-ipxe-own values the verdicts assume */
  char identities[SHEET_IDENTITY_MAX][SHEET_TEXT_MAX];
};

/* The hardware a packet is built for: what `uuid`, `client-id` and the
   bus id of `ipxe` options take. */
struct sheet_machine {
  uint8_t mac[6];
  uint8_t uuid[16];
  uint8_t bus_type;
  uint16_t bus_vendor, bus_device;
};

/* Read the sheet at PATH into SH.  Returns 0, or -1 with "PATH:LINE: …"
   in ERR.  Free with sheet_free(). */
int sheet_load(const char *path, struct sheet *sh, char *err, size_t errlen);
void sheet_free(struct sheet *sh);

/* The program's DISCOVER from machine M into B (header flags, options in
   the sheet's order, END, padding).  Returns 0, or -1 with a message in
   ERR (an option type, architecture or feature the library does not
   know). */
int sheet_build_discover(const struct sheet_program *p,
                         const struct sheet_machine *m, uint32_t xid,
                         struct builder *b, char *err, size_t errlen);

#endif
