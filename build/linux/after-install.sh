#!/bin/sh
# deb/rpm after-install: give the native helper (and only it) the two capabilities it needs to bind
# ports 67/69/4011 on one NIC; the Electron app itself stays unprivileged.
set -e
HELPER="/opt/PXE Desk/resources/helper/pxe-desk-helper"
if [ -x "$HELPER" ] && command -v setcap >/dev/null 2>&1; then
  setcap 'cap_net_bind_service,cap_net_raw+ep' "$HELPER" || echo "pxe-desk: setcap failed; the app will ask for elevation with pkexec" >&2
fi
