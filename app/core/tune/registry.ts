/**
 * The adapter registry: every tuned adapter version as one file in the data folder
 * (`adapters/<id>.json`: its record, with metrics, base model, data hash and date, and its weights),
 * and which version is active (`adapters/active.json`). Activating an older version is the roll
 * back; null means none (the base model alone). Files are written to a temporary name, fsynced and
 * renamed, so a crash leaves the old file or the new one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import { writeFileAtomic } from '../platform/index.js';
import type { AdapterConfig, Params } from './adapter.js';
import { deserializeAdapter, type AdapterFile, type AdapterRecord } from './serialize.js';

/** A registry record: the tune's record plus what it was tuned on. */
export interface RegisteredAdapter extends AdapterRecord {
  archiveId: string;
  images: number;
  captions: number;
}

interface RegistryFile {
  record: RegisteredAdapter;
  adapter: AdapterFile;
}

const ACTIVE = 'active.json';

export function newAdapterId(now = new Date()): string {
  return `ad${now.toISOString().slice(0, 19).replace(/[-:T]/g, '')}${randomBytes(3).toString('hex')}`;
}

export class AdapterRegistry {
  private readonly loaded = new Map<string, { config: AdapterConfig; params: Params }>();

  private constructor(
    private readonly dir: string,
    private readonly records: RegisteredAdapter[],
    private activeId: string | null,
  ) {}

  static async open(dataDir: string): Promise<AdapterRegistry> {
    const dir = join(dataDir, 'adapters');
    const records: RegisteredAdapter[] = [];
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json') || f === ACTIVE) continue;
      try {
        const doc = JSON.parse(await readFile(join(dir, f), 'utf8')) as RegistryFile;
        if (doc.record?.id === f.slice(0, -5)) records.push(doc.record);
      } catch {
        // an unreadable version is left out of the list (its file stays where it is)
      }
    }
    records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    let active: string | null = null;
    try {
      const a = JSON.parse(await readFile(join(dir, ACTIVE), 'utf8')) as { id?: unknown };
      if (typeof a.id === 'string' && records.some((r) => r.id === a.id)) active = a.id;
    } catch {
      // none active
    }
    return new AdapterRegistry(dir, records, active);
  }

  /** Versions, newest first. */
  list(): RegisteredAdapter[] {
    return [...this.records];
  }

  get active(): string | null {
    return this.activeId;
  }

  record(id: string): RegisteredAdapter | undefined {
    return this.records.find((r) => r.id === id);
  }

  async save(record: RegisteredAdapter, adapter: AdapterFile): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.fileOf(record.id), JSON.stringify({ record, adapter } satisfies RegistryFile));
    this.records.unshift(record);
  }

  async activate(id: string | null): Promise<string | null> {
    if (id !== null && !this.record(id)) throw new KestrelError({ code: 'not_found', message: `There is no adapter version ${id}.`, hint: 'adapters.list shows the versions.' });
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, ACTIVE), JSON.stringify({ id }));
    this.activeId = id;
    return id;
  }

  /** An adapter version's weights (read once, then kept). */
  async weights(id: string): Promise<{ config: AdapterConfig; params: Params }> {
    const hit = this.loaded.get(id);
    if (hit) return hit;
    const file = this.fileOf(id);
    const w = deserializeAdapter((await this.read(id)).adapter, file);
    this.loaded.set(id, w);
    return w;
  }

  /** Appends an evaluation on a caption file (kestrel eval --adapter) to a version's record. */
  async addEvaluation(id: string, evaluation: AdapterRecord['evaluations'][number]): Promise<void> {
    const doc = await this.read(id);
    doc.record.evaluations = [...(doc.record.evaluations ?? []), evaluation];
    await writeFileAtomic(this.fileOf(id), JSON.stringify(doc));
    const kept = this.record(id);
    if (kept) kept.evaluations = doc.record.evaluations;
  }

  private fileOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private async read(id: string): Promise<RegistryFile> {
    return JSON.parse(await readFile(this.fileOf(id), 'utf8')) as RegistryFile;
  }
}
