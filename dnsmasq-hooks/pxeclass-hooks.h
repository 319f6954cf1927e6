/* pxeclass hooks for dnsmasq: the glue between dnsmasq and libpxeclass.

   This file and pxeclass-hooks.c are copied into dnsmasq's src/ by the
   pxeclass patch series.  dnsmasq's own files only include this header,
   expand the tables below and call the hooks, all under HAVE_PXECLASS;
   everything else lives here and in libpxeclass.

   This program is free software; you can redistribute it and/or modify
   it under the terms of the GNU General Public License as published by
   the Free Software Foundation; version 2 dated June, 1991, or
   (at your option) version 3 dated 29 June, 2007.  */

#ifndef PXECLASS_HOOKS_H
#define PXECLASS_HOOKS_H

#ifdef HAVE_PXECLASS

/* The directives pxeclass adds, one line each and nowhere else:
   long-option number, name, argument synopsis and --help text.
   The numbers sit far above dnsmasq's own LOPT_* (below 400 up to 2.93)
   so that upstream can grow without a clash.  libpxeclass parses the
   values. */
#define PXECLASS_DIRECTIVES(D)						\
  D(600, "dhcp-pxe-class", "set:<tag>,<class>[,...]",			\
    "Set tag if the boot firmware class matches.")			\
  D(601, "dhcp-pxe-arch", "set:<tag>,<arch>[,...]",			\
    "Set tag if the client architecture matches.")			\
  D(602, "dhcp-ipxe-feature", "set:<tag>,<feature>[,...]",		\
    "Set tag if iPXE announces all the features.")			\
  D(603, "dhcp-ipxe-version", "set:<tag>,<op><version>",		\
    "Set tag if the iPXE version compares true.")			\
  D(604, "dhcp-ipxe-busid", "set:<tag>,<bus>:<vendor>[:<dev>]",		\
    "Set tag if the iPXE network card matches.")			\
  D(605, "dhcp-ipxe-own", "<criterion>[,...]",				\
    "Describe the site's own iPXE build.")				\
  D(606, "dhcp-pxe-arch9", "x64|ebc",					\
    "Read client architecture 9 as x64 (default) or EBC.")		\
  D(607, "dhcp-chain-guard", "<hops>,<secs>[,<n>][,set:<tag>]",		\
    "Tag clients caught in a chainload loop.")				\
  D(608, "dhcp-chain-peer", "<ipaddr>[,<ipaddr>...]",			\
    "Server ids of other instances of this config.")

/* Entries for option.c's opts[] (long options) ... */
#define PXECLASS_OPT_ENTRY(lopt, name, synopsis, help) { name, 1, 0, lopt },
#define PXECLASS_OPTS PXECLASS_DIRECTIVES(PXECLASS_OPT_ENTRY)

/* ... for its usage[] (--help; ARG_DUP: the lines may repeat) ... */
#define PXECLASS_USAGE_ENTRY(lopt, name, synopsis, help) \
  { lopt, ARG_DUP, synopsis, gettext_noop(help), NULL },
#define PXECLASS_USAGE PXECLASS_DIRECTIVES(PXECLASS_USAGE_ENTRY)

/* ... and the case labels in one_opt() that hand them to the hook. */
#define PXECLASS_CASE_LABEL(lopt, name, synopsis, help) case lopt:
#define PXECLASS_CASES PXECLASS_DIRECTIVES(PXECLASS_CASE_LABEL)

#ifdef HAVE_DHCP
/* Parse one directive (ARG already unhidden); 0 with ERRSTR set on error. */
int pxeclass_option(int option, char *arg, char *errstr);

/* After all config is read: cross-line checks; dies on error. */
void pxeclass_check(void);

/* Called once per packet after the dhcp-match loop: pushes the tags of
   the matching rules onto NETID and returns the new head. */
struct dhcp_netid *pxeclass_tag_request(struct dhcp_packet *mess, size_t sz,
					unsigned int mess_type,
					struct dhcp_netid *netid, time_t now);

/* Called with the size of each reply dhcp_reply() built, before it is
   sent: the chain tracker learns which boot files were handed out. */
void pxeclass_record_reply(size_t sz, time_t now);

#ifdef HAVE_DHCP6
/* The same for each DHCPv6 client message, after the dhcp-match6 loop:
   INBUFF (SZ bytes) is the message with its relays unwrapped, MAC what
   dnsmasq knows of the client's hardware address (MAC_LEN 0: nothing). */
struct dhcp_netid *pxeclass_tag_request6(unsigned char *inbuff, size_t sz,
					 unsigned char *mac,
					 unsigned int mac_len,
					 unsigned int mac_type,
					 struct dhcp_netid *netid, time_t now);

/* Called with the size of each DHCPv6 reply in daemon->outpacket, before
   dhcp6_packet() sends it: hand-outs of bootfile-url, for the tracker. */
void pxeclass_record_reply6(size_t sz, time_t now);

/* Once logging works, with DHCPv6 configured: warns of what can never
   match a DHCPv6 request. */
void pxeclass_log_dhcp6(void);
#endif
#else
/* Without DHCP, one_opt() refuses the directives as unsupported. */
#  define pxeclass_check() do { } while (0)
#endif

#endif

#endif
