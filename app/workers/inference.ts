/** The inference worker process: ONNX Runtime sessions for one model pack (see app/core/model/worker.ts). */
import { serveInference } from '../core/model/index.js';

serveInference();
