/**
 * A zip reader for checkpoint archives: the central directory only, then positioned reads.
 * PyTorch stores its entries uncompressed (64-byte aligned), so a tensor is read straight from the file
 * at its offset, one at a time, and a 600 MB checkpoint is never held in memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { KestrelError } from '../../../contract/index.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Where the entry's bytes start (resolved from its local header on first use). */
  dataOffset?: number;
}

export function corrupt(file: string, message: string, hint: string): KestrelError {
  return new KestrelError({ code: 'corrupt_file', message, file, hint });
}

export function readExact(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      throw corrupt(file, `The file ends early: ${length} bytes were expected at offset ${position}, only ${done} are there.`, 'The file is truncated: download or copy it again.');
    }
    done += n;
  }
  return buf;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipFile {
  readonly entries = new Map<string, ZipEntry>();
  readonly size: number;

  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {
    this.size = fstatSync(fd).size;
  }

  /** Opens a zip archive; refuses files that are not one, or whose directory is cut off. */
  static open(file: string, fd?: number): ZipFile {
    const zip = new ZipFile(file, fd ?? openSync(file, 'r'));
    try {
      zip.readDirectory();
    } catch (err) {
      if (fd === undefined) zip.close();
      throw err;
    }
    return zip;
  }

  private readDirectory(): void {
    const truncated = (why: string): KestrelError =>
      corrupt(this.file, `${this.file} is not a complete zip archive (${why}).`, 'The checkpoint is truncated or damaged: download or copy it again.');
    const tailLength = Math.min(this.size, 22 + 65535);
    if (tailLength < 22) throw truncated('too short for a zip directory');
    const tail = readExact(this.fd, tailLength, this.size - tailLength, this.file);
    let at = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw truncated('no end-of-directory record');
    let count = tail.readUInt16LE(at + 10);
    let dirSize = tail.readUInt32LE(at + 12);
    let dirOffset = tail.readUInt32LE(at + 16);
    if (at >= 20 && tail.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
      const z64 = Number(tail.readBigUInt64LE(at - 20 + 8));
      const rec = readExact(this.fd, 56, z64, this.file);
      if (rec.readUInt32LE(0) !== ZIP64_EOCD) throw truncated('bad zip64 directory record');
      count = Number(rec.readBigUInt64LE(32));
      dirSize = Number(rec.readBigUInt64LE(40));
      dirOffset = Number(rec.readBigUInt64LE(48));
    }
    if (dirOffset + dirSize > this.size) throw truncated('the directory lies past the end of the file');
    const dir = readExact(this.fd, dirSize, dirOffset, this.file);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw truncated('damaged directory entry');
      const method = dir.readUInt16LE(p + 10);
      let compressedSize = dir.readUInt32LE(p + 20);
      let size = dir.readUInt32LE(p + 24);
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      let localHeaderOffset = dir.readUInt32LE(p + 42);
      const name = dir.toString('utf8', p + 46, p + 46 + nameLength);
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = dir.readUInt16LE(e);
        const len = dir.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) {
            size = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(dir.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p = extraEnd + commentLength;
    }
  }

  private dataOffset(entry: ZipEntry): number {
    if (entry.dataOffset === undefined) {
      const head = readExact(this.fd, 30, entry.localHeaderOffset, this.file);
      if (head.readUInt32LE(0) !== LOCAL) throw corrupt(this.file, `${this.file}: the zip entry ${entry.name} is damaged.`, 'Download or copy the checkpoint again.');
      entry.dataOffset = entry.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    }
    if (entry.dataOffset + entry.compressedSize > this.size) {
      throw corrupt(this.file, `${this.file} is truncated: the entry ${entry.name} runs past the end of the file.`, 'Download or copy the checkpoint again.');
    }
    return entry.dataOffset;
  }

  /** `length` bytes from `offset` within an entry (positioned read when stored, inflate when not). */
  read(name: string, offset = 0, length?: number): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw corrupt(this.file, `${this.file} has no entry ${name}.`, 'The checkpoint is incomplete or not a PyTorch file.');
    const want = length ?? entry.size - offset;
    if (offset + want > entry.size) throw corrupt(this.file, `${this.file}: a tensor reaches past the end of ${name}.`, 'The checkpoint is damaged.');
    const start = this.dataOffset(entry);
    if (entry.method === 0) return readExact(this.fd, want, start + offset, this.file);
    if (entry.method === 8) {
      const all = inflateRawSync(readExact(this.fd, entry.compressedSize, start, this.file));
      return all.subarray(offset, offset + want);
    }
    throw corrupt(this.file, `${this.file}: zip entry ${name} uses compression method ${entry.method}, which Kestrel does not read.`, 'Re-save the checkpoint with torch.save.');
  }

  close(): void {
    closeSync(this.fd);
  }
}
