import { type Column, fixed, type Row } from './report.js';
import type { EncoderRow, TaskName } from './reproduce.js';

function meanStd(values: readonly number[]): { mean: number; std: number } | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

function formatMeanStd(values: readonly number[], scale: number, digits: number): string {
  const s = meanStd(values);
  if (!s) return '–';
  const mean = (s.mean * scale).toFixed(digits);
  return values.length > 1 ? `${mean} ± ${(s.std * scale).toFixed(digits)}` : mean;
}

/** Table 1's layout: one row per encoder, pretraining columns, then the fine-tuning means. */
export function paperLayout(
  encoders: readonly EncoderRow[],
  rows: readonly Row[],
  tasks: readonly TaskName[],
  baseline: { loss: number; accuracy: number } | null,
): string {
  const taskTitles = tasks.flatMap((t) => (t === 'spam' ? ['spam acc %', 'spam F1'] : [`${t} acc %`]));
  const lines = [
    `| encoder | steps | held-out MLM loss | below baseline | masked acc % | ${taskTitles.join(' | ')} | clipped | time |`,
    `| --- | --- | --- | --- | --- | ${taskTitles.map(() => '---').join(' | ')} | --- | --- |`,
  ];
  const minutes = (s: number | null) => (s === null ? '–' : `${(s / 60).toFixed(1)} min`);
  for (const e of encoders) {
    const mine = rows.filter((r) => r.encoder === e.name);
    const cells = tasks.flatMap((t) => {
      const runs = mine.filter((r) => r.task === t);
      const acc = formatMeanStd(
        runs.map((r) => Number(r.accuracy)),
        100,
        1,
      );
      return t === 'spam'
        ? [
            acc,
            formatMeanStd(
              runs.map((r) => Number(r.f1)),
              1,
              3,
            ),
          ]
        : [acc];
    });
    const loss =
      e.divergedAt !== null ? `diverged at step ${e.divergedAt}` : e.eval ? e.eval.loss.toFixed(3) : '–';
    lines.push(
      `| ${e.name} | ${e.steps ?? '–'} | ${loss} | ${e.eval ? e.eval.belowBaseline.toFixed(3) : '–'} | ${e.eval ? (e.eval.maskedAccuracy * 100).toFixed(1) : '–'} | ${cells.join(' | ')} | ${e.clippedShare === null ? '–' : `${(e.clippedShare * 100).toFixed(1)}%`} | ${minutes(e.pretrainSeconds)} |`,
    );
  }
  // The majority class is that of each seed's training subset, so it can differ between seeds.
  const majority = tasks.flatMap((t) => {
    const acc = formatMeanStd(
      rows.filter((m) => m.task === t).map((m) => Number(m.majority)),
      100,
      1,
    );
    return t === 'spam' ? [acc, '0'] : [acc];
  });
  lines.push(
    `| unigram baseline / majority class | – | ${baseline ? baseline.loss.toFixed(3) : '–'} | 0 | ${baseline ? (baseline.accuracy * 100).toFixed(1) : '–'} | ${majority.join(' | ')} | – | – |`,
  );
  return lines.join('\n');
}

export const RUN_COLUMNS: Column[] = [
  { key: 'encoder', title: 'encoder' },
  { key: 'task', title: 'task' },
  { key: 'seed', title: 'seed' },
  { key: 'accuracy', title: 'test accuracy', format: fixed(3) },
  { key: 'f1', title: 'F1', format: fixed(3) },
  { key: 'majority', title: 'majority class', format: fixed(3) },
  { key: 'finetuneSeconds', title: 'seconds (– reused)', format: fixed(0) },
];
