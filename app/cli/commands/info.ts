import { createInProcessClient } from '../../contract/index.js';
import { openEngine } from '../../core/index.js';
import { printJson, type Command } from '../command.js';

export const info: Command = {
  name: 'info',
  summary: 'Version, platform, data folder and the execution providers available here',
  usage: 'kestrel info [--json] [--data DIR]',
  options: {},
  async run(ctx) {
    const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'in-process', loadModel: false });
    const client = createInProcessClient(engine);
    const about = await client.call('app.info', {});
    await engine.close();
    if (ctx.json) {
      printJson(ctx, about);
      return 0;
    }
    const lines = [
      `${about.name} ${about.version} (${about.platform}-${about.arch}, Node ${about.node})`,
      `data folder: ${about.dataDir}`,
      `execution providers: ${about.executionProviders
        .map((p) => (p.bundled ? p.name : `${p.name} (needs separately installed libraries)`))
        .join(', ')}`,
      ...about.notices.map((n) => `${n.level}: ${n.message}`),
    ];
    ctx.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
