import type L from 'leaflet';
import { areaOf, type Area } from '../area';
import type { Insets } from './framing';

/**
 * "Use view", the keyboard's way to set a search area: what the map shows now, less the part under
 * the side panel (its right inset).
 */
export function viewArea(map: L.Map, insets: Insets): Area | null {
  const size = map.getSize();
  const nw = map.containerPointToLatLng([0, 0]);
  const se = map.containerPointToLatLng([Math.max(1, size.x - insets.right), size.y]);
  return areaOf(nw.lng, se.lat, se.lng, nw.lat);
}
