import { createInProcessClient } from '../../app/contract/index.js';
import { openEngine } from '../../app/core/index.js';
import { tempDir } from '../helpers/tmp.js';
import { describeContract } from './suite.js';

describeContract(
  'the in-process transport',
  async (dataDir, options) => {
    const engine = await openEngine({ dataDir, runtime: 'in-process', ...options });
    return { client: createInProcessClient(engine), eventsReady: async () => {}, close: () => engine.close() };
  },
  tempDir,
);
