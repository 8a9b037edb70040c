#!/bin/sh
# Reassembles every test guest image from its nasm source. The images are checked in next to
# their sources (tests and the benchmark use them as they are); test/guests/images.test.ts and
# test/diff/hostdiff.test.ts fail when a checked-in image no longer matches its source.
#
#   guests/build.sh            rebuild all images in place
#   guests/build.sh --check    assemble into a temporary directory and compare, change nothing
#
# Needs nasm (2.15 or later). Each source is assembled from its own directory because the
# sources include ../common/*.inc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
check=0
[ "${1:-}" = "--check" ] && check=1
out=$here
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

# name  dir  source  nasm-flags
build() {
  name=$1 dir=$2 src=$3; shift 3
  mkdir -p "$out/$dir"
  (cd "$here/$dir" && nasm -f bin "$@" "$src" -o "$out/$dir/$name")
  if [ $check = 1 ]; then
    if cmp -s "$out/$dir/$name" "$here/$dir/$name"; then echo "ok       $dir/$name"
    else echo "DIFFERS  $dir/$name (run guests/build.sh)"; status=1; fi
  else
    echo "built    $dir/$name ($(wc -c < "$out/$dir/$name") bytes)"
  fi
}
status=0
build hostdiff.img     cpu-hostdiff hostdiff.asm
build hostdiff.elf     cpu-hostdiff hostdiff.asm -DHOST
build pmode.img        pmode-diff   pmode.asm
build pmode-strict.img pmode-diff   pmode.asm -DSTRICT
build bench.img        bench-cpu    bench.asm
build hello.img        realmode-hello hello.asm
build pit-idle.img     pit-idle     pit-idle.asm
build paging-stress.img paging-stress paging-stress.asm
[ $check = 1 ] || chmod +x "$here/cpu-hostdiff/hostdiff.elf"
exit $status
