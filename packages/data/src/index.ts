export { type DecodedEmail, decodeEmail } from './email';
export { decodeHtmlEntities, htmlToText } from './html';
export { Rng } from './random';
