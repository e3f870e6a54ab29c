/**
 * The pretraining text source: documents of the three bundled corpora as paragraphs (their token
 * streams for `packSequences` come from `tokenizeDocuments`, ../documents.ts). By default the dev and test text of the downstream tasks (spam
 * emails, Democratic/Republican addresses) is left out, so fine-tuning is evaluated on text the
 * model was not pretrained on.
 */
import type { CorpusName, PretrainingDocument } from '../documents';
import { DEFAULT_TASK_SEED } from '../tasks';
import { sentencePassages, splitParagraphs } from '../text';
import { sotuPartyTask, spamTask } from './bundled-tasks';
import { loadMobyDick, loadSotu, loadSpamAssassin } from './corpora';

export interface PretrainingOptions {
  /** Corpora in the order they are read; default all three: moby-dick, sotu, spam. */
  corpora?: readonly CorpusName[];
  /** Leave out the dev and test sources of the downstream tasks (default true); for spam, keep only its train split. */
  excludeHeldOut?: boolean;
  /** The task split seed whose held-out sources are left out; default that of the tasks. */
  taskSeed?: number;
}

/**
 * Documents in a fixed order: Moby-Dick chapters split at blank lines; State of the Union
 * addresses as passages of about 80 words (they have no paragraph breaks); emails as Subject
 * then the body's paragraphs.
 */
export function* pretrainingDocuments(options: PretrainingOptions = {}): Generator<PretrainingDocument> {
  const corpora = options.corpora ?? ['moby-dick', 'sotu', 'spam'];
  const excludeHeldOut = options.excludeHeldOut ?? true;
  const taskSeed = options.taskSeed ?? DEFAULT_TASK_SEED;
  for (const corpus of corpora) {
    if (corpus === 'moby-dick') {
      for (const chapter of loadMobyDick()) {
        yield { corpus, id: chapter.id, paragraphs: splitParagraphs(chapter.text) };
      }
    } else if (corpus === 'sotu') {
      const task = excludeHeldOut ? sotuPartyTask({ seed: taskSeed }) : null;
      const heldOut = new Set([...(task?.dev ?? []), ...(task?.test ?? [])].map((example) => example.source));
      for (const address of loadSotu()) {
        if (heldOut.has(address.id)) continue;
        yield { corpus, id: address.id, paragraphs: sentencePassages(address.text, 80) };
      }
    } else if (corpus === 'spam') {
      // Only the train split's emails: an email left out of the task as a repeat may repeat a test email.
      const trainOnly = excludeHeldOut
        ? new Set(spamTask({ seed: taskSeed }).train.map((e) => e.source))
        : null;
      for (const email of loadSpamAssassin()) {
        if (trainOnly && !trainOnly.has(email.id)) continue;
        const paragraphs = [email.subject, ...splitParagraphs(email.body)].filter((p) => p !== '');
        if (paragraphs.length > 0) yield { corpus, id: email.id, paragraphs };
      }
    } else {
      throw new RangeError(
        `pretrainingDocuments: unknown corpus '${corpus}', expected moby-dick, sotu or spam`,
      );
    }
  }
}
