/**
 * The starter model's whole knowledge, as data: what it measures in a chip, how measurements become
 * land-cover concepts, and which words name which concepts. Everything here is hand-set and
 * documented; nothing is learned. See docs/starter-model.md for what it can and cannot do.
 */

/** The concept space (the embedding's axes, plus a constant "other" axis no word points at). */
export const CONCEPTS = ['water', 'vegetation', 'forest', 'field', 'bare', 'bright', 'urban', 'road'] as const;
export type Concept = (typeof CONCEPTS)[number];

/**
 * Per-pixel measurements, all from the displayed RGB in [0, 1] (the chip after the scene's band
 * mapping and 2–98 % stretch). Texture and edges are measured in a small window around the pixel.
 */
export const FEATURES = [
  'red',
  'green',
  'blue',
  /** (r + g + b) / 3 */
  'brightness',
  /** max(r, g, b) − min(r, g, b): how colourful */
  'saturation',
  /** g − max(r, b): green above both other channels (vegetation; not the cyan of shallow water) */
  'greenness',
  /** b − r: a visible-band water index (water reflects blue and absorbs red) */
  'blueMinusRed',
  /** mean |brightness − its 5×5 local mean| over a 5×5 window: fine texture (crowns, roofs, streets) */
  'texture',
  /** share of pixels in a 9×9 window whose Sobel gradient magnitude exceeds 0.1: edge density */
  'edges',
] as const;
export type Feature = (typeof FEATURES)[number];

/**
 * A gate is a soft threshold on one measurement of one pixel: sigmoid(steepness · (feature −
 * threshold)) for 'above', or the mirror for 'below'. A pixel belongs to a concept as much as all
 * the concept's gates hold (their product); a chip's value for a concept is the share of its pixels
 * that belong to it. So "water" scores a chip by how much of it looks like water.
 */
export interface Gate {
  concept: Concept;
  feature: Feature;
  when: 'above' | 'below';
  threshold: number;
  steepness: number;
}

export const GATES: Gate[] = [
  // Water: bluer than red, not green, smooth, not bright.
  { concept: 'water', feature: 'blueMinusRed', when: 'above', threshold: 0.05, steepness: 30 },
  { concept: 'water', feature: 'greenness', when: 'below', threshold: 0.04, steepness: 30 },
  { concept: 'water', feature: 'texture', when: 'below', threshold: 0.04, steepness: 80 },
  { concept: 'water', feature: 'brightness', when: 'below', threshold: 0.75, steepness: 15 },
  // Vegetation: green above red and blue.
  { concept: 'vegetation', feature: 'greenness', when: 'above', threshold: 0.06, steepness: 30 },
  // Forest: vegetation that is dark and textured (crowns and shadows).
  { concept: 'forest', feature: 'greenness', when: 'above', threshold: 0.04, steepness: 30 },
  { concept: 'forest', feature: 'brightness', when: 'below', threshold: 0.45, steepness: 12 },
  { concept: 'forest', feature: 'texture', when: 'above', threshold: 0.03, steepness: 60 },
  // Fields and farmland: green and smooth (parcels).
  { concept: 'field', feature: 'greenness', when: 'above', threshold: 0.02, steepness: 30 },
  { concept: 'field', feature: 'texture', when: 'below', threshold: 0.04, steepness: 60 },
  // Bare soil, sand, desert: bright, warm (red over blue), not green.
  { concept: 'bare', feature: 'brightness', when: 'above', threshold: 0.4, steepness: 12 },
  { concept: 'bare', feature: 'blueMinusRed', when: 'below', threshold: -0.03, steepness: 30 },
  { concept: 'bare', feature: 'greenness', when: 'below', threshold: 0.03, steepness: 30 },
  // Snow, ice and cloud: very bright and white (the model cannot tell them apart).
  { concept: 'bright', feature: 'brightness', when: 'above', threshold: 0.75, steepness: 15 },
  { concept: 'bright', feature: 'saturation', when: 'below', threshold: 0.15, steepness: 20 },
  // Built-up: grey, textured, many edges, not green.
  { concept: 'urban', feature: 'saturation', when: 'below', threshold: 0.2, steepness: 15 },
  { concept: 'urban', feature: 'texture', when: 'above', threshold: 0.04, steepness: 50 },
  { concept: 'urban', feature: 'edges', when: 'above', threshold: 0.2, steepness: 15 },
  { concept: 'urban', feature: 'greenness', when: 'below', threshold: 0.04, steepness: 30 },
  // Roads and parking: grey, medium bright, some edges, not green.
  { concept: 'road', feature: 'saturation', when: 'below', threshold: 0.15, steepness: 20 },
  { concept: 'road', feature: 'brightness', when: 'above', threshold: 0.35, steepness: 12 },
  { concept: 'road', feature: 'edges', when: 'above', threshold: 0.1, steepness: 20 },
  { concept: 'road', feature: 'greenness', when: 'below', threshold: 0.03, steepness: 30 },
];

/** The constant "other" axis: a chip that matches no concept points there, away from every query. */
export const OTHER_LEVEL = 0.15;

type Weights = Partial<Record<Concept, number>>;

/** Words the text tower knows, each pointing at one or more concepts. Plurals are listed on purpose. */
export const VOCABULARY: Record<string, Weights> = {
  water: { water: 1 },
  lake: { water: 1 },
  lakes: { water: 1 },
  river: { water: 1 },
  rivers: { water: 1 },
  sea: { water: 1 },
  ocean: { water: 1 },
  reservoir: { water: 1 },
  pond: { water: 1 },
  ponds: { water: 1 },
  harbour: { water: 0.7, urban: 0.3 },
  harbor: { water: 0.7, urban: 0.3 },
  coast: { water: 0.6, bare: 0.4 },
  coastline: { water: 0.6, bare: 0.4 },
  shore: { water: 0.6, bare: 0.4 },
  beach: { bare: 0.7, water: 0.3 },
  beaches: { bare: 0.7, water: 0.3 },
  vegetation: { vegetation: 1 },
  green: { vegetation: 1 },
  greenery: { vegetation: 1 },
  plants: { vegetation: 1 },
  forest: { forest: 0.7, vegetation: 0.3 },
  forests: { forest: 0.7, vegetation: 0.3 },
  woods: { forest: 0.7, vegetation: 0.3 },
  woodland: { forest: 0.7, vegetation: 0.3 },
  trees: { forest: 0.7, vegetation: 0.3 },
  tree: { forest: 0.7, vegetation: 0.3 },
  jungle: { forest: 0.7, vegetation: 0.3 },
  grass: { vegetation: 0.6, field: 0.4 },
  meadow: { vegetation: 0.6, field: 0.4 },
  park: { vegetation: 0.6, field: 0.4 },
  farmland: { field: 0.7, vegetation: 0.3 },
  farm: { field: 0.7, vegetation: 0.3 },
  farms: { field: 0.7, vegetation: 0.3 },
  field: { field: 0.7, vegetation: 0.3 },
  fields: { field: 0.7, vegetation: 0.3 },
  crops: { field: 0.7, vegetation: 0.3 },
  pasture: { field: 0.7, vegetation: 0.3 },
  agriculture: { field: 0.7, vegetation: 0.3 },
  bare: { bare: 1 },
  soil: { bare: 1 },
  dirt: { bare: 1 },
  barren: { bare: 1 },
  sand: { bare: 1 },
  sandy: { bare: 1 },
  desert: { bare: 1 },
  dunes: { bare: 1 },
  snow: { bright: 1 },
  snowy: { bright: 1 },
  ice: { bright: 1 },
  glacier: { bright: 1 },
  glaciers: { bright: 1 },
  cloud: { bright: 1 },
  clouds: { bright: 1 },
  cloudy: { bright: 1 },
  urban: { urban: 1 },
  city: { urban: 1 },
  town: { urban: 1 },
  buildings: { urban: 1 },
  building: { urban: 1 },
  houses: { urban: 1 },
  residential: { urban: 1 },
  dense: { urban: 0.5 },
  industrial: { urban: 0.8, road: 0.2 },
  road: { road: 0.7, urban: 0.3 },
  roads: { road: 0.7, urban: 0.3 },
  street: { road: 0.7, urban: 0.3 },
  streets: { road: 0.7, urban: 0.3 },
  highway: { road: 0.7, urban: 0.3 },
  parking: { road: 0.7, urban: 0.3 },
  runway: { road: 0.7, urban: 0.3 },
  airport: { road: 0.6, urban: 0.4 },
};

/** Words that flip the sign of the next known word: "no water", "fields without trees". */
export const NEGATIONS = ['no', 'not', 'without', 'non'];
