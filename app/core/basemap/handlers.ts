/** The basemap.* methods of the contract. */
import type { Handlers } from '../../contract/index.js';
import type { BasemapService } from './index.js';

export function basemapHandlers(deps: { basemap: BasemapService }): Pick<Handlers, 'basemap.info'> {
  return { 'basemap.info': () => deps.basemap.info() };
}
