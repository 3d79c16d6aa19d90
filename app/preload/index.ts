/**
 * The preload (CommonJS: sandboxed preloads cannot be ES modules). It exposes exactly the contract as
 * window.kestrel: `call` only for the contract's method names, each on its own channel, and `on`
 * only for its event names. Nothing else of Electron or Node reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { EVENT_CHANNEL, EVENT_NAMES, METHOD_NAMES, methodChannel } from '../contract/names.js';

type Reply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

const methods = new Set<string>(METHOD_NAMES);
const events = new Set<string>(EVENT_NAMES);
const listeners = new Map<string, Set<(payload: unknown) => void>>();

ipcRenderer.on(EVENT_CHANNEL, (_event, message: { event: string; payload: unknown }) => {
  for (const fn of listeners.get(message.event) ?? []) fn(message.payload);
});

contextBridge.exposeInMainWorld('kestrel', {
  async call(method: string, input: unknown): Promise<unknown> {
    if (!methods.has(method)) throw Object.assign(new Error(`There is no method named "${method}".`), { code: 'unknown_method' });
    const reply = (await ipcRenderer.invoke(methodChannel(method), input)) as Reply;
    if (reply.ok) return reply.value;
    // Errors cross contextBridge as plain Error objects; the fields ride along as properties.
    throw Object.assign(new Error(reply.error.message), reply.error);
  },
  on(event: string, listener: (payload: unknown) => void): () => void {
    if (!events.has(event)) throw new Error(`There is no event named "${event}".`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  },
});
