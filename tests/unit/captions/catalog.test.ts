/** Captions in the catalog: history, undo, replay from the journal, and durability across a kill. */
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptionJournal as CaptionStore } from '../../../app/core/captions/index.js';
import { tempDir } from '../../helpers/tmp.js';

const root = new URL('../../..', import.meta.url).pathname;
const A = 'a0123456789abcde';

describe('caption store', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.remove());

  it('records who, when, before and after for every change; undo walks back and is itself recorded', async () => {
    const store = new CaptionStore(dir.path);
    const [c] = await store.add(A, [{ target: { sceneId: 's1' }, text: 'one', provenance: 'imported', who: 'imported' }]);
    expect(CaptionStore.archiveOf(c!.id)).toBe(A);
    await store.edit(A, c!.id, 'two');
    await store.edit(A, c!.id, 'three');
    expect((await store.undo(A, c!.id)).text).toBe('two');
    expect((await store.undo(A, c!.id)).text).toBe('one');
    // Undoing the add removes the caption; nothing is left to undo after that.
    expect((await store.undo(A, c!.id)).text).toBeNull();
    expect(await store.list(A)).toEqual([]);
    await expect(store.undo(A, c!.id)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(store.edit(A, c!.id, 'x')).rejects.toMatchObject({ code: 'not_found' });
    const s = (await store.get(A, c!.id))!;
    expect(s.history.map((h) => [h.op, h.who, h.before, h.after])).toEqual([
      ['add', 'imported', null, 'one'],
      ['edit', 'person', 'one', 'two'],
      ['edit', 'person', 'two', 'three'],
      ['undo', 'person', 'three', 'two'],
      ['undo', 'person', 'two', 'one'],
      ['undo', 'person', 'one', null],
    ]);
    expect(s.provenance).toBe('imported');
  });

  it('undo of a delete restores the caption; a reopened store replays the same state and skips a torn last line', async () => {
    const store = new CaptionStore(dir.path);
    const [c, d] = await store.add(A, [
      { target: { sceneId: 's1' }, text: 'kept', provenance: 'person', who: 'person' },
      { target: { chipId: `${A}-0000abcd-1`, sceneId: 's1' }, text: 'chip caption', provenance: 'suggested', who: 'person' },
    ]);
    await store.delete(A, c!.id);
    expect((await store.list(A)).map((x) => x.id)).toEqual([d!.id]);
    expect((await store.undo(A, c!.id)).text).toBe('kept');
    expect((await store.list(A, { sceneId: 's1' })).map((x) => x.id)).toEqual([c!.id]);
    expect((await store.list(A, { chipId: `${A}-0000abcd-1` })).map((x) => x.id)).toEqual([d!.id]);
    // A crash in the middle of an append leaves at most a partial last line.
    await appendFile(join(dir.path, 'captions', `${A}.jsonl`), '{"seq":99,"captionId":"');
    const again = new CaptionStore(dir.path);
    expect((await again.get(A, c!.id))?.history.map((h) => h.op)).toEqual(['add', 'delete', 'undo']);
    expect((await again.list(A)).map((x) => [x.id, x.text])).toEqual([
      [c!.id, 'kept'],
      [d!.id, 'chip caption'],
    ]);
  });

  it('a save survives the process being killed right after the call returns', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tests/helpers/caption-writer.ts'), dir.path, A], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /saved (\S+)\n/.exec(out);
        if (m) {
          child.kill('SIGKILL');
          resolve(m[1]!);
        }
      });
      child.on('exit', (code, signal) => reject(new Error(`the writer exited before saving (${code ?? signal})`)));
    });
    await new Promise((r) => child.once('exit', r));
    expect(child.signalCode).toBe('SIGKILL');
    const store = new CaptionStore(dir.path);
    const s = await store.get(A, id);
    expect(s?.text).toBe('a harbour with many small boats');
    expect(s?.history.map((h) => [h.op, h.before, h.after])).toEqual([
      ['add', null, 'a harbour with boats'],
      ['edit', 'a harbour with boats', 'a harbour with many small boats'],
    ]);
    expect((await readFile(join(dir.path, 'captions', `${A}.jsonl`), 'utf8')).trim().split('\n')).toHaveLength(2);
  });
});
