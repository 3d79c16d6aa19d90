/**
 * Tile worker (worker_threads): warps, stretches and encodes map tiles off the main and request
 * threads. The protocol and the work live in app/core/raster (TileRequest → TileResponse).
 */
import { parentPort } from 'node:worker_threads';
import { handleTileRequest, type TileRequest } from '../core/raster/index.js';

const port = parentPort;
if (!port) throw new Error('app/workers/tiles runs as a worker thread');
port.on('message', (req: TileRequest) => {
  void handleTileRequest(req).then((res) => {
    const transfer = res.ok && res.kind === 'render' && res.body ? [res.body.buffer as ArrayBuffer] : [];
    port.postMessage(res, transfer);
  });
});
