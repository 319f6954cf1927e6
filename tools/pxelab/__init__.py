"""pxelab: stdlib-only network harness for pxeclass tests and `pxeclass lab`.

Modules: netns (namespaces/topologies), pcap (capture reader), dhcp (DHCPv4
build/parse and a raw-socket client), tftp and http (clients), servers
(dnsmasq and an HTTP file server in a namespace); the lab: lab (the
command), labconf (a user's config), standins (boot file stand-ins),
clients (client types as wire bytes, from firmware: the firmware fact
sheet), facts (what libpxeclass knows and reads, asked of the pxeclass
CLI), boot (one client's chain); for the
tests: replay (a capture replayed against dnsmasq), testing (skips, main).
"""
