#!/bin/sh
# Fetches the boot ladder's Linux guest from Debian (i386 packages, not committed): the 686
# kernel and busybox-static, and builds the initramfs. Output in guests/linux/cache/.
#   guests/linux/fetch.sh        (needs root for dpkg --add-architecture / apt-get update)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/cache
mkdir -p "$cache"
cd "$cache"
if [ ! -f vmlinuz ] || [ ! -f initrd.gz ]; then
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  kpkg=$(apt-cache depends linux-image-686:i386 | sed -n 's/.*Depends: \(linux-image-[0-9.]*-[0-9]*-686\):i386.*/\1/p' | head -n 1)
  [ -n "$kpkg" ] || { echo "fetch.sh: cannot resolve linux-image-686:i386" >&2; exit 1; }
  rm -f ./*.deb
  apt-get download -q "$kpkg:i386" busybox-static:i386 2>/dev/null
  rm -rf root && mkdir root
  for d in ./*.deb; do dpkg-deb -x "$d" root; done
  cp root/boot/vmlinuz-* vmlinuz
  node "$here/mkinitramfs.mjs" root/bin/busybox initrd.gz
  rm -rf root ./*.deb
fi
ls -l "$cache"
