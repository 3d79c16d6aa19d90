/**
 * Captions, one capability with four parts: caption files and their formats (formats.ts, read and
 * written by files.ts), the per-archive caption journal (journal.ts), the caption bank that
 * suggestions and the annotation walk rank against (bank.ts, walk.ts), and matching caption files
 * to an archive's files (match.ts). handlers.ts holds the contract's captions.* methods.
 */
export {
  CAPTION_FORMATS,
  captionTexts,
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
export { CaptionJournal, type CaptionChange, type CaptionState, type CaptionTarget, type CaptionWho } from './journal.js';
export { CaptionBank, bankSimilarities, bestCaptions, type BankSimilarities } from './bank.js';
export { exportCaptionFile, importCaptionFile, readCaptionFile, type CaptionFileDeps, type CaptionImportReport } from './files.js';
export { annotationQueue, QUEUE_SCAN, type WalkDeps } from './walk.js';
export { captionHandlers, captionInfo, type CaptionHandlerDeps, type CaptionHandlers } from './handlers.js';
