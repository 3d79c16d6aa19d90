/** The preload exposes exactly the contract as window.kestrel: `call` for its methods, `on` for its events. */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNEL, methodChannel } from '../../app/contract/index.js';

const exposed: Record<string, unknown> = {};
const invoked: { channel: string; input: unknown }[] = [];
let eventListener: ((e: unknown, message: unknown) => void) | undefined;

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => {
      exposed[key] = api;
    },
  },
  ipcRenderer: {
    invoke: (channel: string, input: unknown) => {
      invoked.push({ channel, input });
      return Promise.resolve(channel.endsWith('settings.set') ? { ok: false, error: { code: 'invalid_input', message: 'bad' } } : { ok: true, value: 42 });
    },
    on: (channel: string, fn: (e: unknown, message: unknown) => void) => {
      if (channel === EVENT_CHANNEL) eventListener = fn;
    },
  },
}));

interface Api {
  call(method: string, input: unknown): Promise<unknown>;
  on(event: string, fn: (payload: unknown) => void): () => void;
}

describe('preload', () => {
  let api: Api;
  beforeAll(async () => {
    await import('../../app/preload/index.js');
    api = exposed.kestrel as Api;
  });

  it('exposes one object, window.kestrel, with call and on only', () => {
    expect(Object.keys(exposed)).toEqual(['kestrel']);
    expect(Object.keys(api).sort()).toEqual(['call', 'on']);
  });

  it('sends a contract method on its own channel', async () => {
    expect(await api.call('app.info', {})).toBe(42);
    expect(invoked.at(-1)).toEqual({ channel: methodChannel('app.info'), input: {} });
  });

  it('exposes the native picker and scan cancel as contract methods on their own channels', async () => {
    expect(await api.call('dialog.pick', { purpose: 'archive-folder' })).toBe(42);
    expect(invoked.at(-1)).toEqual({ channel: methodChannel('dialog.pick'), input: { purpose: 'archive-folder' } });
    await api.call('archives.cancelScan', { id: 'a1' });
    expect(invoked.at(-1)?.channel).toBe(methodChannel('archives.cancelScan'));
    expect(() => api.on('archives.scanProgressed', () => {})).not.toThrow();
  });

  it('refuses a name outside the contract without touching IPC', async () => {
    const before = invoked.length;
    await expect(api.call('shell.openExternal', {})).rejects.toThrow(/no method named/);
    expect(invoked.length).toBe(before);
    expect(() => api.on('anything', () => {})).toThrow(/no event named/);
  });

  it('turns an error reply into a rejected promise carrying the code', async () => {
    await expect(api.call('settings.set', {})).rejects.toMatchObject({ code: 'invalid_input', message: 'bad' });
  });

  it('delivers forwarded events to subscribers of that event only', () => {
    const got: unknown[] = [];
    const stop = api.on('settings.changed', (p) => got.push(p));
    eventListener?.({}, { event: 'settings.changed', payload: { theme: 'dark' } });
    eventListener?.({}, { event: 'other', payload: 1 });
    stop();
    eventListener?.({}, { event: 'settings.changed', payload: { theme: 'light' } });
    expect(got).toEqual([{ theme: 'dark' }]);
  });
});
