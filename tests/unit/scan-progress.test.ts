/** Scans in flight: progress at most five a second (the latest step wins, the end always said), cancel until writing. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScanProgress } from '../../app/contract/index.js';
import { ScanRegistry, throwIfCancelled, type ScanStep } from '../../app/core/archives/index.js';

const step = (filesRead: number, total: number): ScanStep => ({ phase: 'reading', filesSeen: total, filesRead, total, currentFile: `/x/${filesRead}.tif` });

describe('ScanRegistry', () => {
  let events: ScanProgress[];
  let scans: ScanRegistry;
  beforeEach(() => {
    vi.useFakeTimers();
    events = [];
    scans = new ScanRegistry({ emit: (p) => events.push(p), now: () => Date.now() });
  });
  afterEach(() => vi.useRealTimers());

  it('reports 1,000 files read over two seconds in at most eleven events, rising, the last one done', async () => {
    const out = await scans.run(
      { id: 'a1', name: 'Survey' },
      async ({ onProgress }) => {
        for (let i = 0; i <= 1000; i++) {
          onProgress!(step(i, 1000));
          await vi.advanceTimersByTimeAsync(2);
        }
        return 'read';
      },
      async (r) => `${r} and written`,
    );
    expect(out).toBe('read and written');
    const during = events.slice(0, -1);
    expect(during.length).toBeLessThanOrEqual(11);
    expect(during.length).toBeGreaterThanOrEqual(9);
    const reads = during.map((e) => e.filesRead);
    expect(reads).toEqual([...reads].sort((a, b) => a - b));
    // ETA from the reading rate: 2 ms a file.
    const mid = during.find((e) => e.filesRead >= 400 && e.filesRead <= 600)!;
    expect(mid.etaSeconds).toBeCloseTo(((1000 - mid.filesRead) * 2) / 1000, 1);
    expect(events.at(-1)).toEqual({ archiveId: 'a1', name: 'Survey', phase: 'done', paused: false, filesSeen: 1000, filesRead: 1000, total: 1000, currentFile: null, etaSeconds: null });
  });

  it('a burst faster than the interval sends the first step, then the latest one once the interval has passed', async () => {
    let finish!: () => void;
    const running = scans.run(
      { id: 'a1', name: 'Survey' },
      ({ onProgress }) => {
        for (let i = 0; i < 50; i++) onProgress!(step(i, 50));
        return new Promise<void>((r) => (finish = r));
      },
      async () => undefined,
    );
    expect(events.map((e) => e.filesRead)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(199);
    expect(events).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.filesRead)).toEqual([0, 49]);
    finish();
    await running;
    expect(events.map((e) => e.phase)).toEqual(['reading', 'reading', 'done']);
  });

  it('cancels while reading (the call fails with cancelled, nothing is written) but not once writing began', async () => {
    const write = vi.fn(async () => undefined);
    const first = scans.run(
      { id: 'a1', name: 'Survey' },
      async ({ signal }) => {
        await vi.advanceTimersByTimeAsync(10);
        throwIfCancelled(signal);
      },
      write,
    );
    const failure = first.catch((err: unknown) => err);
    expect(scans.isRunning('a1')).toBe(true);
    await expect(scans.run({ id: 'a1', name: 'Survey' }, async () => undefined, write)).rejects.toMatchObject({ code: 'unavailable' });
    expect(scans.cancel('a1')).toBe(true);
    expect(await failure).toMatchObject({ code: 'cancelled' });
    expect(write).not.toHaveBeenCalled();
    expect(events.at(-1)).toMatchObject({ archiveId: 'a1', phase: 'cancelled' });
    expect(scans.isRunning('a1')).toBe(false);
    expect(scans.cancel('a1')).toBe(false);

    let release!: () => void;
    const second = scans.run(
      { id: 'a2', name: 'Other' },
      async () => undefined,
      () => new Promise<void>((r) => (release = r)),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(scans.cancel('a2')).toBe(false);
    release();
    await second;
    expect(events.at(-1)).toMatchObject({ archiveId: 'a2', phase: 'done' });
  });

  it('pauses before the next file: no file is read while paused, the pause is said at once without an ETA, and a resume or a cancel lets it go', async () => {
    let read = 0;
    const reading = async ({ onProgress, pause, signal }: Parameters<Parameters<ScanRegistry['run']>[1]>[0]): Promise<number> => {
      for (let i = 0; i < 10; i++) {
        await pause!();
        throwIfCancelled(signal);
        onProgress!(step(i, 10));
        read++;
        await vi.advanceTimersByTimeAsync(300);
      }
      return read;
    };
    const first = scans.run({ id: 'a1', name: 'Survey' }, reading, async (n) => n);
    await vi.advanceTimersByTimeAsync(650);
    expect(scans.pause('a1')).toBe(true);
    expect(scans.pause('a1')).toBe(false);
    expect(events.at(-1)).toMatchObject({ paused: true, etaSeconds: null });
    const atPause = read;
    await vi.advanceTimersByTimeAsync(5_000);
    // The file being read when the pause came finishes; no other starts.
    expect(read).toBeLessThanOrEqual(atPause + 1);
    const held = read;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(read).toBe(held);
    expect(scans.resume('a1')).toBe(true);
    expect(scans.resume('a1')).toBe(false);
    expect(events.at(-1)).toMatchObject({ paused: false });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await first).toBe(10);
    expect(events.at(-1)).toMatchObject({ phase: 'done', paused: false, filesRead: 9 });

    // Cancelled while paused: the held scan ends as cancelled.
    read = 0;
    const second = scans.run({ id: 'a2', name: 'Other' }, reading, async (n) => n).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(350);
    expect(scans.pause('a2')).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(scans.cancel('a2')).toBe(true);
    expect(await second).toMatchObject({ code: 'cancelled' });
    expect(events.at(-1)).toMatchObject({ archiveId: 'a2', phase: 'cancelled', paused: false });
    expect(read).toBeLessThan(10);
  });
});
