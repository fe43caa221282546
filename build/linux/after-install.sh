#!/bin/sh
# Lets the helper bind ports 67/69/4011 without running the whole app as root (DESIGN: privileged
# helper). Only the helper gets the capabilities; the Electron app itself runs unprivileged.
set -e
for helper in "/opt/PXE Desk/resources/helper"/linux-*/pxe-desk-helper; do
  if [ -x "$helper" ] && command -v setcap >/dev/null 2>&1; then
    setcap 'cap_net_bind_service,cap_net_raw+ep' "$helper" || true
  fi
done
