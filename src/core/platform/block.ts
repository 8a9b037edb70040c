// Disk images as block devices. Images live in memory (an ArrayBuffer the host read from a
// file the user chose); writes change the in-memory copy only, so a run never alters the file.

export class BlockDevice {
  readonly bytes: Uint8Array;
  constructor(readonly name: string, image: Uint8Array, readonly readOnly = false) {
    this.bytes = new Uint8Array(image); // private copy
  }
  get size(): number { return this.bytes.length; }
  /** Copies `len` bytes from `offset` into `dst` at `dstOff`; false when out of range. */
  read(offset: number, dst: Uint8Array, dstOff: number, len: number): boolean {
    if (offset < 0 || offset + len > this.bytes.length) return false;
    dst.set(this.bytes.subarray(offset, offset + len), dstOff);
    return true;
  }
  /** Writes `len` bytes from `src`; false when out of range or read-only. */
  write(offset: number, src: Uint8Array, srcOff: number, len: number): boolean {
    if (this.readOnly || offset < 0 || offset + len > this.bytes.length) return false;
    this.bytes.set(src.subarray(srcOff, srcOff + len), offset);
    return true;
  }
}
