#!/bin/sh
# deb/rpm after-install hook (electron-builder.yml: deb.afterInstall, rpm.afterInstall). Gives ONLY the
# native helper the two capabilities it needs to bind UDP 67/69/4011 on one NIC (docs/helper.md); the
# app itself stays unprivileged, and the helper clears them right after binding. Without them the app
# still works: it asks for elevation (pkexec / sudo) each time a session starts.
# PXE_DESK_RESOURCES overrides the install location (tests; a relocated install).
resources=$PXE_DESK_RESOURCES
[ -n "$resources" ] || resources='/opt/PXE Desk/resources'
if ! command -v setcap >/dev/null 2>&1; then
  echo "pxe-desk: setcap not found (package libcap2-bin); the helper will ask for elevation instead" >&2
  exit 0
fi
for helper in "$resources"/helper/linux-*/pxe-desk-helper; do
  [ -f "$helper" ] || continue
  # root-owned and not writable by others, or the capabilities would be anyone's to reuse
  chown root:root "$helper"
  chmod 0755 "$helper"
  if ! setcap 'cap_net_bind_service,cap_net_raw+ep' "$helper"; then
    echo "pxe-desk: could not set capabilities on $helper (filesystem without xattrs?); the helper will ask for elevation instead" >&2
  fi
done
exit 0
