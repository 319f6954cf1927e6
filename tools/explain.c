/*
 * pxeclass explain: what every DHCP request of a capture (or one packet
 * given as hex) says about the machine that sent it, and with --config
 * which pxeclass tags a dnsmasq with that config would set.  DHCPv4 and
 * DHCPv6 (relayed too) alike: the same request, the same output, with
 * the family and DHCPv6's own fields (DUID, relay) added.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BOOTREQUEST 1
#define MAX_PACKET 65536

static const char *const msg_names[] = {
    "BOOTP",   "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK",
    "NAK",     "RELEASE",  "INFORM", "FORCERENEW", "LEASEQUERY",
};

/* RFC 8415 §7.3 */
static const char *const msg6_names[] = {
    "UNKNOWN",    "SOLICIT",    "ADVERTISE",   "REQUEST",
    "CONFIRM",    "RENEW",      "REBIND",      "REPLY",
    "RELEASE",    "DECLINE",    "RECONFIGURE", "INFORMATION-REQUEST",
    "RELAY-FORW", "RELAY-REPL",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Name of the message type of REQ (DHCPv4 option 53, 0 meaning plain
   BOOTP; or the DHCPv6 message type). */
static const char *
msg_name(const struct pxc_request *req)
{
  uint8_t t = req->msg_type;

  if (req->ip_family == PXC_IPV6)
    return t < COUNT(msg6_names) ? msg6_names[t] : "UNKNOWN";
  return t < COUNT(msg_names) ? msg_names[t] : "UNKNOWN";
}

/* DHCPv6 message types a client (or a relay on its behalf) sends to a
   server, RFC 8415 §7.3: what explain classifies. */
static bool
is_client_msg6(uint8_t t)
{
  return t == 1 || t == 3 || (t >= 4 && t <= 6) || t == 8 || t == 9 ||
         t == 11 || t == 12;
}

/* The transaction id as sent: 8 hex digits for DHCPv4, 6 for DHCPv6. */
static const char *
xid_text(const struct pxc_request *req, char *buf, size_t len)
{
  snprintf(buf, len, req->ip_family == PXC_IPV6 ? "0x%06x" : "0x%08x",
           req->xid);
  return buf;
}

/* Where the architecture came from, by family (DHCPv6's options 61 and
   16 stand where DHCPv4's 93 and 60 do). */
static const char *
arch_source_name(const struct pxc_request *req)
{
  static const char *const v4[] = {"none", "option-93", "option-60"};
  static const char *const v6[] = {"none", "option-61", "option-16"};

  if ((unsigned)req->arch_source >= COUNT(v4))
    return "none";
  return (req->ip_family == PXC_IPV6 ? v6 : v4)[req->arch_source];
}

/*
 * The BSDP sub-options explain shows (struct pxc_bsdp), in the order a
 * client sends them: the bit saying one was read, the JSON key, the
 * text label, and how its value reads.
 */
enum bsdp_kind { BSDP_TEXT, BSDP_NUMBER, BSDP_FLAG };
static const struct {
  uint8_t bit;
  const char *key, *label;
  enum bsdp_kind kind;
} bsdp_shown[] = {
    {PXC_BSDP_HAS_MSG_TYPE, "msg", NULL, BSDP_TEXT},
    {PXC_BSDP_HAS_VERSION, "version", "version", BSDP_TEXT},
    {PXC_BSDP_HAS_FIRMWARE_1_0, "netboot_1_0", "netboot-1.0", BSDP_FLAG},
    {PXC_BSDP_HAS_REPLY_PORT, "reply_port", "reply-port", BSDP_NUMBER},
    {PXC_BSDP_HAS_MAX_SIZE, "max_message_size", "max-size", BSDP_NUMBER},
    {PXC_BSDP_HAS_SERVER_ID, "server_id", "server", BSDP_TEXT},
    {PXC_BSDP_HAS_IMAGE_ID, "selected_image", "image", BSDP_TEXT},
};

/* The value of BSDP field BIT as text: "list", "1.1", "8192",
   "10.0.0.1", "0x81000001" (an unnamed message type as its number). */
static const char *
bsdp_value_text(const struct pxc_bsdp *bsdp, unsigned bit, char *buf,
                size_t len)
{
  const char *name;

  switch (bit) {
  case PXC_BSDP_HAS_MSG_TYPE:
    name = pxc_bsdp_msg_name(bsdp->msg_type);
    if (name)
      return name;
    snprintf(buf, len, "%u", bsdp->msg_type);
    break;
  case PXC_BSDP_HAS_VERSION:
    snprintf(buf, len, "%u.%u", bsdp->version >> 8, bsdp->version & 0xff);
    break;
  case PXC_BSDP_HAS_REPLY_PORT:
    snprintf(buf, len, "%u", bsdp->reply_port);
    break;
  case PXC_BSDP_HAS_MAX_SIZE:
    snprintf(buf, len, "%u", bsdp->max_message_size);
    break;
  case PXC_BSDP_HAS_SERVER_ID:
    snprintf(buf, len, "%u.%u.%u.%u", bsdp->server_id >> 24,
             (bsdp->server_id >> 16) & 0xff, (bsdp->server_id >> 8) & 0xff,
             bsdp->server_id & 0xff);
    break;
  case PXC_BSDP_HAS_IMAGE_ID:
    snprintf(buf, len, "0x%08x", bsdp->image_id);
    break;
  default:
    buf[0] = '\0';
  }
  return buf;
}

/* ------------------------------------------------------------------ */
/* JSON output                                                         */

/* "bsdp": null, or an object with every field of bsdp_shown (null, or
   false, for one not sent). */
static void
json_bsdp(const struct pxc_request *req)
{
  char text[32];

  if (!req->has_bsdp) {
    printf(",\"bsdp\":null");
    return;
  }
  for (size_t i = 0; i < COUNT(bsdp_shown); i++) {
    bool sent = req->bsdp.present & bsdp_shown[i].bit;
    printf("%s\"%s\":", i ? "," : ",\"bsdp\":{", bsdp_shown[i].key);
    if (bsdp_shown[i].kind == BSDP_FLAG)
      printf("%s", sent ? "true" : "false");
    else if (!sent)
      printf("null");
    else if (bsdp_shown[i].kind == BSDP_NUMBER)
      printf("%s", bsdp_value_text(&req->bsdp, bsdp_shown[i].bit, text,
                                   sizeof(text)));
    else
      json_str(bsdp_value_text(&req->bsdp, bsdp_shown[i].bit, text,
                               sizeof(text)));
  }
  printf("}");
}

/* "key": "text", or "key": null when TEXT is empty. */
static void
json_text_or_null(const char *key, const char *text)
{
  printf(",\"%s\":", key);
  if (*text)
    json_str(text);
  else
    printf("null");
}

/* "key": [names of the set bits of FLAGS]. */
static void
json_flags(const char *key, uint32_t flags, const char *(*name_of)(uint32_t))
{
  const char *sep = "";

  printf(",\"%s\":[", key);
  for (unsigned i = 0; i < 32; i++)
    if (flags & (1u << i)) {
      printf("%s", sep);
      json_str(name_of(1u << i));
      sep = ",";
    }
  printf("]");
}

static void
json_features(const struct pxc_request *req)
{
  const char *sep = "";

  if (req->ip_family == PXC_IPV6) { /* no option 175: unknown, not none */
    printf(",\"features\":null");
    return;
  }
  printf(",\"features\":[");
  for (unsigned code = 0; code < 256; code++) {
    const char *name;
    if (!pxc_has_feature(req, (uint8_t)code))
      continue;
    name = pxc_feature_name((uint8_t)code);
    printf("%s", sep);
    if (name)
      json_str(name);
    else
      printf("%u", code);
    sep = ",";
  }
  printf("]");
}

static void
json_user_classes(const struct pxc_request *req)
{
  struct pxc_bytes uc = pxc_user_class(req, 0);

  printf(",\"user_class\":");
  if (uc.data)
    json_bytes(uc.data, uc.len);
  else
    printf("null");
  printf(",\"user_classes\":[");
  for (size_t i = 0; (uc = pxc_user_class(req, i)).data; i++) {
    printf(i ? "," : "");
    json_bytes(uc.data, uc.len);
  }
  printf("]");
}

static void
json_arch(const struct pxc_request *req)
{
  const struct pxc_arch_info *info = pxc_arch_by_code(req->arch);

  if (req->arch_source == PXC_ARCH_NONE) {
    printf(",\"arch\":null,\"arch_name\":null");
  } else {
    printf(",\"arch\":%u,\"arch_name\":", req->arch);
    if (info)
      json_str(info->name);
    else
      printf("null");
  }
  printf(",\"arch_list\":[");
  for (unsigned i = 0; i < req->arch_count; i++)
    printf("%s%u", i ? "," : "", req->arch_list[i]);
  printf("],\"arch_source\":\"%s\"", arch_source_name(req));
}

/* The tags set by matching rules, and the rule behind each. */
static void
json_tags(const struct explain *ex, const struct pxc_verdict *v)
{
  size_t n = pxc_rule_count(ex->cfg);
  const char *sep = "";

  printf(",\"tags\":[");
  for (size_t i = 0; i < n; i++)
    if (pxc_rule_matches(ex->cfg, i, v)) {
      printf("%s", sep);
      json_str(pxc_rule_tag(ex->cfg, i));
      sep = ",";
    }
  printf("],\"tag_rules\":[");
  sep = "";
  for (size_t i = 0; i < n; i++)
    if (pxc_rule_matches(ex->cfg, i, v)) {
      printf("%s", sep);
      json_str(pxc_rule_text(ex->cfg, i));
      sep = ",";
    }
  printf("]");
}

/* "chain": what the tracker knows of the client, or null without one. */
static void
json_chain(const struct explain *ex, const struct pxc_verdict *v)
{
  const struct pxc_chain *c = &v->chain;
  char history[1024];

  if (!ex->trk) {
    printf(",\"chain\":null");
    return;
  }
  printf(",\"chain\":{\"tracked\":%s,\"new_stage\":%s,\"stages\":%u,"
         "\"hops\":%u,\"follows_chainload\":%s,\"restarted\":%s,"
         "\"rebooted\":%s,\"looping\":%s,\"history\":",
         c->tracked ? "true" : "false", c->new_stage ? "true" : "false",
         c->stages, c->hops, c->follows_chainload ? "true" : "false",
         c->restarted ? "true" : "false", c->rebooted ? "true" : "false",
         c->looping ? "true" : "false");
  json_str(pxc_format_chain(ex->trk, v, history, sizeof(history)));
  printf("}");
}

/* Print LEN bytes of DATA as lower-case hex. */
static void
print_hex(const uint8_t *data, size_t len)
{
  for (size_t i = 0; i < len; i++)
    printf("%02x", data[i]);
}

/* The IPv6 address at A as text. */
static const char *
ip6_text(const uint8_t *a, char *buf, size_t len)
{
  if (!inet_ntop(AF_INET6, a, buf, (socklen_t)len))
    snprintf(buf, len, "?");
  return buf;
}

/* DHCPv6's fields: DUID, enterprise of option 16, relay (null for a
   DHCPv4 request, and for what was not sent). */
static void
json_v6(const struct pxc_request *req)
{
  char text[INET6_ADDRSTRLEN];

  printf(",\"duid_type\":");
  if (req->duid_len) {
    printf("%u,\"duid\":\"", req->duid_type);
    print_hex(req->duid, req->duid_len);
    printf("\"");
  } else {
    printf("null,\"duid\":null");
  }
  if (req->has_enterprise)
    printf(",\"enterprise\":%u", req->enterprise);
  else
    printf(",\"enterprise\":null");
  if (req->has_iaid)
    printf(",\"iaid\":\"0x%08x\"", req->iaid);
  else
    printf(",\"iaid\":null");
  if (!req->relay_depth) {
    printf(",\"relay\":null");
    return;
  }
  printf(",\"relay\":{\"depth\":%u,\"link_address\":\"%s\"", req->relay_depth,
         ip6_text(req->link_address, text, sizeof(text)));
  printf(",\"peer_address\":\"%s\",\"interface_id\":",
         ip6_text(req->peer_address, text, sizeof(text)));
  if (req->interface_id_len) {
    printf("\"");
    print_hex(req->interface_id, req->interface_id_len < PXC_IFACE_ID_MAX
                                     ? req->interface_id_len
                                     : PXC_IFACE_ID_MAX);
    printf("\"}");
  } else {
    printf("null}");
  }
}

static void
print_json(const struct explain *ex, const struct captured *pkt,
           const struct pxc_verdict *v)
{
  const struct pxc_request *req = v->req;
  char text[128];

  printf("{\"%s\":", ex->live ? "iface" : "file");
  json_str(ex->source);
  printf(",\"frame\":%lu,\"time\":%ld.%06ld,\"port\":%u", pkt->index,
         (long)pkt->time.tv_sec, (long)pkt->time.tv_usec, pkt->dst_port);
  printf(",\"family\":\"%s\"", pxc_ip_family_name(req->ip_family));
  printf(",\"mac\":\"%s\"", pxc_format_mac(req, text, sizeof(text)));
  printf(",\"mac_source\":\"%s\"", pxc_mac_source_name(req->mac_source));
  printf(",\"xid\":\"%s\"", xid_text(req, text, sizeof(text)));
  printf(",\"msg\":\"%s\"", msg_name(req));
  printf(",\"class\":\"%s\"", pxc_class_name(req->fw_class));
  json_text_or_null("agent", pxc_agent_name((enum pxc_agent)req->agent));
  printf(",\"own\":%s", v->own == PXC_OWN_OWN      ? "true"
                        : v->own == PXC_OWN_VENDOR ? "false"
                                                   : "null");
  json_arch(req);
  json_text_or_null("ipxe_version", pxc_format_version(req, text, sizeof(text)));
  json_features(req);
  json_text_or_null("busid", pxc_format_busid(req, text, sizeof(text)));
  json_user_classes(req);
  printf(",\"vendor_class\":");
  if (pxc_vendor_class(req).data)
    json_bytes(pxc_vendor_class(req).data, pxc_vendor_class(req).len);
  else
    printf("null");
  json_text_or_null("uuid", pxc_format_uuid(req, text, sizeof(text)));
  if (req->has_undi)
    printf(",\"undi\":\"%u.%u\"", req->undi_major, req->undi_minor);
  else
    printf(",\"undi\":null");
  json_bsdp(req);
  json_v6(req);
  printf(",\"fingerprint\":\"%016llx\"", (unsigned long long)req->fingerprint);
  json_flags("errors", req->errors, pxc_error_name);
  json_flags("warnings", req->warnings, pxc_warning_name);
  printf(",\"truncated\":%s", pkt->truncated ? "true" : "false");
  json_tags(ex, v);
  json_chain(ex, v);
  printf("}\n");
}

/* ------------------------------------------------------------------ */
/* Text output                                                         */

/* Print "  LABEL text" for a string from the wire, escaping what is not
   printable ASCII. */
static void
print_wire(const char *label, const uint8_t *data, size_t len)
{
  printf("  %s ", label);
  for (size_t i = 0; i < len; i++)
    printf(data[i] >= 0x20 && data[i] < 0x7f ? "%c" : "\\x%02x", data[i]);
}

/* "  bsdp list  version 1.1  reply-port 1000  max-size 8192": the BSDP
   sub-options sent, labelled as bsdp_shown says. */
static void
print_bsdp(const struct pxc_bsdp *bsdp)
{
  char text[32];

  printf("  bsdp");
  for (size_t i = 0; i < COUNT(bsdp_shown); i++) {
    if (!(bsdp->present & bsdp_shown[i].bit))
      continue;
    if (bsdp_shown[i].label)
      printf(i ? "  %s" : " %s", bsdp_shown[i].label);
    if (bsdp_shown[i].kind != BSDP_FLAG)
      printf(" %s", bsdp_value_text(bsdp, bsdp_shown[i].bit, text,
                                    sizeof(text)));
  }
  printf("\n");
}

static void
print_flags(const char *label, uint32_t flags,
            const char *(*name_of)(uint32_t), const char *(*text_of)(uint32_t))
{
  for (unsigned i = 0; i < 32; i++)
    if (flags & (1u << i))
      printf("  %s: %s (%s)\n", label, name_of(1u << i), text_of(1u << i));
}

/* Why the tracker did not track the boot program's request REQ: the
   reasons of lib/tracker.c (its role6[]), told apart by what the request
   shows.  DHCPv6 by message type: those that may begin a stage were
   untracked for room only. */
static const char *
untracked_reason(const struct pxc_request *req)
{
  static const char *const by_type6[] = {
      [1] = "table full of clients mid-chain",      /* SOLICIT */
      [3] = "table full of clients mid-chain",      /* REQUEST */
      [11] = "table full of clients mid-chain",     /* INFORMATION-REQUEST */
      [4] = "continues no stage the tracker knows", /* CONFIRM */
      [5] = "continues no stage the tracker knows", /* RENEW */
      [6] = "continues no stage the tracker knows", /* REBIND */
  };

  if (req->ip_family != PXC_IPV6)
    return "table full of clients mid-chain";
  if (req->hlen == 0 && !req->has_uuid)
    return "DHCPv6 with no MAC and no UUID to key it by";
  if (req->msg_type < COUNT(by_type6) && by_type6[req->msg_type])
    return by_type6[req->msg_type];
  return "this DHCPv6 message begins no stage";
}

/* The chain line: where this request stands in its client's boot chain. */
static void
print_chain(const struct explain *ex, const struct pxc_verdict *v)
{
  const struct pxc_chain *c = &v->chain;
  struct pxc_chain_stats st;
  char history[1024];

  if (!ex->trk || !pxc_class_is_netboot(v->req->fw_class))
    return;
  pxc_tracker_stats(ex->trk, &st);
  if (!c->tracked) {
    printf("  chain: not tracked (%s)\n", untracked_reason(v->req));
    return;
  }
  printf("  chain: %s stage %u, %u hop%s within %us%s%s%s\n",
         c->new_stage ? "new" : "same", c->stages, c->hops,
         c->hops == 1 ? "" : "s", st.window,
         c->follows_chainload ? ", follows a chainload" : "",
         c->rebooted ? ", rebooted" : c->restarted ? ", new chain" : "",
         c->looping ? ", LOOP" : "");
  printf("  stages: %s\n", pxc_format_chain(ex->trk, v, history, sizeof(history)));
  if (c->guard_tripped)
    printf("  guard: more than %u hops within %us: loop guard tripped\n",
           st.max_hops, st.window);
}

/* True if identity INFO asks for what only option 175 says (a feature,
   the version): it can never match a DHCPv6 request. */
static bool
needs_option_175(const struct pxc_identity_info *info)
{
  for (size_t i = 0; i < sizeof(info->features); i++)
    if (info->features[i])
      return true;
  return info->has_version;
}

/* The lines only a DHCPv6 request has: DUID, MAC source, relay, and
   what is unknown without option 175 (and which dhcp-ipxe-own lines of
   CFG that leaves unmatchable). */
static void
print_v6(const struct pxc_config *cfg, const struct pxc_request *req)
{
  struct pxc_identity_info info;
  char text[INET6_ADDRSTRLEN];

  if (req->duid_len) {
    printf("  duid type %u ", req->duid_type);
    print_hex(req->duid, req->duid_len);
  }
  if (req->has_enterprise)
    printf("  enterprise %u", req->enterprise);
  if (req->has_iaid)
    printf("  iaid 0x%08x", req->iaid);
  printf("  mac from %s\n", pxc_mac_source_name(req->mac_source));
  if (req->relay_depth) {
    printf("  relay %u deep  link %s", req->relay_depth,
           ip6_text(req->link_address, text, sizeof(text)));
    printf("  peer %s", ip6_text(req->peer_address, text, sizeof(text)));
    if (req->interface_id_len)
      print_wire("interface-id", req->interface_id,
                 req->interface_id_len < PXC_IFACE_ID_MAX
                     ? req->interface_id_len
                     : PXC_IFACE_ID_MAX);
    printf("\n");
  }
  if (req->fw_class != PXC_CLASS_IPXE)
    return;
  printf("  ipxe: version, features and bus id unknown (DHCPv6 has no "
         "option 175)\n");
  for (size_t i = 0; pxc_identity_get(cfg, i, &info); i++)
    if (needs_option_175(&info))
      printf("  note: %s needs a feature or the version: it never "
             "matches over DHCPv6\n",
             info.text);
}

static void
print_text(const struct explain *ex, const struct captured *pkt,
           const struct pxc_verdict *v)
{
  const struct pxc_request *req = v->req;
  const struct pxc_arch_info *info = pxc_arch_by_code(req->arch);
  double t = (double)(pkt->time.tv_sec - ex->first.tv_sec) +
             (double)(pkt->time.tv_usec - ex->first.tv_usec) / 1e6;
  char text[1100];
  size_t n = pxc_rule_count(ex->cfg);
  struct pxc_bytes uc;

  char xid[16];

  printf("%s #%lu  +%.3fs  %s  xid %s  %s  port %u%s%s\n", ex->source,
         pkt->index, t,
         req->hlen ? pxc_format_mac(req, text, sizeof(text)) : "(no mac)",
         xid_text(req, xid, sizeof(xid)), msg_name(req), pkt->dst_port,
         req->ip_family == PXC_IPV6 ? "  DHCPv6" : "",
         pkt->truncated ? "  (truncated)" : "");
  printf("  class %s", pxc_class_name(req->fw_class));
  if (v->own != PXC_OWN_UNKNOWN)
    printf(" (%s)", pxc_own_name(v->own));
  if (req->agent != PXC_AGENT_NONE)
    printf("  agent %s", pxc_agent_name((enum pxc_agent)req->agent));
  if (req->arch_source != PXC_ARCH_NONE)
    printf("  arch %u %s", req->arch, info ? info->name : "(unassigned)");
  for (unsigned i = 1; i < req->arch_count; i++)
    printf(", %u", req->arch_list[i]);
  printf("\n");
  if (req->ipxe.present) {
    printf("  ipxe %s", req->ipxe.has_version
                            ? pxc_format_version(req, text, sizeof(text))
                            : "(no version)");
    if (req->ipxe.has_busid)
      printf("  busid %s", pxc_format_busid(req, text, sizeof(text)));
    printf("  features %s\n", pxc_format_features(req, text, sizeof(text)));
  }
  for (size_t i = 0; (uc = pxc_user_class(req, i)).data; i++)
    print_wire("user-class", uc.data, uc.len);
  if ((uc = pxc_vendor_class(req)).data)
    print_wire("vendor-class", uc.data, uc.len);
  if (req->has_undi)
    printf("  undi %u.%u", req->undi_major, req->undi_minor);
  if (req->has_uuid)
    printf("  uuid %s", pxc_format_uuid(req, text, sizeof(text)));
  printf("\n");
  if (req->has_bsdp)
    print_bsdp(&req->bsdp);
  if (req->ip_family == PXC_IPV6)
    print_v6(ex->cfg, req);
  for (size_t i = 0; i < n; i++)
    if (pxc_rule_matches(ex->cfg, i, v))
      printf("  tag %s  (%s)\n", pxc_rule_tag(ex->cfg, i),
             pxc_rule_text(ex->cfg, i));
  print_chain(ex, v);
  print_flags("error", req->errors, pxc_error_name, pxc_error_text);
  print_flags("warning", req->warnings, pxc_warning_name, pxc_warning_text);
}

/* ------------------------------------------------------------------ */

/*
 * A DHCPv6 client message sent directly (not relayed) comes from the
 * client's own link-layer address: take it as dnsmasq does from its
 * neighbour table (the caller's MAC; dhcpv6.md §4.2).  Not for a relayed
 * one (the frame is the relay's) or without a link-layer header.
 */
static void
mac_from_link(struct pxc_request *req, const struct captured *pkt)
{
  if (req->relay_depth || pkt->src_mac_len != 6)
    return;
  req->htype = 1; /* Ethernet */
  req->hlen = 6;
  memcpy(req->chaddr, pkt->src_mac, 6);
  req->mac_source = PXC_MAC_CALLER;
}

/*
 * Classify and print one DHCP request of a capture (or, for watch, of an
 * interface); replies from the server go to the chain tracker, so a
 * capture replays in time order.  True for a request (see cli.h).
 */
bool
explain_packet(struct explain *ex, const struct captured *pkt,
               struct pxc_verdict *verdict)
{
  static struct pxc_request req; /* large: keep it off the stack */

  bool ipv6 = pkt->ipv6;

  if (pkt->len < 1)
    return false;
  if (ipv6) {
    if (!is_client_msg6(pkt->data[0])) {
      pxc_tracker_reply6(ex->trk, pkt->data, pkt->len, pkt->time.tv_sec);
      return false;
    }
  } else if (pkt->data[0] != BOOTREQUEST) {
    pxc_tracker_reply(ex->trk, pkt->data, pkt->len, pkt->time.tv_sec);
    return false;
  }
  if (!ex->have_first) {
    ex->first = pkt->time;
    ex->have_first = true;
  }
  if (ipv6) {
    pxc_classify6(ex->cfg, pkt->data, pkt->len, &req);
    mac_from_link(&req, pkt);
  } else {
    pxc_classify(ex->cfg, pkt->data, pkt->len, &req);
  }
  pxc_evaluate(ex->cfg, ex->trk, &req, pkt->time.tv_sec, verdict);
  if (ex->trk)
    pxc_tracker_record(ex->trk, verdict);
  ex->requests++;
  if (ex->json)
    print_json(ex, pkt, verdict);
  else
    print_text(ex, pkt, verdict);
  return true;
}

/* explain_packet() as a capture_each() callback. */
static void
explain_one(void *ctx, const struct captured *pkt)
{
  struct pxc_verdict verdict;

  explain_packet(ctx, pkt, &verdict);
}

/* Parse hex text ("01 01 06 00", "01:01:06", "010106") into BUF. */
static long
parse_hex(const char *text, uint8_t *buf, size_t size)
{
  size_t n = 0;
  int nibble = -1;

  for (const char *p = text; *p; p++) {
    int v;
    if (isspace((unsigned char)*p) || *p == ':' || *p == '-')
      continue;
    if (!isxdigit((unsigned char)*p))
      return -1;
    v = isdigit((unsigned char)*p) ? *p - '0' : (tolower(*p) - 'a' + 10);
    if (nibble < 0) {
      nibble = v;
      continue;
    }
    if (n == size)
      return -1;
    buf[n++] = (uint8_t)(nibble << 4 | v);
    nibble = -1;
  }
  return nibble < 0 ? (long)n : -1;
}

/*
 * Whether hex input DATA (LEN bytes) is DHCPv6, when neither --v4 nor
 * --v6 says: DHCPv4 if the magic cookie sits at 236; else DHCPv6 if the
 * first byte cannot be a BOOTP op (1 or 2) or the packet is too short
 * for a BOOTP header (236 bytes); else DHCPv4 (plain BOOTP).
 */
static bool
hex_is_dhcpv6(const uint8_t *data, size_t len)
{
  static const uint8_t cookie[4] = {99, 130, 83, 99};

  if (len >= 240 && memcmp(data + 236, cookie, 4) == 0)
    return false;
  return len > 0 && ((data[0] != 1 && data[0] != 2) || len < 236);
}

static int
explain_hex(struct explain *ex, const char *hex)
{
  static uint8_t buf[MAX_PACKET];
  long len = parse_hex(hex, buf, sizeof(buf));
  struct captured pkt = {.index = 1, .dst_port = 67, .data = buf};

  if (len < 0) {
    fprintf(stderr, "pxeclass explain: --hex needs an even number of hex digits\n");
    return 2;
  }
  pkt.len = (size_t)len;
  pkt.ipv6 = ex->family ? ex->family == 6 : hex_is_dhcpv6(buf, pkt.len);
  if (pkt.ipv6)
    pkt.dst_port = 547;
  ex->source = "hex";
  explain_one(ex, &pkt);
  return 0;
}

/* The config and tracker of explain and watch (cli.h). */
int
explain_setup(struct explain *ex, const char *command, const char *config)
{
  char err[1024];

  ex->cfg = pxc_config_new();
  if (!ex->cfg) {
    fprintf(stderr, "pxeclass %s: out of memory\n", command);
    return 1;
  }
  if (config ? conf_load(ex->cfg, config, err, sizeof(err)) < 0
             : pxc_config_finish(ex->cfg, err, sizeof(err)) < 0) {
    fprintf(stderr, "pxeclass %s: %s\n", command, err);
    pxc_config_free(ex->cfg);
    return 1;
  }
  if (pxc_config_tracker_info(ex->cfg, NULL) &&
      !(ex->trk = pxc_tracker_new(ex->cfg))) {
    fprintf(stderr, "pxeclass %s: cannot allocate the chain table\n", command);
    pxc_config_free(ex->cfg);
    return 1;
  }
  return 0;
}

/* Free what explain_setup() made. */
void
explain_teardown(struct explain *ex)
{
  pxc_tracker_free(ex->trk);
  pxc_config_free(ex->cfg);
}

static void
usage(FILE *out)
{
  fprintf(
      out,
      "usage: pxeclass explain [--json] [--config dnsmasq.conf] FILE.pcap...\n"
      "       pxeclass explain [--json] [--config dnsmasq.conf] "
      "[--v4|--v6] --hex HEX\n"
      "Classify every DHCP request of the captures (UDP to ports 67 and "
      "4011;\nDHCPv6 to 547, relayed too).  --hex takes one UDP payload: "
      "DHCPv4 if the\nmagic cookie is at byte 236, else DHCPv6 if the "
      "first byte is not 1 or 2 or\nthe payload is under 236 bytes, else "
      "DHCPv4; --v4 or --v6 says which instead.\n");
}

int
cmd_explain(int argc, char **argv)
{
  static const struct option options[] = {
      {"json", no_argument, NULL, 'j'},
      {"config", required_argument, NULL, 'c'},
      {"hex", required_argument, NULL, 'x'},
      {"v4", no_argument, NULL, '4'},
      {"v6", no_argument, NULL, '6'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct explain ex = {0};
  const char *config = NULL, *hex = NULL;
  char err[1024];
  int c, status = 0;

  while ((c = getopt_long(argc, argv, "jc:x:h46", options, NULL)) != -1) {
    switch (c) {
    case 'j':
      ex.json = true;
      break;
    case 'c':
      config = optarg;
      break;
    case 'x':
      hex = optarg;
      break;
    case '4':
    case '6':
      ex.family = c - '0';
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!hex && optind == argc) {
    usage(stderr);
    return 2;
  }
  if (explain_setup(&ex, "explain", config) != 0)
    return 1;
  if (hex)
    status = explain_hex(&ex, hex);
  for (int i = optind; i < argc; i++) {
    ex.source = argv[i];
    ex.have_first = false;
    if (capture_each(argv[i], explain_one, &ex, err, sizeof(err)) < 0) {
      fprintf(stderr, "pxeclass explain: %s\n", err);
      status = 1;
    }
  }
  explain_teardown(&ex);
  return status;
}
