/**
 * The caption journal, the captions in the catalog: one append-only journal per archive (`captions/<archive id>.jsonl` in the
 * data folder). Every change is one line (add, edit, delete, undo) with who, when, the text before
 * and the text after; the current state is the journal replayed. A line is written and fsynced
 * before the call that made it returns, so a crash right after a save keeps it. Nothing is ever
 * rewritten: undo appends the inverse change. A line cut short by a crash mid-append (only the last
 * one can be) is skipped when the journal is read.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import type { CaptionProvenance } from './formats.js';

/** Who made a change: a person (through the contract or the UI; Kestrel has no user accounts), an import, or a suggestion. */
export type CaptionWho = 'person' | 'imported' | 'suggested';
export type CaptionTarget = { sceneId: string } | { chipId: string; sceneId: string };

export interface CaptionChange {
  seq: number;
  captionId: string;
  op: 'add' | 'edit' | 'delete' | 'undo';
  who: CaptionWho;
  at: string;
  /** The text before and after the change; null when the caption did not exist (before an add, after a delete). */
  before: string | null;
  after: string | null;
  /** On add: what the caption is about and where it came from. */
  target?: CaptionTarget;
  provenance?: CaptionProvenance;
  /** On undo: the seq of the change it reverted. */
  undoes?: number;
}

export interface CaptionState {
  id: string;
  archiveId: string;
  target: CaptionTarget;
  text: string | null;
  provenance: CaptionProvenance;
  createdAt: string;
  updatedAt: string;
  history: CaptionChange[];
  /** Seqs of the changes still in effect (undo pops the last). */
  undoable: number[];
}

const DIR = 'captions';

function apply(state: Map<string, CaptionState>, archiveId: string, c: CaptionChange): void {
  if (c.op === 'add') {
    if (!c.target || state.has(c.captionId)) return;
    state.set(c.captionId, { id: c.captionId, archiveId, target: c.target, text: c.after, provenance: c.provenance ?? 'person', createdAt: c.at, updatedAt: c.at, history: [c], undoable: [c.seq] });
    return;
  }
  const s = state.get(c.captionId);
  if (!s) return;
  s.text = c.after;
  s.updatedAt = c.at;
  s.history.push(c);
  if (c.op === 'undo') s.undoable = s.undoable.filter((q) => q !== c.undoes);
  else s.undoable.push(c.seq);
}

/** One archive's captions: the journal and its replayed state. */
class ArchiveCaptions {
  readonly state = new Map<string, CaptionState>();
  seq = 0;
  /** Appends run one at a time (each line lands whole, in order). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly archiveId: string,
    readonly file: string,
  ) {}

  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let c: CaptionChange;
      try {
        c = JSON.parse(line) as CaptionChange;
      } catch {
        continue; // a line cut short by a crash mid-append
      }
      this.seq = Math.max(this.seq, c.seq);
      apply(this.state, this.archiveId, c);
    }
  }

  /** Writes the changes as lines, fsyncs, then applies them; resolves once they are on disk. */
  append(changes: Omit<CaptionChange, 'seq'>[]): Promise<CaptionChange[]> {
    const run = this.queue.then(async () => {
      const full = changes.map((c) => ({ ...c, seq: ++this.seq }));
      await mkdir(join(this.file, '..'), { recursive: true });
      const fh = await open(this.file, 'a');
      try {
        await fh.writeFile(full.map((c) => JSON.stringify(c) + '\n').join(''));
        await fh.sync();
      } finally {
        await fh.close();
      }
      for (const c of full) apply(this.state, this.archiveId, c);
      return full;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The caption journal: captions of every archive, by archive; each archive's journal is opened on first use. */
export class CaptionJournal {
  private readonly archives = new Map<string, Promise<ArchiveCaptions>>();

  constructor(private readonly dataDir: string) {}

  private fileOf(archiveId: string): string {
    return join(this.dataDir, DIR, `${archiveId}.jsonl`);
  }

  private journal(archiveId: string): Promise<ArchiveCaptions> {
    let j = this.archives.get(archiveId);
    if (!j) {
      const a = new ArchiveCaptions(archiveId, this.fileOf(archiveId));
      j = a.load().then(() => a);
      j.catch(() => this.archives.delete(archiveId));
      this.archives.set(archiveId, j);
    }
    return j;
  }

  /** Live (not deleted) captions of an archive, oldest first, optionally of one scene or chip. */
  async list(archiveId: string, filter: { sceneId?: string; chipId?: string } = {}): Promise<CaptionState[]> {
    const j = await this.journal(archiveId);
    return [...j.state.values()].filter((s) => {
      if (s.text === null) return false;
      if (filter.chipId !== undefined) return 'chipId' in s.target && s.target.chipId === filter.chipId;
      if (filter.sceneId !== undefined) return !('chipId' in s.target) && s.target.sceneId === filter.sceneId;
      return true;
    });
  }

  async get(archiveId: string, id: string): Promise<CaptionState | undefined> {
    return (await this.journal(archiveId)).state.get(id);
  }

  /** Adds captions in one durable append (an import adds many). */
  async add(archiveId: string, items: { target: CaptionTarget; text: string; provenance: CaptionProvenance; who: CaptionWho }[], now = new Date()): Promise<CaptionState[]> {
    if (items.length === 0) return [];
    const j = await this.journal(archiveId);
    const at = now.toISOString();
    const changes = items.map((it) => ({
      captionId: `c${archiveId}_${randomBytes(6).toString('hex')}`,
      op: 'add' as const,
      who: it.who,
      at,
      before: null,
      after: it.text,
      target: it.target,
      provenance: it.provenance,
    }));
    await j.append(changes);
    return changes.map((c) => j.state.get(c.captionId)!);
  }

  private async live(archiveId: string, id: string): Promise<{ j: ArchiveCaptions; s: CaptionState }> {
    const j = await this.journal(archiveId);
    const s = j.state.get(id);
    if (!s || s.text === null) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.`, hint: 'captions.list shows the captions (a deleted caption comes back with captions.undo).' });
    return { j, s };
  }

  async edit(archiveId: string, id: string, text: string, who: CaptionWho = 'person'): Promise<CaptionState> {
    const { j, s } = await this.live(archiveId, id);
    if (s.text === text) return s;
    await j.append([{ captionId: id, op: 'edit', who, at: new Date().toISOString(), before: s.text, after: text }]);
    return s;
  }

  async delete(archiveId: string, id: string, who: CaptionWho = 'person'): Promise<CaptionState> {
    const { j, s } = await this.live(archiveId, id);
    await j.append([{ captionId: id, op: 'delete', who, at: new Date().toISOString(), before: s.text, after: null }]);
    return s;
  }

  /** Reverts the caption's last change still in effect (an undo of an add deletes it; of a delete, restores it). */
  async undo(archiveId: string, id: string, who: CaptionWho = 'person'): Promise<CaptionState> {
    const j = await this.journal(archiveId);
    const s = j.state.get(id);
    if (!s) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.` });
    const last = s.undoable.at(-1);
    const change = s.history.find((c) => c.seq === last);
    if (!change) throw new KestrelError({ code: 'invalid_input', message: `Caption ${id} has no change left to undo.` });
    await j.append([{ captionId: id, op: 'undo', who, at: new Date().toISOString(), before: s.text, after: change.before, undoes: change.seq }]);
    return s;
  }

  /** The archive a caption id belongs to (caption ids are `c<archive id>_<random>`). */
  static archiveOf(id: string): string | undefined {
    return /^c(.+)_[0-9a-f]{12}$/.exec(id)?.[1];
  }

  /** Forgets an archive's captions (the archive was removed). */
  async remove(archiveId: string): Promise<void> {
    const j = await this.archives.get(archiveId)?.catch(() => undefined);
    this.archives.delete(archiveId);
    void j;
    await rm(this.fileOf(archiveId), { force: true });
  }
}
