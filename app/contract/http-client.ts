import { KestrelError, isErrorData } from './errors.js';
import type { KestrelClient } from './client.js';
import type { EventName } from './schema.js';

/** The subset of the WebSocket API the client needs (browser WebSocket and the `ws` package both fit). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface HttpClientOptions {
  /** Origin of the Kestrel server, e.g. http://127.0.0.1:7733 */
  baseUrl: string;
  /**
   * The per-start access token. In a browser page served by Kestrel it may be omitted: the server
   * set a same-site cookie when the page was opened with the token.
   */
  token?: string;
  fetch?: typeof fetch;
  /** Defaults to the global WebSocket (browsers; Node 22+). */
  socket?: SocketFactory;
}

export interface HttpClient extends KestrelClient {
  /** Resolves once the event socket is open (it opens on the first `on`). */
  eventsReady(): Promise<void>;
  /** Close the event socket and stop reconnecting. */
  close(): void;
}

/** Where calls go: the server's origin, the fetch to use and the headers every call carries. */
interface Endpoint {
  base: string;
  doFetch: typeof fetch;
  headers: Record<string, string>;
}

/** One call: POST /api/<method> with the input as JSON; the engine's error comes back as a KestrelError. */
async function post({ base, doFetch, headers }: Endpoint, method: string, input: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await doFetch(`${base}/api/${method}`, {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify(input ?? {}),
    });
  } catch (err) {
    throw new KestrelError({
      code: 'unavailable',
      message: `Cannot reach the Kestrel engine at ${base}: ${(err as Error).message}`,
      hint: 'Is `kestrel serve` still running?',
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const data = (body as { error?: unknown } | undefined)?.error;
    if (isErrorData(data)) throw new KestrelError(data);
    throw new KestrelError({
      code: response.status === 401 ? 'unauthorized' : 'internal',
      message: `The engine answered ${response.status} ${response.statusText} to ${method}.`,
    });
  }
  return body;
}

/** The global WebSocket (browsers; Node 22+). */
const globalSocket: SocketFactory = (url) => {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Ctor) throw new Error('No WebSocket implementation available; pass options.socket.');
  return new Ctor(url);
};

/** The HTTP + WebSocket transport: POST /api/<method> for calls, one socket at /events for events. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const endpoint: Endpoint = { base, doFetch, headers };

  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let socket: SocketLike | undefined;
  let closed = false;
  let retry = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let markOpen: () => void = () => {};
  let opened = new Promise<void>((resolve) => (markOpen = resolve));

  const makeSocket: SocketFactory = options.socket ?? globalSocket;

  function connect(): void {
    if (closed || socket) return;
    const wsUrl = new URL(`${base}/events`);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    if (options.token) wsUrl.searchParams.set('token', options.token);
    const s = makeSocket(wsUrl.toString());
    socket = s;
    s.onopen = () => {
      retry = 0;
      markOpen();
    };
    s.onmessage = (ev) => {
      let msg: { event?: EventName; payload?: unknown };
      try {
        msg = JSON.parse(String(ev.data)) as typeof msg;
      } catch {
        return;
      }
      if (!msg.event) return;
      for (const fn of listeners.get(msg.event) ?? []) fn(msg.payload);
    };
    s.onerror = () => {};
    s.onclose = () => {
      socket = undefined;
      opened = new Promise<void>((resolve) => (markOpen = resolve));
      if (closed || totalListeners() === 0) return;
      // Back off up to 5 s so a restarting server is picked up again without hammering it.
      const delay = Math.min(5000, 250 * 2 ** retry++);
      retryTimer = setTimeout(connect, delay);
    };
  }

  const totalListeners = (): number => [...listeners.values()].reduce((n, set) => n + set.size, 0);

  return {
    call: (method, input) => post(endpoint, method, input) as never,
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const fn = listener as (payload: unknown) => void;
      set.add(fn);
      connect();
      return (): void => {
        set.delete(fn);
      };
    },
    eventsReady: () => opened,
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      socket?.close();
      socket = undefined;
    },
  };
}
