/** The starter model pack: land cover from colour and texture, built as ONNX by Kestrel itself. */
export { CONCEPTS, FEATURES, GATES, VOCABULARY, NEGATIONS, OTHER_LEVEL, type Concept, type Feature, type Gate } from './concepts.js';
export { buildImageTower, buildTextTower, starterManifest, vocabularyTokens, writeStarterPack, STARTER_EMBEDDING, STARTER_IMAGE_SIZE } from './build.js';
