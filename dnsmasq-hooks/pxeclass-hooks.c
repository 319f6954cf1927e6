/* pxeclass hooks for dnsmasq: the glue between dnsmasq and libpxeclass.

   Parses the pxeclass directives through the library, keeps one tag node
   per rule and pushes the nodes of the matching rules for each request.
   No classification happens here: that is libpxeclass's job.

   This program is free software; you can redistribute it and/or modify
   it under the terms of the GNU General Public License as published by
   the Free Software Foundation; version 2 dated June, 1991, or
   (at your option) version 3 dated 29 June, 2007.  */

#include "dnsmasq.h"

#if defined(HAVE_PXECLASS) && defined(HAVE_DHCP)

#include <pxeclass.h>

/* Longest error the hooks write into dnsmasq's errstr (daemon->namebuff,
   2 * MAXDNAME): leaves room for read_file()'s " at line N of FILE". */
#define PXECLASS_ERRLEN 512

/* dnsmasq cuts syslog lines at 1024 bytes anyway. */
#define PXECLASS_LOGLEN 1024

/* Directive name of each long-option number, from the one table. */
#define PXECLASS_NAME_ENTRY(lopt, name, synopsis, help) { lopt, name },
static const struct {
  int option;
  const char *name;
} pxeclass_names[] = { PXECLASS_DIRECTIVES(PXECLASS_NAME_ENTRY) };

/* The parsed directives; NULL while the config has none, and then the
   hooks do nothing at all, so dnsmasq behaves like a stock build.  The
   chain tracker, when `chained` or dhcp-chain-guard needs one. */
static struct pxc_config *pxeclass_config;
static struct pxc_tracker *pxeclass_tracker;

/* One tag node per rule, made once by pxeclass_check(): a node is pushed
   at most once per packet, so dnsmasq's tag list can never loop.
   Rules that set the same tag (set:ipxe by class and by feature) share
   the node of the first of them: pxeclass_first[i] is its index (else i
   itself).  Once such a tag is on the list it is not pushed again, and
   dnsmasq's tag matching, which strcmp()s its way down the list, meets
   the tag once.  pxeclass_matched holds the library's answer for one
   request, a bit per rule (pxeclass_words words). */
static struct dhcp_netid *pxeclass_nodes;
static size_t pxeclass_node_count;
static size_t *pxeclass_first;
static uint64_t *pxeclass_matched;
static size_t pxeclass_words;

/* The request being classified, of either family.  Static: dnsmasq
   handles one packet at a time, and its 700 bytes stay off the stack of
   a small router. */
static struct pxc_request pxeclass_request;

/* Directive name of long option OPTION, or NULL if it is not ours. */
static const char *directive_name(int option)
{
  size_t i;

  for (i = 0; i < sizeof(pxeclass_names) / sizeof(pxeclass_names[0]); i++)
    if (pxeclass_names[i].option == option)
      return pxeclass_names[i].name;

  return NULL;
}

/* The library's config, made on the first directive. */
static struct pxc_config *config_get(void)
{
  if (!pxeclass_config && !(pxeclass_config = pxc_config_new()))
    die(_("could not get memory"), NULL, EC_NOMEM);

  return pxeclass_config;
}

/* Parse one pxeclass directive.  ERRSTR is dnsmasq's namebuff, which ARG
   points into while a file is read: ARG is copied before any error is
   written.  Returns 1, or 0 with the library's message in ERRSTR, so
   read_file() adds " at line N of FILE" and start-up (or --test) fails. */
int pxeclass_option(int option, char *arg, char *errstr)
{
  const char *name = directive_name(option);
  char *value = NULL;
  int ok;

  if (!name || !pxc_is_directive(name))
    {
      snprintf(errstr, PXECLASS_ERRLEN,
	       _("%s is not supported by libpxeclass %s"),
	       name ? name : "?", PXC_VERSION);
      return 0;
    }

  if (arg)
    {
      value = safe_malloc(strlen(arg) + 1);
      strcpy(value, arg);
    }

  ok = pxc_config_add(config_get(), name, value, errstr, PXECLASS_ERRLEN) == 0;
  free(value);

  return ok;
}

/* After the whole config is read: the library's cross-line checks (dying
   like any other bad config, also under --test; the message quotes the
   line, whose number dnsmasq no longer knows), then one tag node per
   rule.  The tag strings are copied so the nodes own them for good; all
   memory is taken here, at start-up, so a packet never needs any. */
void pxeclass_check(void)
{
  char err[PXECLASS_ERRLEN];
  size_t i;

  if (!pxeclass_config)
    return;

  if (pxc_config_finish(pxeclass_config, err, sizeof(err)) != 0)
    die("%s", err, EC_BADCONF);

  if (pxc_config_tracker_info(pxeclass_config, NULL) &&
      !(pxeclass_tracker = pxc_tracker_new(pxeclass_config)))
    die(_("could not get memory for the pxeclass chain table"), NULL,
	EC_NOMEM);

  pxeclass_node_count = pxc_rule_count(pxeclass_config);
  if (pxeclass_node_count == 0)
    return;

  pxeclass_nodes = safe_malloc(pxeclass_node_count * sizeof(struct dhcp_netid));
  pxeclass_first = safe_malloc(pxeclass_node_count * sizeof(size_t));
  pxeclass_words = (pxeclass_node_count + 63) / 64;
  pxeclass_matched = safe_malloc(pxeclass_words * sizeof(uint64_t));
  for (i = 0; i < pxeclass_node_count; i++)
    {
      const char *tag = pxc_rule_tag(pxeclass_config, i);
      size_t first;

      pxeclass_nodes[i].net = safe_malloc(strlen(tag) + 1);
      strcpy(pxeclass_nodes[i].net, tag);
      pxeclass_nodes[i].next = NULL;
      for (first = 0; first < i; first++)
	if (strcmp(pxeclass_nodes[first].net, tag) == 0)
	  break;
      pxeclass_first[i] = first;
    }
}

/* Append printf-style text to BUF (SIZE bytes, *USED so far), clamping
   at the end: a long log line is cut, never overrun. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (*used + 1 >= size)
    return;

  va_start(ap, fmt);
  n = vsnprintf(buf + *used, size - *used, fmt, ap);
  va_end(ap);

  if (n > 0)
    *used += ((size_t)n < size - *used) ? (size_t)n : size - *used - 1;
}

/* --log-dhcp: one line with the classification (for DHCPv6 the MAC the
   chain key comes from, and the client's chain when the tracker follows
   it), one naming the directive behind each tag set.  Each starts with
   the request's xid as the library read it, host order, which is how
   dnsmasq logs it for either family.  The rules are asked again: a
   match depends on the verdict alone, and the tag hook's bitmap, once
   pushed, marks nodes, not rules. */
static void log_request(const struct pxc_verdict *verdict)
{
  static char line[PXECLASS_LOGLEN], chain[PXECLASS_LOGLEN];
  const struct pxc_request *req = verdict->req;
  unsigned int xid = req->xid;
  size_t i, used;

  pxc_format_summary(verdict, line, sizeof(line));
  used = strlen(line);
  if (req->ip_family == PXC_IPV6 && req->hlen != 0)
    append(line, sizeof(line), &used, " mac=%s(%s)",
	   pxc_format_mac(req, chain, sizeof(chain)),
	   pxc_mac_source_name(req->mac_source));
  if (verdict->chain.tracked)
    append(line, sizeof(line), &used, " hops=%u chain=%s", verdict->chain.hops,
	   pxc_format_chain(pxeclass_tracker, verdict, chain, sizeof(chain)));
  my_syslog(MS_DHCP | LOG_INFO, _("%u pxeclass: %s"), xid, line);

  used = 0;
  line[0] = 0;
  for (i = 0; i < pxeclass_node_count; i++)
    if (pxc_rule_matches(pxeclass_config, i, verdict))
      append(line, sizeof(line), &used, "%s%s (%s)", used ? ", " : "",
	     pxeclass_nodes[i].net, pxc_rule_text(pxeclass_config, i));

  my_syslog(MS_DHCP | LOG_INFO, _("%u pxeclass tags: %s"), xid,
	    used ? line : _("none"));
}

/* The loop guard tripped for this request: a warning, whatever the log
   options, naming the client, its hops and its recent stages. */
static void log_loop(const struct pxc_verdict *verdict)
{
  static char line[PXECLASS_LOGLEN];

  my_syslog(MS_DHCP | LOG_WARNING, _("pxeclass: chainload loop: %s"),
	    pxc_format_loop_warning(pxeclass_config, pxeclass_tracker, verdict,
				    line, sizeof(line)));
}

/* Tell the chain tracker about the reply of SZ bytes dhcp_reply() left in
   daemon->dhcp_packet and dnsmasq is about to send: a boot file in it is
   a hand-out, which makes the client's next request a hop. */
void pxeclass_record_reply(size_t sz, time_t now)
{
  if (pxeclass_tracker)
    pxc_tracker_reply(pxeclass_tracker, daemon->dhcp_packet.iov_base, sz, now);
}

#ifdef HAVE_DHCP6
/* The same for the DHCPv6 reply of SZ bytes dhcp6_packet() is about to
   send from daemon->outpacket (a RELAY-REPL around it when relayed):
   the tracker finds its client by xid and DUID among the requests it
   recorded, and a bootfile-url given with an address is a hand-out. */
void pxeclass_record_reply6(size_t sz, time_t now)
{
  if (pxeclass_tracker)
    pxc_tracker_reply6(pxeclass_tracker, daemon->outpacket.iov_base, sz, now);
}
#endif

/* Push the node of every rule that matches VERDICT onto NETID, in rule
   order; returns the new head.  The library answers for all rules at
   once.  A rule sharing the node of an earlier one (pxeclass_first[i] <
   i) pushes it only if the node's bit is still clear, and sets it: the
   earlier bits are behind the walk, so the bitmap doubles as the note of
   the nodes already on the list.  Inlined, like tag_request(). */
static inline __attribute__((always_inline))
struct dhcp_netid *push_tags(const struct pxc_verdict *verdict,
				    struct dhcp_netid *netid)
{
  uint64_t *bits = pxeclass_matched;
  size_t k, i, first;

  if (!pxc_rules_matched(pxeclass_config, verdict, bits, pxeclass_words))
    return netid;

  for (k = 0; k < pxeclass_words; k++)
    {
      uint64_t word = bits[k];

      while (word)
	{
	  i = k * 64 + (size_t)__builtin_ctzll(word);
	  word &= word - 1;
	  first = pxeclass_first[i];
	  if (first != i)
	    {
	      if (bits[first / 64] & (1ULL << (first % 64)))
		continue;
	      bits[first / 64] |= 1ULL << (first % 64);
	    }
	  pxeclass_nodes[first].next = netid;
	  netid = &pxeclass_nodes[first];
	}
    }
  return netid;
}

/* Judge the classified REQ against the rules, push the node of every
   matching rule onto NETID and record the request in its client's chain;
   returns the new head.  Inlined into each family's hook: a call of its
   own cost the DHCPv4 hook a dozen instructions per request.  The log
   takes the xid from REQ, so the hook keeps no register for it. */
static inline __attribute__((always_inline))
struct dhcp_netid *tag_request(const struct pxc_request *req,
				      struct dhcp_netid *netid, time_t now)
{
  static struct pxc_verdict verdict;

  pxc_evaluate(pxeclass_config, pxeclass_tracker, req, now, &verdict);

  netid = push_tags(&verdict, netid);

  pxc_tracker_record(pxeclass_tracker, &verdict);

  if (verdict.chain.guard_tripped)
    log_loop(&verdict);

  if (option_bool(OPT_LOG_OPTS))
    log_request(&verdict);

  return netid;
}

/* Classify the request in MESS (SZ bytes) and tag it (tag_request()).
   Called once per packet right after the dhcp-match loop, so the tags
   reach tag-if, dhcp-ignore, dhcp-host, dhcp-boot, pxe-service and
   dhcp-option on ports 67 and 4011 alike (the library tells a port-4011
   boot-server request from the packet itself). */
struct dhcp_netid *pxeclass_tag_request(struct dhcp_packet *mess, size_t sz,
					unsigned int mess_type,
					struct dhcp_netid *netid, time_t now)
{
  if (!pxeclass_config)
    return netid;

#ifdef DHCPLEASEQUERY
  /* A leasequery asks about some other client: nothing to classify. */
  if (mess_type == DHCPLEASEQUERY)
    return netid;
#else
  (void)mess_type;
#endif

  pxc_classify(pxeclass_config, (const uint8_t *)mess, sz, &pxeclass_request);

  return tag_request(&pxeclass_request, netid, now);
}

#ifdef HAVE_DHCP6
/* Classify the DHCPv6 client message in INBUFF (SZ bytes: relays already
   unwrapped by dnsmasq) and tag it like a DHCPv4 request.  MAC (MAC_LEN
   bytes, hardware type MAC_TYPE) is what dnsmasq knows of the client's
   hardware address: its neighbour table for a direct client, option 79
   of a relay; it goes before whatever the library read from the DUID,
   so both families of one machine share a key.  MAC_LEN 0: unknown.
   Called once per message right after the dhcp-match6 loop of
   dhcp6_no_relay(), so the tags reach tag-if, dhcp-ignore, dhcp-host,
   the dhcp-range tags and dhcp-option=option6:... (59 bootfile-url,
   60, 16).
   The chain tracker keys the client by that MAC, the DHCPv4 one (iPXE's
   SOLICIT next to its DISCOVER is one stage); without one, by what the
   library read (DUID-LL/LLT, else the UUID of a DUID-UUID). */
struct dhcp_netid *pxeclass_tag_request6(unsigned char *inbuff, size_t sz,
					 unsigned char *mac,
					 unsigned int mac_len,
					 unsigned int mac_type,
					 struct dhcp_netid *netid, time_t now)
{
  struct pxc_request *req = &pxeclass_request;

  if (!pxeclass_config)
    return netid;

  pxc_classify6(pxeclass_config, inbuff, sz, req);
  if (mac_len != 0 && mac_len <= sizeof(req->chaddr))
    {
      req->htype = (uint8_t)mac_type;
      req->hlen = (uint8_t)mac_len;
      memcpy(req->chaddr, mac, mac_len);
      req->mac_source = PXC_MAC_CALLER;
    }

  return tag_request(req, netid, now);
}

/* True if the dhcp-ipxe-own identity INFO asks for a feature or the
   version: only iPXE's DHCPv4 option 175 says those. */
static int needs_option_175(const struct pxc_identity_info *info)
{
  size_t i;

  for (i = 0; i < sizeof(info->features); i++)
    if (info->features[i])
      return 1;

  return info->has_version;
}

/* At start-up, once logging works: with DHCPv6 configured, a warning for
   each dhcp-ipxe-own line that can never match a DHCPv6 request (iPXE
   sends no option 175 there), so nobody counts on it for v6 clients. */
void pxeclass_log_dhcp6(void)
{
  struct pxc_identity_info info;
  size_t i;

  if (!pxeclass_config || !daemon->dhcp6)
    return;

  for (i = 0; pxc_identity_get(pxeclass_config, i, &info); i++)
    if (needs_option_175(&info))
      my_syslog(MS_DHCP | LOG_WARNING,
		_("pxeclass: %s needs iPXE features or a version, which "
		  "DHCPv6 does not carry: it never matches a DHCPv6 request"),
		info.text);
}
#endif

#endif
