/**
 * A process that runs the real indexing job through the engine, as the desktop app or the server
 * would: the first run activates the model, adds the archive and starts the job; every later run
 * only opens the engine, which resumes the interrupted job by itself. The crash test kills it at
 * random moments. Prints "ready" once the job runs, "chips" once chips are embedded, then the job's final state.
 * Usage: node --import tsx index-writer.ts <dataDir> <imageryDir>
 */
import { createInProcessClient } from '../../app/contract/index.js';
import { openEngine } from '../../app/core/index.js';

const [dataDir, imagery] = process.argv.slice(2) as [string, string];
const engine = await openEngine({ dataDir, runtime: 'in-process', indexJobOptions: { commitEveryMs: 0, batch: 4 } });
const client = createInProcessClient(engine);
let said = false;
engine.events.on('index.progressed', (s) => {
  if (!said && s.state === 'running' && s.chips.done > 0) {
    said = true;
    process.stdout.write('chips\n');
  }
});
if (!(await client.call('settings.get', {})).activeModel) await client.call('models.activate', { id: 'tiny' });
const archive = engine.catalog.archives()[0] ?? (await client.call('archives.add', { roots: [imagery] })).archive;
// An interrupted job is resumed by the engine itself once the model is warm; anything else is started here.
const deadline = Date.now() + 60_000;
while (engine.catalog.job(archive.id, 'tiny')?.state === 'running' && !engine.jobs.isRunning(archive.id) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
if (!engine.jobs.isRunning(archive.id)) await client.call('index.start', { archiveId: archive.id });
process.stdout.write('ready\n');
const final = (await engine.jobs.wait(archive.id)) ?? { state: engine.catalog.job(archive.id, 'tiny')?.state ?? 'idle' };
process.stdout.write(`${final.state}\n`);
await engine.close();
