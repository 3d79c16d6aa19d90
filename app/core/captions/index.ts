/** Captions: the caption file formats and matching caption files to an archive's files. */
export {
  CAPTION_FORMATS,
  detectCaptionFormat,
  parseCaptions,
  writeCaptions,
  type Caption,
  type CaptionedImage,
  type CaptionFormat,
  type CaptionProvenance,
  type CaptionSet,
} from './formats.js';
export { baseName, matchCaptions, stem, type CaptionMatch, type CaptionMatchReport } from './match.js';
