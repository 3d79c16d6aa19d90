import type { EventName, EventPayload, EventSource, Unsubscribe } from '../contract/index.js';

/** The engine's event bus: typed per event, plus a catch-all for transports that forward everything. */
export class EventBus implements EventSource {
  private readonly byName = new Map<EventName, Set<(payload: unknown) => void>>();
  private readonly any = new Set<(event: EventName, payload: unknown) => void>();

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe {
    let set = this.byName.get(event);
    if (!set) this.byName.set(event, (set = new Set()));
    const fn = listener as (payload: unknown) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  onAny(listener: (event: EventName, payload: unknown) => void): Unsubscribe {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    // A listener that throws must not stop the others or the engine.
    for (const fn of this.byName.get(event) ?? []) safely(() => fn(payload));
    for (const fn of this.any) safely(() => fn(event, payload));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('kestrel: an event listener failed:', err);
  }
}
