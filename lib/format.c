/*
 * Rendering of classified requests as text, for logs and the CLI.  Every
 * function writes into a caller's buffer of a given size and truncates
 * rather than overflows; a NULL request (or verdict) renders as the empty
 * string, and a NULL buffer or a zero length writes nothing.  The chain
 * and the loop warning are the tracker's to render (tracker.c).
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
    strbuf_printf(&sb, "%u.%u.%u", req->ipxe.version[0], req->ipxe.version[1],
                  req->ipxe.version[2]);
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
    strbuf_printf(&sb, "%s", bus);
  else
    strbuf_printf(&sb, "%u", req->ipxe.bus_type);
  strbuf_printf(&sb, ":%04x:%04x", req->ipxe.bus_vendor, req->ipxe.bus_device);
  return buf;
}

char *
pxc_format_uuid(const struct pxc_request *req, char *buf, size_t len)
{
  struct strbuf sb = strbuf_start(buf, len);

  if (!req || !req->has_uuid)
    return buf;
  for (size_t i = 0; i < 16; i++)
    strbuf_printf(&sb, "%s%02x",
                  (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "",
                  req->uuid[i]);
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
  for (size_t i = 0; i < n; i++)
    strbuf_printf(&sb, "%s%02x", i ? ":" : "", req->chaddr[i]);
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
    if (name)
      strbuf_printf(sb, "%s%s", s, name);
    else
      strbuf_printf(sb, "%s%u", s, code);
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
  strbuf_printf(sb, " %s=", key);
  for (unsigned i = 0; i < 32; i++) {
    const char *name;
    if (!(flags & (1u << i)))
      continue;
    name = name_of(1u << i);
    strbuf_printf(sb, "%s%s", sep, name ? name : "?");
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
  strbuf_printf(&sb, "class=%s", pxc_class_name(req->fw_class));
  if (req->ip_family != PXC_IPV4) /* DHCPv4 lines stay as they were */
    strbuf_printf(&sb, " family=%s", pxc_ip_family_name(req->ip_family));
  if (req->agent != PXC_AGENT_NONE)
    strbuf_printf(&sb, " agent=%s", pxc_agent_name((enum pxc_agent)req->agent));
  if (v->own != PXC_OWN_UNKNOWN)
    strbuf_printf(&sb, " own=%s", pxc_own_name(v->own));
  if (req->arch_source != PXC_ARCH_NONE) {
    const struct pxc_arch_info *info = pxc_arch_by_code(req->arch);
    strbuf_printf(&sb, " arch=%u(%s)", req->arch,
                  info ? info->name : "unassigned");
  }
  if (req->ipxe.has_version)
    strbuf_printf(&sb, " version=%s",
                  pxc_format_version(req, text, sizeof(text)));
  if (req->ipxe.has_busid)
    strbuf_printf(&sb, " busid=%s", pxc_format_busid(req, text, sizeof(text)));
  for (size_t i = 0; i < req->user_class_count; i++) {
    struct pxc_bytes uc = pxc_user_class(req, i);
    strbuf_printf(&sb, i ? "," : " user-class=");
    strbuf_bytes(&sb, uc.data, uc.len);
  }
  if (req->ipxe.present) {
    strbuf_printf(&sb, " features=");
    append_features(&sb, req, ",");
  }
  append_flags(&sb, "errors", req->errors, pxc_error_name);
  append_flags(&sb, "warnings", req->warnings, pxc_warning_name);
  return buf;
}
