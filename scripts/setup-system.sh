#!/usr/bin/env bash
# System packages every test tier needs (Debian/Ubuntu). Safe to re-run. Services never start:
# installs happen under a policy-rc.d that exits 101, and we use dnsmasq-base (no service) rather
# than dnsmasq. tftpd-hpa conflicts with atftpd as a package, so bench/ extracts it with dpkg -x.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if [ ! -x /usr/sbin/policy-rc.d ] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi
PACKAGES=(
  golang-go libcap2-bin iproute2 procps util-linux sudo
  qemu-system-x86 ipxe ipxe-qemu ovmf busybox-static cpio
  dnsmasq-base atftp atftpd tftp-hpa curl
  openssl # test/unit/authenticode.test.ts reads the PKCS#7 blobs a second time
  chromium tcpdump tshark xorriso kea-admin ieee-data
  genisoimage mtools grub-common grub-pc-bin grub-efi-amd64-bin isolinux syslinux-common # ISO reader test images
  "$@" # extra packages a caller needs beside the tests' (bench/setup.sh: nginx)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}"
  $SUDO apt-get update -q
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
