export { ClipTokenizer, cleanText, START_OF_TEXT, END_OF_TEXT } from './clip.js';
export { fixText, fixEncoding, isBad } from './ftfy.js';
export { pyHtmlUnescape, ftfyUnescapeHtml } from './html.js';
