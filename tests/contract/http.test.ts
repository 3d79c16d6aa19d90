import WebSocket from 'ws';
import { createHttpClient, type SocketLike } from '../../app/contract/index.js';
import { openEngine } from '../../app/core/index.js';
import { startServer } from '../../app/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { describeContract } from './suite.js';

describeContract(
  'HTTP + WebSocket (kestrel serve)',
  async (dataDir, options) => {
    const engine = await openEngine({ dataDir, runtime: 'server', ...options });
    const server = await startServer({ target: engine, port: 0 });
    const client = createHttpClient({
      baseUrl: server.origin,
      token: server.token,
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
    });
    return {
      client,
      eventsReady: () => client.eventsReady(),
      async close() {
        client.close();
        await server.close();
        await engine.close();
      },
    };
  },
  tempDir,
);
