import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';

/**
 * Replaces `file` so that a crash leaves the old content or the new, never a torn file: the data
 * goes to a temporary name beside it, is fsynced, then renamed over it. The name is random so two
 * writes of one file in one process do not share a temporary.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
