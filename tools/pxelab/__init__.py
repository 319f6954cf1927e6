"""pxelab: stdlib-only network harness for pxeclass tests and `pxeclass lab`.

Modules: netns (namespaces/topologies), pcap (capture reader), dhcp (DHCPv4
build/parse and a raw-socket client), tftp and http (clients), servers
(dnsmasq and an HTTP file server in a namespace).
"""
