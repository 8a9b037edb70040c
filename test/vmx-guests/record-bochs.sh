#!/bin/sh
# Records the expected transcripts of the VMX test hypervisors on Bochs (a developer tool: the
# test suite never runs Bochs, it compares vmxlab's transcripts with the committed files).
#
#   test/vmx-guests/record-bochs.sh                 build, then record every image on every model
#   test/vmx-guests/record-bochs.sh exits haswell   one image, one model (names as below)
#
# Writes test/vmx-guests/expected/vmx-<image>.<model>.txt (COM1 output, byte for byte).
# Needs Debian's bochs, bochs-term, bochsbios and vgabios (2.7+dfsg-4+deb12u1 was used) and
# `script` (util-linux): Debian's Bochs has no "nogui" display library, so it runs with the
# "term" library on a pseudo-terminal, and its debugger (compiled in) is told to continue.
# The guest ends the run by writing "Shutdown" to Bochs' port 0x8900 (an orderly panic
# "Shutdown port: shutdown requested"; any other panic or error makes this script fail).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
images="${1:-basics exits inject ept realmode isa long64}"
models="${2:-haswell penryn icelake}"

bochs_model() {
  case $1 in
    haswell) echo corei7_haswell_4770 ;;   # EPT, VPID, unrestricted guest, preemption timer
    penryn)  echo core2_penryn_t9600 ;;    # VMX with secondary controls but no EPT/VPID
    icelake) echo corei7_icelake_u ;;      # adds the monitor trap flag (Bochs' Haswell lacks it)
    *) echo "unknown model $1" >&2; exit 2 ;;
  esac
}

for t in bochs script; do
  command -v $t >/dev/null || { echo "record-bochs: $t not found (apt-get install bochs bochs-term bochsbios vgabios)" >&2; exit 2; }
done
[ -f /usr/share/bochs/BIOS-bochs-latest ] || { echo "record-bochs: install bochsbios" >&2; exit 2; }
[ -f /usr/share/vgabios/vgabios.bin ] || { echo "record-bochs: install vgabios" >&2; exit 2; }

"$here/build.sh" >/dev/null
mkdir -p "$here/expected"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for image in $images; do
  for model in $models; do
    cpu=$(bochs_model "$model")
    run=$work/$image.$model
    mkdir -p "$run"
    # a 1.44 MB floppy: the image, zero-padded
    cp "$here/$image/vmx-$image.img" "$run/floppy.img"
    truncate -s 1474560 "$run/floppy.img"
    cat > "$run/bochsrc" <<EOR
megs: 32
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=$cpu, count=1, ips=10000000, reset_on_triple_fault=0
clock: sync=none, time0=946684800
floppya: 1_44=floppy.img, status=inserted
boot: floppy
com1: enabled=1, mode=file, dev=serial.txt
display_library: term
speaker: enabled=0
log: bochs.log
EOR
    printf 'c\nquit\n' > "$run/debugger.rc"
    (cd "$run" && TERM=xterm timeout 300 script -qfec "bochs -q -f bochsrc -rc debugger.rc" /dev/null \
      < /dev/null > console.txt 2>&1) || true
    out=$here/expected/vmx-$image.$model.txt
    cp "$run/serial.txt" "$out"
    name=$(echo "VMX-$image" | tr a-z A-Z)
    problems=$(grep -a -E '^[0-9]+p\[' "$run/bochs.log" | grep -v 'Shutdown port: shutdown requested' || true)
    if ! tail -n 1 "$out" | grep -qx "END $name" || [ -n "$problems" ]; then
      echo "FAILED   $image on $cpu (see $out)"
      [ -n "$problems" ] && echo "$problems"
      status=1
    else
      echo "recorded expected/vmx-$image.$model.txt ($(wc -l < "$out") lines)"
    fi
  done
done
exit $status
