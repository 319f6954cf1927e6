/*
 * Rendering of classified requests as text, for logs and the CLI.  Every
 * function writes into a caller's buffer of a given size and truncates
 * rather than overflows; a NULL request (or verdict) renders as the empty
 * string, and a NULL buffer or a zero length writes nothing.  The chain
 * and the loop warning are the tracker's to render (tracker.c).  Only
 * strbuf's writers, no printf: the hooks log from a router's small stack.
 */
#include <string.h>

#include "pxeclass.h"
#include "strbuf.h"
#include "wire.h"

char *
pxc_format_version(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);

  if (req && req->ipxe.has_version)
    for (size_t i = 0; i < 3; i++) {
      if (i)
        strbuf_puts(&sb, ".");
      strbuf_putu(&sb, req->ipxe.version[i]);
    }
  return buf;
}

char *
pxc_format_busid(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);
  const char *bus;

  if (!req || !req->ipxe.has_busid)
    return buf;
  bus = pxc_bus_name(req->ipxe.bus_type);
  if (bus)
    strbuf_puts(&sb, bus);
  else
    strbuf_putu(&sb, req->ipxe.bus_type);
  strbuf_puts(&sb, ":");
  strbuf_puthex(&sb, req->ipxe.bus_vendor, 4);
  strbuf_puts(&sb, ":");
  strbuf_puthex(&sb, req->ipxe.bus_device, 4);
  return buf;
}

char *
pxc_format_uuid(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);

  if (!req || !req->has_uuid)
    return buf;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      strbuf_puts(&sb, "-");
    strbuf_puthex(&sb, req->uuid[i], 2);
  }
  return buf;
}

char *
pxc_format_mac(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);
  size_t n;

  if (!req)
    return buf;
  n = req->hlen <= sizeof(req->chaddr) ? req->hlen : sizeof(req->chaddr);
  for (size_t i = 0; i < n; i++) {
    if (i)
      strbuf_puts(&sb, ":");
    strbuf_puthex(&sb, req->chaddr[i], 2);
  }
  return buf;
}

/* Append the names of the feature flags set in REQ (unknown codes as
   numbers), separated by SEP. */
static void
append_features(struct strbuf *sb, const struct pxc_request *req,
                const char *sep)
{
  const char *s = "";

  for (unsigned code = 0; code < 8 * sizeof(req->ipxe.features); code++) {
    const char *name;
    if (!bit_test(req->ipxe.features, code))
      continue;
    name = pxc_feature_name((uint8_t)code);
    strbuf_puts(sb, s);
    if (name)
      strbuf_puts(sb, name);
    else
      strbuf_putu(sb, code);
    s = sep;
  }
}

char *
pxc_format_features(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);

  if (req)
    append_features(&sb, req, " ");
  return buf;
}

/* Append "KEY=name,name" for the bits of FLAGS, named by NAME_OF. */
static void
append_flags(struct strbuf *sb, const char *key, uint32_t flags,
             const char *(*name_of)(uint32_t))
{
  const char *sep = "";

  if (!flags)
    return;
  strbuf_puts(sb, " ");
  strbuf_puts(sb, key);
  strbuf_puts(sb, "=");
  for (unsigned i = 0; i < 32; i++) {
    const char *name;
    if (!(flags & (1u << i)))
      continue;
    name = name_of(1u << i);
    strbuf_puts(sb, sep);
    strbuf_puts(sb, name ? name : "?");
    sep = ",";
  }
}

char *
pxc_format_summary(const struct pxc_verdict *v, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);
  const struct pxc_request *req = v ? v->req : NULL;
  char text[64];

  if (!req)
    return buf;
  strbuf_puts(&sb, "class=");
  strbuf_puts(&sb, pxc_class_name(req->fw_class));
  if (req->ip_family != PXC_IPV4) { /* DHCPv4 lines stay as they were */
    strbuf_puts(&sb, " family=");
    strbuf_puts(&sb, pxc_ip_family_name(req->ip_family));
  }
  if (req->agent != PXC_AGENT_NONE) {
    strbuf_puts(&sb, " agent=");
    strbuf_puts(&sb, pxc_agent_name((enum pxc_agent)req->agent));
  }
  if (v->own != PXC_OWN_UNKNOWN) {
    strbuf_puts(&sb, " own=");
    strbuf_puts(&sb, pxc_own_name(v->own));
  }
  if (req->arch_source != PXC_ARCH_NONE) {
    const struct pxc_arch_info *info = pxc_arch_by_code(req->arch);
    strbuf_puts(&sb, " arch=");
    strbuf_putu(&sb, req->arch);
    strbuf_puts(&sb, "(");
    strbuf_puts(&sb, info ? info->name : "unassigned");
    strbuf_puts(&sb, ")");
  }
  if (req->ipxe.has_version) {
    strbuf_puts(&sb, " version=");
    strbuf_puts(&sb, pxc_format_version(req, text, sizeof(text)));
  }
  if (req->ipxe.has_busid) {
    strbuf_puts(&sb, " busid=");
    strbuf_puts(&sb, pxc_format_busid(req, text, sizeof(text)));
  }
  for (size_t i = 0; i < req->user_class_count; i++) {
    struct pxc_bytes uc = pxc_user_class(req, i);
    strbuf_puts(&sb, i ? "," : " user-class=");
    strbuf_bytes(&sb, uc.data, uc.len);
  }
  if (req->ipxe.present) {
    strbuf_puts(&sb, " features=");
    append_features(&sb, req, ",");
  }
  append_flags(&sb, "errors", req->errors, pxc_error_name);
  append_flags(&sb, "warnings", req->warnings, pxc_warning_name);
  return buf;
}
