/* Forced in front of the 0.1 copies (see README.md): their exported names
   get a legacy_ prefix. */
#define pxc_classify legacy_pxc_classify
#define pxc_has_feature legacy_pxc_has_feature
#define request_has_user_class legacy_request_has_user_class
#define dhcp_index_build legacy_dhcp_index_build
#define dhcp_index_get legacy_dhcp_index_get
#define dhcp_walk_encap legacy_dhcp_walk_encap
