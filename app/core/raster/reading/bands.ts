import { KestrelError } from '../../../contract/index.js';
import type { SceneDescription } from '../scene.js';

/** Which bands make the picture: three for RGB, one for grey. 0-based band indexes. */
export type BandMapping = { kind: 'rgb'; bands: [number, number, number] } | { kind: 'gray'; bands: [number] };

/**
 * The default picture of a scene: red/green/blue by colour interpretation when the scene names
 * them, else the first three non-alpha bands, a single band as grey. `override` (per scene, from
 * the user) wins when it names existing bands.
 */
export function bandMapping(d: SceneDescription, override?: number[]): BandMapping {
  if (override) {
    const bad = override.filter((b) => !Number.isInteger(b) || b < 0 || b >= d.bands);
    if ((override.length !== 1 && override.length !== 3) || bad.length > 0) {
      throw new KestrelError({
        code: 'invalid_input',
        message: `A band mapping needs one (grey) or three (red, green, blue) band numbers between 0 and ${d.bands - 1}; got [${override.join(', ')}].`,
        file: d.file,
      });
    }
    return override.length === 3 ? { kind: 'rgb', bands: [override[0]!, override[1]!, override[2]!] } : { kind: 'gray', bands: [override[0]!] };
  }
  const ci = d.colorInterpretation;
  const r = ci.indexOf('red');
  const g = ci.indexOf('green');
  const b = ci.indexOf('blue');
  if (r >= 0 && g >= 0 && b >= 0) return { kind: 'rgb', bands: [r, g, b] };
  const usable = ci.map((_, i) => i).filter((i) => i !== d.alphaBand && ci[i] !== 'palette');
  if (usable.length >= 3) return { kind: 'rgb', bands: [usable[0]!, usable[1]!, usable[2]!] };
  return { kind: 'gray', bands: [usable[0] ?? 0] };
}
