import { describe, expect, it } from 'vitest';
import { matchCaptions, type CaptionSet } from '../../../app/core/captions/index.js';

const set = (...files: [string, number][]): CaptionSet => ({
  format: 'jsonl',
  images: files.map(([file, n]) => ({ file, captions: Array.from({ length: n }, (_, i) => ({ text: `c${i}`, provenance: 'imported' as const })) })),
});

describe('matching caption entries to archive files', () => {
  it('matches by base name case-insensitively, then by name without extension, and reports the rest', () => {
    const caps = set(['test/Bridge_358.jpg', 5], ['val/00017.jpg', 5], ['church_59', 2], ['missing.tif', 3], ['dup.jpg', 1]);
    const archive = ['scenes/bridge_358.JPG', 'x/00017.tif', 'CHURCH_59.tif', 'a/dup.tif', 'b/dup.png', 'other.tif'];
    const r = matchCaptions(caps, archive);
    expect(r.matched).toEqual([
      { image: 0, archiveFile: 'scenes/bridge_358.JPG', by: 'name' },
      { image: 1, archiveFile: 'x/00017.tif', by: 'stem' },
      { image: 2, archiveFile: 'CHURCH_59.tif', by: 'stem' },
    ]);
    expect(r.unmatchedImages).toEqual([{ image: 3, file: 'missing.tif', captions: 3 }]);
    expect(r.ambiguousImages).toEqual([{ image: 4, file: 'dup.jpg', candidates: ['a/dup.tif', 'b/dup.png'] }]);
    expect(r.unmatchedArchiveFiles).toEqual(['a/dup.tif', 'b/dup.png', 'other.tif']);
    expect(r.counts).toEqual({ images: 5, imagesMatched: 3, captions: 16, captionsMatched: 12, archiveFiles: 6 });
  });

  it('prefers an exact base name over a stem that also fits', () => {
    const r = matchCaptions(set(['a.tif', 1]), ['one/a.tif', 'two/a.jpg']);
    expect(r.matched).toEqual([{ image: 0, archiveFile: 'one/a.tif', by: 'name' }]);
    expect(r.unmatchedArchiveFiles).toEqual(['two/a.jpg']);
  });

  it("lets the caption file's folders decide between files of the same name", () => {
    const r = matchCaptions(set(['ucm/1.tif', 1], ['sydney/1.tif', 1], ['1.tif', 1], ['x/2.tif', 1]), ['/d/Sydney/1.tif', '/d/ucm/1.tif', '/d/a/2.tif', '/d/b/2.tif']);
    expect(r.matched).toEqual([
      { image: 0, archiveFile: '/d/ucm/1.tif', by: 'path' },
      { image: 1, archiveFile: '/d/Sydney/1.tif', by: 'path' },
    ]);
    expect(r.ambiguousImages.map((a) => a.file)).toEqual(['1.tif', 'x/2.tif']);
  });
});
