/**
 * Native pickers and the grant rule: in the desktop app the renderer never names a file. It asks
 * main for a picker (dialog.pick); main keeps what the user chose and hands back an opaque grant
 * (single use, short lived) and the name to show. Where a method takes a path (PATH_FIELDS), main
 * accepts only a grant of the right purpose and puts the real path in before the engine is asked.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { OpenDialogOptions } from 'electron';
import { KestrelError, type MethodName, type PickPurpose, type PickResult } from '../contract/index.js';

/** The part of Electron's dialog module the pickers use (injected: tests pass a fake). */
export interface DialogLike {
  showOpenDialog(window: unknown, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
}

/** One dialog per purpose: folder or file, and which files it offers. */
export const PICK_DIALOGS: Record<PickPurpose, OpenDialogOptions> = {
  'archive-folder': { title: 'Choose a folder of imagery', buttonLabel: 'Add folder', properties: ['openDirectory'] },
  'caption-file': {
    title: 'Choose a caption file',
    buttonLabel: 'Import',
    properties: ['openFile'],
    filters: [
      { name: 'Caption files (JSON, JSON Lines, text)', extensions: ['json', 'jsonl', 'txt'] },
      { name: 'All files', extensions: ['*'] },
    ],
  },
  checkpoint: {
    title: 'Choose a model checkpoint',
    buttonLabel: 'Import',
    properties: ['openFile'],
    filters: [
      { name: 'Checkpoints (PyTorch, safetensors)', extensions: ['pt', 'pth', 'bin', 'safetensors'] },
      { name: 'All files', extensions: ['*'] },
    ],
  },
  'basemap-folder': { title: 'Choose a folder of map tiles', buttonLabel: 'Use folder', properties: ['openDirectory'] },
  'basemap-mbtiles': { title: 'Choose an MBTiles file', buttonLabel: 'Use file', properties: ['openFile'], filters: [{ name: 'MBTiles', extensions: ['mbtiles'] }] },
};

type Input = Record<string, unknown>;

/** An input field that carries paths: how to read them, how to put them back, which grants fill it. */
export interface PathField {
  /** Where the field is in the input, for messages (`roots`, `basemap.folder`). */
  name: string;
  purposes: readonly PickPurpose[];
  /** Whether it holds a list (messages then name the item: `roots.1`). */
  list: boolean;
  /** The field's values; undefined when the input leaves it out. */
  get(input: Input): unknown[] | undefined;
  /** A copy of the input with the field's values replaced. */
  set(input: Input, values: string[]): Input;
}

const at = (input: Input, path: string[]): unknown => path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Input)[k] : undefined), input);
const withAt = (input: Input, path: string[], value: unknown): Input => {
  const [head, ...rest] = path as [string, ...string[]];
  return { ...input, [head]: rest.length ? withAt((input[head] ?? {}) as Input, rest, value) : value };
};

/** A field holding one path; `name` may be dotted (`basemap.folder`) for a nested object. */
export function pathField(name: string, ...purposes: PickPurpose[]): PathField {
  const path = name.split('.');
  return {
    name,
    purposes,
    list: false,
    get: (input) => {
      const v = at(input, path);
      return v === undefined || v === null ? undefined : [v];
    },
    set: (input, [value]) => withAt(input, path, value),
  };
}

/** A field holding a list of paths. */
export function pathListField(name: string, ...purposes: PickPurpose[]): PathField {
  const path = name.split('.');
  return {
    name,
    purposes,
    list: true,
    get: (input) => {
      const v = at(input, path);
      return v === undefined ? undefined : Array.isArray(v) ? v : [v];
    },
    set: (input, values) => withAt(input, path, values),
  };
}

/** Every method whose input names files, and which of its fields do. One line per method. */
export const PATH_FIELDS: Partial<Record<MethodName, readonly PathField[]>> = {
  'archives.add': [pathListField('roots', 'archive-folder')],
  'captions.importBank': [pathField('file', 'caption-file')],
  'models.import': [pathField('file', 'checkpoint')],
  'settings.set': [pathField('basemap.folder', 'basemap-folder'), pathField('basemap.file', 'basemap-mbtiles')],
};

const GRANT = /^grant-[0-9a-f]{32}$/;

export interface PickersOptions {
  dialog: DialogLike;
  /** The window a dialog is parented to. */
  window: () => unknown;
  /** How long a grant stays valid (default 10 minutes). */
  ttlMs?: number;
  now?: () => number;
}

export class Pickers {
  private readonly grants = new Map<string, { path: string; purpose: PickPurpose; expires: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PickersOptions) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Shows the purpose's dialog, parented to the window; a choice becomes a grant. */
  async pick(purpose: PickPurpose): Promise<PickResult> {
    const { canceled, filePaths } = await this.options.dialog.showOpenDialog(this.options.window(), PICK_DIALOGS[purpose]);
    const path = filePaths[0];
    if (canceled || path === undefined) return { cancelled: true };
    this.prune();
    const grant = `grant-${randomBytes(16).toString('hex')}`;
    this.grants.set(grant, { path, purpose, expires: this.now() + this.ttlMs });
    return { grant, label: basename(path) || path };
  }

  /**
   * The input with every grant in a path field replaced by its path. Refuses a raw path, an unknown,
   * used or expired grant, and a grant of another purpose. Grants are used up only when all are good.
   */
  resolve(method: MethodName, input: unknown): unknown {
    const fields = PATH_FIELDS[method];
    if (!fields || input === null || typeof input !== 'object') return input;
    let out = input as Input;
    const used: string[] = [];
    for (const field of fields) {
      const values = field.get(out);
      if (values === undefined) continue;
      const paths = values.map((value, i) => {
        const where = field.list ? `${field.name}.${i}` : field.name;
        if (typeof value !== 'string' || !GRANT.test(value)) {
          throw new KestrelError({
            code: 'forbidden',
            message: 'In the desktop app, choose files with the picker.',
            hint: `${method} takes a grant from dialog.pick (${field.purposes.join(' or ')}) in ${where}, not a path.`,
          });
        }
        const grant = this.grants.get(value);
        if (!grant || grant.expires <= this.now() || used.includes(value)) {
          throw new KestrelError({ code: 'forbidden', message: 'That choice has expired or was used already.', hint: 'Choose the file or folder again.' });
        }
        if (!field.purposes.includes(grant.purpose)) {
          throw new KestrelError({
            code: 'forbidden',
            message: `That choice was made for a ${grant.purpose}, and ${method} needs a ${field.purposes.join(' or ')} in ${where}.`,
            hint: 'Choose it with the right button.',
          });
        }
        used.push(value);
        return grant.path;
      });
      out = field.set(out, paths);
    }
    for (const g of used) this.grants.delete(g);
    return out;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, g] of this.grants) if (g.expires <= now) this.grants.delete(id);
  }
}
