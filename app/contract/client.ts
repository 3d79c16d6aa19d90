import type { EventName, EventPayload, MethodName, MethodOutput, MethodInput } from './schema.js';

export type Unsubscribe = () => void;

/**
 * What every front end talks to, whatever the transport: the preload's `window.kestrel` under
 * Electron, the HTTP/WebSocket client in a browser, the in-process client in tests and the CLI.
 */
export interface KestrelClient {
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe;
}

/** A typed event source, implemented by the engine and re-exposed by each transport. */
export interface EventSource {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe;
  /** Every event, for transports that forward all of them (IPC, WebSocket). */
  onAny(listener: (event: EventName, payload: unknown) => void): Unsubscribe;
}
