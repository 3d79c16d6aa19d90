import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelLibrary } from '../../../app/core/model/index.js';
import { FIXTURES } from './helpers.js';

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function library(): { lib: ModelLibrary; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-library-'));
  temps.push(dataDir);
  return { lib: new ModelLibrary({ dataDir, preference: () => 'cpu', onStatus: () => {} }), dataDir };
}

describe('model library', () => {
  it("checks a pack's files once, not per query, until the next activation", async () => {
    const { lib, dataDir } = library();
    const dir = join(dataDir, 'models', 'tiny');
    cpSync(join(FIXTURES, 'packs', 'tiny-quickgelu'), dir, { recursive: true });
    expect(lib.manifestOf(dir).embeddingSize).toBe(16);
    // Damaged after the check: a second read would fail on the checksum, so none is made.
    writeFileSync(join(dir, 'text.onnx'), 'damaged');
    expect(lib.manifestOf(dir).embeddingSize).toBe(16);
    await lib.activate(null);
    expect(() => lib.manifestOf(dir)).toThrow(/checksum/);
  });

  it('gives the ids list() gives: bundled packs included, broken ones too, an installed one hiding a bundled one', () => {
    const { lib, dataDir } = library();
    const models = join(dataDir, 'models');
    cpSync(join(FIXTURES, 'packs', 'tiny-gelu'), join(models, 'tiny'), { recursive: true });
    mkdirSync(join(models, 'broken'));
    mkdirSync(join(models, '.tiny.importing-1'));
    writeFileSync(join(models, 'notes.txt'), 'not a pack');
    expect(lib.ids().sort()).toEqual(['broken', 'starter', 'tiny']);
    expect(lib.ids().sort()).toEqual(lib.list().map((p) => p.id).sort());
    mkdirSync(join(models, 'starter'));
    expect(lib.ids().sort()).toEqual(['broken', 'starter', 'tiny']);
    expect(lib.ids().sort()).toEqual(lib.list().map((p) => p.id).sort());
  });
});
