/**
 * Writes the starter model pack to resources/models/starter/ (committed; a test checks that this
 * script reproduces the committed files byte for byte).
 *   npx tsx tools/build-starter-model.ts
 */
import { join } from 'node:path';
import { writeStarterPack } from '../app/core/model/starter/build.js';

const dir = join(new URL('..', import.meta.url).pathname, 'resources', 'models', 'starter');
await writeStarterPack(dir);
console.log(`wrote ${dir}`);
