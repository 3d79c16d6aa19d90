import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelRuntime, ModelSession, type ModelRuntimeStatus } from '../../../app/core/model/index.js';
import { FIXTURES, SHARED_DATA, hasSharedData } from './helpers.js';

const TINY = join(FIXTURES, 'packs', 'tiny-quickgelu');
const runtimes: ModelRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

async function start(options: Partial<Parameters<typeof ModelRuntime.start>[0]> = {}): Promise<ModelRuntime> {
  // cpu keeps the other providers' probing (and its warnings) out of most tests; the first test uses auto.
  const r = await ModelRuntime.start({ pack: TINY, threads: 1, provider: 'cpu', ...options });
  runtimes.push(r);
  return r;
}

/** Resolves when the runtime's status satisfies `ok` (now or at a later change). */
function waitFor(runtime: ModelRuntime, ok: (s: ModelRuntimeStatus) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (ok(runtime.status())) return resolve();
    const off = runtime.onStatus((s) => {
      if (ok(s)) {
        off();
        resolve();
      }
    });
  });
}

function killWorker(runtime: ModelRuntime, signal: NodeJS.Signals): number {
  const pid = runtime.status().workerPid;
  if (!pid) throw new Error('no worker running');
  process.kill(pid, signal);
  return pid;
}

describe('inference worker', { timeout: 60_000 }, () => {
  it('runs the model in another process, warmed up, with the provider chain recorded', async () => {
    const runtime = await start({ provider: 'auto' });
    const status = runtime.status();
    expect(status.state).toBe('ready');
    expect(status.workerPid).not.toBe(process.pid);
    expect(status.model?.warmUpMs).toBeTypeOf('number');
    expect(status.model?.providers.some((p) => p.outcome === 'used' && p.provider === status.model?.provider)).toBe(true);
    expect(status.model?.threads).toBe(1);

    // Same numbers as the in-process session (float32 through the same ONNX Runtime; tolerance 1e-6).
    const local = await ModelSession.open(TINY, { threads: 1, provider: status.model?.provider ?? 'cpu', warmUp: false });
    try {
      const texts = ['an airport with two runways', 'a river'];
      const [viaWorker, inProcess] = await Promise.all([runtime.embedTexts(texts), local.embedTexts(texts)]);
      viaWorker.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - (inProcess[i]?.[j] ?? NaN))).toBeLessThanOrEqual(1e-6)));
      expect(Array.from((await runtime.tokenize(['an airport']))[0] ?? [])).toEqual(Array.from(local.tokenize('an airport')));
    } finally {
      await local.close();
    }
  });

  for (const signal of ['SIGKILL', 'SIGSEGV'] as const) {
    it(`survives the worker dying (${signal}): the pending call fails clearly, the next one works`, async () => {
      const runtime = await start();
      const pending = runtime.embedTexts(Array.from({ length: 300 }, (_, i) => `caption number ${i}`));
      const oldPid = killWorker(runtime, signal);
      await expect(pending).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(new RegExp(`stopped unexpectedly \\(signal ${signal}\\) while embedding 300 text`)),
      });
      const [after] = await runtime.embedTexts(['a harbour']);
      expect(after?.length).toBe(16);
      const status = runtime.status();
      expect(status.state).toBe('ready');
      expect(status.restarts).toBe(1);
      expect(status.workerPid).not.toBe(oldPid);
      expect(status.lastCrash?.reason).toContain(signal);
    });
  }

  it('stops restarting a crash loop and then fails calls at once instead of hanging', async () => {
    const runtime = await start({ maxRestarts: 0 });
    const pending = runtime.embedTexts(['x']);
    killWorker(runtime, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'unavailable' });
    await expect(runtime.embedTexts(['y'])).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/stopped restarting/) });
    expect(runtime.status().state).toBe('failed');
  });

  it('fails a call that takes too long, and restarts the worker', async () => {
    const runtime = await start({ callTimeoutMs: 1 });
    await expect(runtime.embedTexts(Array.from({ length: 2000 }, (_, i) => `caption ${i}`))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/did not finish embedding 2000 text/),
    });
    await waitFor(runtime, (s) => s.state === 'ready' && s.restarts === 1);
    expect(runtime.status().lastCrash?.reason).toMatch(/SIGKILL/);
  });

  it("reports a broken pack's problem from inside the worker", async () => {
    await expect(ModelRuntime.start({ pack: join(FIXTURES, 'bad'), threads: 1, provider: 'cpu' })).rejects.toMatchObject({
      code: 'corrupt_file',
      message: expect.stringMatching(/no manifest\.json/),
    });
  });

  it.skipIf(!hasSharedData)('embeds image files in the worker', async () => {
    const runtime = await start();
    const files = ['rsicd/00001.jpg', 'ucm/1.tif'].map((f) => join(SHARED_DATA, 'rs-captioned', f));
    const embeddings = await runtime.embedImages(files);
    expect(embeddings).toHaveLength(2);
    for (const e of embeddings) expect(Math.hypot(...e)).toBeCloseTo(1, 5);
    await expect(runtime.embedImages([join(FIXTURES, 'references.json')])).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
