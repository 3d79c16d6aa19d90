import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KestrelError } from '../../contract/index.js';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
  what: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per store: a lock file created exclusively. A lock left by a process that no longer
 * exists (a crash) is taken over; a live one is refused with who holds it and since when.
 */
export class StoreLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string, what: string): Promise<StoreLock> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'lock');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(path, 'wx');
        const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
        await fh.writeFile(JSON.stringify(info));
        await fh.close();
        return new StoreLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let held: LockInfo | undefined;
      try {
        held = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
      } catch {
        held = undefined; // written half-way by a crashed process, or just removed
      }
      if (held && held.host === hostname() && alive(held.pid)) {
        throw new KestrelError({
          code: 'unavailable',
          message: `Another job is already ${held.what} (process ${held.pid}, since ${held.since}).`,
          file: dir,
          hint: 'Wait for it to finish or cancel it; two jobs cannot write one archive at once.',
        });
      }
      if (held && held.host !== hostname()) {
        throw new KestrelError({
          code: 'unavailable',
          message: `The archive is locked by ${held.what} on another machine (${held.host}, since ${held.since}).`,
          file: path,
          hint: 'If that machine is no longer working on it, delete the lock file.',
        });
      }
      await unlink(path).catch(() => {});
    }
    throw new KestrelError({ code: 'unavailable', message: 'Could not take the archive lock.', file: path });
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => {});
  }
}
