/**
 * The desktop app's engine runs in a process of its own. These tests run the real engine host in
 * a real child process, kill it, and check that callers get errors (never a hang), that it comes
 * back, and that nothing saved is lost.
 */
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineRestarted } from '../../app/contract/index.js';
import { EngineProcess } from '../../app/main/engine-process.js';
import { engineForker, inferenceForker } from '../helpers/engine-child.js';
import { tempDir } from '../helpers/tmp.js';

describe('engine process supervisor', () => {
  let dir: { path: string; remove(): Promise<void> };
  let children: ChildProcess[];
  let engine: EngineProcess | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    children = [];
  });
  afterEach(async () => {
    await engine?.close();
    for (const c of children) c.kill('SIGKILL');
    await dir.remove();
  });

  const restarted = (e: EngineProcess): Promise<EngineRestarted> => new Promise((resolve) => e.events.on('engine.restarted', resolve));

  it('answers contract calls from the child and forwards its events', async () => {
    engine = new EngineProcess({ fork: engineForker(dir.path, children) });
    await engine.start();
    const seen: unknown[] = [];
    engine.events.on('settings.changed', (s) => seen.push(s));
    expect(await engine.handlers['settings.set']({ theme: 'dark' })).toMatchObject({ theme: 'dark' });
    const info = await engine.handlers['app.info']({});
    expect(info.dataDir).toBe(dir.path);
    expect(info.executionProviders.map((p) => p.name)).toContain('cpu');
    await expect.poll(() => seen.length).toBe(1);
    expect(await engine.tile('no-such-scene', 3, 1, 2)).toBeUndefined();
  });

  it('fails an in-flight call at once when the engine dies, restarts it, and keeps what was saved', async () => {
    engine = new EngineProcess({ fork: engineForker(dir.path, children) });
    await engine.start();
    await engine.handlers['settings.set']({ searchTopK: 7 });
    const first = children[0]!;
    // Freeze the child so the call below is certainly in flight, then kill it.
    first.kill('SIGSTOP');
    const inFlight = engine.handlers['app.info']({});
    const notice = restarted(engine);
    first.kill('SIGKILL');
    await expect(inFlight).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/stopped unexpectedly .* while answering app\.info/) });
    expect(await notice).toMatchObject({ restarts: 1, gaveUp: false });
    expect(await engine.handlers['settings.get']({})).toMatchObject({ searchTopK: 7 });
    expect(children).toHaveLength(2);
  });

  it('stops restarting a crash loop and says so', async () => {
    engine = new EngineProcess({ fork: engineForker(dir.path, children), maxRestarts: 1, restartWindowMs: 60_000 });
    await engine.start();
    let notice = restarted(engine);
    children[0]!.kill('SIGKILL');
    expect(await notice).toMatchObject({ gaveUp: false });
    await engine.handlers['settings.get']({});
    notice = restarted(engine);
    children[1]!.kill('SIGKILL');
    expect(await notice).toMatchObject({ gaveUp: true, reason: expect.stringMatching(/stopped restarting/) });
    await expect(engine.handlers['settings.get']({})).rejects.toMatchObject({ code: 'unavailable' });
    expect(children).toHaveLength(2);
  });

  it('runs the model in an inference worker that main starts for the engine, and restarts it when it dies', async () => {
    await mkdir(join(dir.path, 'models'), { recursive: true });
    await cp(new URL('../fixtures/model/packs/tiny-gelu', import.meta.url).pathname, join(dir.path, 'models', 'tiny'), { recursive: true });
    const inference: ChildProcess[] = [];
    engine = new EngineProcess({ fork: engineForker(dir.path, children), forkInference: inferenceForker(inference) });
    await engine.start();
    await engine.handlers['models.activate']({ id: 'tiny' });
    const state = async (): Promise<string | undefined> => (await engine!.handlers['models.status']({})).runtime?.state;
    await expect.poll(state, { timeout: 60_000 }).toBe('ready');
    // The engine did not start the worker itself: main did, through the relay.
    expect(inference).toHaveLength(1);
    const status = await engine.handlers['models.status']({});
    expect(status.runtime?.provider).toBe('cpu');
    inference[0]!.kill('SIGKILL');
    await expect.poll(async () => (await engine!.handlers['models.status']({})).runtime?.restarts, { timeout: 60_000 }).toBe(1);
    await expect.poll(state, { timeout: 60_000 }).toBe('ready');
    expect(inference).toHaveLength(2);
    // Closing the engine stops its inference workers too.
    await engine.close();
    await expect.poll(() => inference.every((p) => p.exitCode !== null || p.signalCode !== null), { timeout: 10_000 }).toBe(true);
  });

  it('reports an engine that cannot open its data folder, without a restart loop', async () => {
    await writeFile(join(dir.path, 'file'), 'x');
    engine = new EngineProcess({ fork: engineForker(join(dir.path, 'file', 'data'), children) });
    await expect(engine.start()).rejects.toMatchObject({ code: 'io_error', file: join(dir.path, 'file', 'data') });
    await expect(engine.handlers['settings.get']({})).rejects.toMatchObject({ code: 'io_error' });
    expect(children).toHaveLength(1);
  });
});
