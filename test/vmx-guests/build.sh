#!/bin/sh
# Reassembles the VMX test hypervisors from their nasm sources. The images are checked in next
# to their sources; test/vmx-guests/images.test.ts fails when one no longer matches.
#
#   test/vmx-guests/build.sh            rebuild all images in place
#   test/vmx-guests/build.sh --check    assemble into a temporary directory and compare
#
# Needs nasm (2.15 or later). Each source is assembled from its own directory because it
# includes ../common/*.inc and ../../../guests/common/*.inc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
check=0
[ "${1:-}" = "--check" ] && check=1
out=$here
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

status=0
for name in basics exits inject ept realmode isa long64; do
  img=vmx-$name.img
  mkdir -p "$out/$name"
  (cd "$here/$name" && nasm -f bin "$name.asm" -o "$out/$name/$img")
  if [ $check = 1 ]; then
    if cmp -s "$out/$name/$img" "$here/$name/$img"; then echo "ok       $name/$img"
    else echo "DIFFERS  $name/$img (run test/vmx-guests/build.sh)"; status=1; fi
  else
    echo "built    $name/$img ($(wc -c < "$out/$name/$img") bytes)"
  fi
done
exit $status
