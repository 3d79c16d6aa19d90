/**
 * The model packs this installation has, and the one that is active. Packs live in
 * `<data>/models/<id>/` (imported by the user) and `resources/models/<id>/` (shipped); the id is the
 * folder name, so nothing from a front end ever names a path. The active pack runs in a
 * ModelRuntime (its own worker process), started and warmed up with the engine, so the first query
 * does not wait for a model to load.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KestrelError, ModelId, type ModelPackSummary, type ModelsStatus } from '../../contract/index.js';
import { listExecutionProviders } from '../platform/index.js';
import { readModelPack, type ModelPackManifest } from './manifest.js';
import { planProviders, type ProviderPreference } from './providers.js';
import { resourcesDir } from './resources.js';
import { ModelRuntime, type ModelRuntimeOptions, type ModelRuntimeStatus } from './runtime.js';

export interface ModelLibraryOptions {
  dataDir: string;
  preference: () => ProviderPreference;
  /** Called whenever the status changes (loading, ready, crash, restart, failure). */
  onStatus: (status: ModelsStatus) => void;
  /** How the inference worker is started (tests may pass their own); defaults to a child process. */
  spawn?: ModelRuntimeOptions['spawn'];
}

interface Located {
  dir: string;
  source: ModelPackSummary['source'];
}

/** A pack folder found: its id is the folder name. */
interface Folder extends Located {
  id: string;
}

/** A pack as models.list shows it; one that cannot be used says why. */
function summaryOf({ id, dir, source }: Folder): ModelPackSummary {
  try {
    const { manifest } = readModelPack(dir);
    return {
      id,
      name: manifest.name,
      licence: manifest.licence,
      provenance: manifest.provenance.source,
      architecture: manifest.architecture.name,
      activation: manifest.architecture.activation,
      embeddingSize: manifest.embeddingSize,
      source,
    };
  } catch (err) {
    const e = KestrelError.from(err);
    return {
      id,
      name: id,
      licence: 'unknown',
      provenance: 'unknown',
      architecture: 'unknown',
      activation: 'unknown',
      embeddingSize: 0,
      source,
      problem: { message: e.message, ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) },
    };
  }
}

export class ModelLibrary {
  private active: string | null = null;
  private runtime: ModelRuntime | undefined;
  private runtimeStatus: ModelRuntimeStatus | null = null;
  /** Increments on every activation, so a slow load that was superseded does not win. */
  private generation = 0;
  /** The last manifest read, by pack folder: reading checks the sha256 of every file it lists (the towers, hundreds of MB), so not once per query. */
  private checked: { dir: string; manifest: ModelPackManifest } | undefined;

  constructor(private readonly options: ModelLibraryOptions) {}

  private roots(): Located[] {
    return [
      { dir: join(this.options.dataDir, 'models'), source: 'installed' },
      { dir: join(resourcesDir(), 'models'), source: 'bundled' },
    ];
  }

  private locate(id: string): Located | undefined {
    for (const root of this.roots()) {
      const dir = join(root.dir, id);
      if (existsSync(join(dir, 'manifest.json'))) return { dir, source: root.source };
    }
    return undefined;
  }

  /** Every pack folder found, by id; an installed pack hides a bundled one of the same id. */
  private folders(): Folder[] {
    const seen = new Set<string>();
    const out: Folder[] = [];
    for (const root of this.roots()) {
      if (!existsSync(root.dir)) continue;
      for (const entry of readdirSync(root.dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || seen.has(entry.name) || !ModelId.safeParse(entry.name).success) continue;
        seen.add(entry.name);
        out.push({ id: entry.name, dir: join(root.dir, entry.name), source: root.source });
      }
    }
    return out;
  }

  /** The ids list() gives, without reading any pack (list() hashes every pack's files). */
  ids(): string[] {
    return this.folders().map((f) => f.id);
  }

  /** Every pack found, with what is wrong with the ones that cannot be used. An installed pack hides a bundled one of the same id. */
  list(): ModelPackSummary[] {
    return this.folders().map(summaryOf).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The active pack's manifest (names, vocabulary of the starter pack), or undefined. */
  activeManifest(): ModelPackManifest | undefined {
    const located = this.active === null ? undefined : this.locate(this.active);
    if (!located) return undefined;
    try {
      return this.manifestOf(located.dir);
    } catch {
      return undefined;
    }
  }

  /** The manifest of the pack in `dir`, read and checked once per activation. */
  manifestOf(dir: string): ModelPackManifest {
    const root = resolve(dir);
    if (this.checked?.dir !== root) this.checked = { dir: root, manifest: readModelPack(root).manifest };
    return this.checked.manifest;
  }

  status(): ModelsStatus {
    const preference = this.options.preference();
    const plan = planProviders(preference, listExecutionProviders());
    const r = this.runtimeStatus;
    return {
      active: this.active,
      preference,
      plan: { candidates: plan.candidates, skipped: plan.skipped },
      runtime: r
        ? {
            state: r.state,
            provider: r.model?.provider ?? null,
            providers: r.model?.providers ?? [],
            loadMs: r.model?.loadMs ?? null,
            warmUpMs: r.model?.warmUpMs ?? null,
            restarts: r.restarts,
            lastCrash: r.lastCrash,
            error: r.error ? { message: r.error.message, ...(r.error.file ? { file: r.error.file } : {}), ...(r.error.hint ? { hint: r.error.hint } : {}) } : null,
          }
        : null,
    };
  }

  /**
   * Makes `id` the active pack and starts loading it; resolves once the load has started (watch
   * models.statusChanged, or await `ready()`). null unloads. An unknown id is an error.
   */
  async activate(id: string | null): Promise<ModelsStatus> {
    const located = id === null ? undefined : this.locate(id);
    if (id !== null && !located) {
      throw new KestrelError({ code: 'not_found', message: `There is no model pack "${id}".`, hint: 'models.list shows the installed packs.' });
    }
    const generation = ++this.generation;
    const previous = this.runtime;
    this.runtime = undefined;
    this.active = id;
    this.runtimeStatus = null;
    this.checked = undefined;
    await previous?.close();
    if (located) this.load(located.dir, generation);
    this.emit();
    return this.status();
  }

  /** The active runtime once it is ready (for searches), or a clear error. */
  async ready(): Promise<ModelRuntime> {
    if (this.loading) await this.loading.catch(() => {});
    if (!this.runtime) {
      const problem = this.runtimeStatus?.error;
      throw new KestrelError({
        code: 'unavailable',
        message: this.active ? `The model pack "${this.active}" could not be loaded${problem ? `: ${problem.message}` : ''}.` : 'No model pack is active.',
        hint: this.active ? problem?.hint ?? 'Check the pack with models.list.' : 'Activate a model pack first.',
      });
    }
    return this.runtime;
  }

  async close(): Promise<void> {
    this.generation++;
    const r = this.runtime;
    this.runtime = undefined;
    await r?.close();
  }

  private loading: Promise<void> | undefined;

  private load(dir: string, generation: number): void {
    this.runtimeStatus = { state: 'starting', model: null, workerPid: null, restarts: 0, lastCrash: null, error: null };
    this.loading = ModelRuntime.start({ pack: dir, provider: this.options.preference(), ...(this.options.spawn ? { spawn: this.options.spawn } : {}) }).then(
      (runtime) => {
        if (generation !== this.generation) {
          void runtime.close();
          return;
        }
        this.runtime = runtime;
        this.runtimeStatus = runtime.status();
        runtime.onStatus((s) => {
          if (generation !== this.generation) return;
          this.runtimeStatus = s;
          this.emit();
        });
        this.emit();
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        const e = KestrelError.from(err);
        this.runtimeStatus = { state: 'failed', model: null, workerPid: null, restarts: 0, lastCrash: null, error: e.toJSON() };
        this.emit();
      },
    );
  }

  private emit(): void {
    this.options.onStatus(this.status());
  }
}
