/** A least-recently-used cache bounded by the total size of its entries (bytes, or any unit). */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;
  hits = 0;
  misses = 0;

  /** `onEvict` hears of entries pushed out by newer ones (not of replaced or dropped ones). */
  constructor(
    readonly maxSize: number,
    private readonly onEvict?: (key: string, value: V) => void,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, size: number): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.size;
      this.map.delete(key);
    }
    if (size > this.maxSize) return;
    this.map.set(key, { value, size });
    this.total += size;
    for (const [k, e] of this.map) {
      if (this.total <= this.maxSize) break;
      this.map.delete(k);
      this.total -= e.size;
      this.onEvict?.(k, e.value);
    }
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  /** Drops every entry whose key starts with `prefix` (a closed scene). */
  dropPrefix(prefix: string): void {
    for (const [k, e] of this.map) {
      if (k.startsWith(prefix)) {
        this.map.delete(k);
        this.total -= e.size;
      }
    }
  }

  get size(): number {
    return this.total;
  }

  get entries(): number {
    return this.map.size;
  }
}
