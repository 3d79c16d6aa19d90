/**
 * A child process for the caption durability test: adds a caption, edits it, says "saved <id>" on
 * stdout once both calls have returned, and then keeps running until it is killed.
 */
import { CaptionJournal as CaptionStore } from '../../app/core/captions/index.js';

const [dataDir, archiveId] = process.argv.slice(2);
const store = new CaptionStore(dataDir!);
const [c] = await store.add(archiveId!, [{ target: { sceneId: 'scene1' }, text: 'a harbour with boats', provenance: 'person', who: 'person' }]);
await store.edit(archiveId!, c!.id, 'a harbour with many small boats');
process.stdout.write(`saved ${c!.id}\n`);
setInterval(() => undefined, 1000);
