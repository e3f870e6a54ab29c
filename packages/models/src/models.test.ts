import '@sibert/backend-cpu';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkScaleInvariance, gradientOrthogonality } from '@sibert/scale-invariant';
import { manualSeed, memory, mul, noGrad, sub, tensor, tidy } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import {
  BertModel,
  CheckpointError,
  checkpointNames,
  decodeModel,
  encodeModel,
  encodeSafetensors,
  initOutputBias,
  loadWeights,
  MaskedLanguageModel,
  maskedTargetsFromLabels,
  paramGroups,
  presetConfig,
  type ScaleInvariantMlmHead,
  SequenceClassifier,
  SibertModel,
  scaleEncoder,
} from './index.js';
import { readCheckpoint, saveModel } from './node/index.js';

const VOCAB = 40;
const batch = () => {
  const ids = Int32Array.of(2, 11, 12, 13, 14, 3, 2, 21, 22, 3, 0, 0);
  const mask = Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0);
  const labels = Int32Array.of(-100, 15, -100, -100, 16, -100, -100, -100, 23, -100, -100, -100);
  const targets = maskedTargetsFromLabels(labels);
  return {
    inputs: { inputIds: tensor(ids, [2, 6], 'int32'), attentionMask: tensor(mask, [2, 6], 'int32') },
    targets: {
      positions: tensor(targets.positions, [targets.positions.length], 'int32'),
      labels: tensor(targets.labels, [targets.labels.length], 'int32'),
    },
  };
};

/** The encoder as a module whose output is its sequence output, for the invariance checks. */
const encoderOutput = (model: MaskedLanguageModel) => ({
  forward: (inputs: ReturnType<typeof batch>['inputs']) => {
    const out = model.encoder.encode(inputs);
    out.pooledOutput?.dispose();
    return out.sequenceOutput;
  },
  parameters: () => model.encoder.parameters(),
});

describe('scale invariance of the encoders', () => {
  for (const family of ['sibert', 'bert'] as const) {
    it(`${family}: encoder output under c ∈ {1e-2, 1e2} and ⟨∇L, θ_encoder⟩ for the MLM loss`, async () => {
      manualSeed(3);
      const model = new MaskedLanguageModel(
        presetConfig(`${family}-tiny`, VOCAB, { hiddenDropout: 0, attentionDropout: 0 }),
      );
      const { inputs, targets } = batch();
      const encoder = encoderOutput(model);
      const report = await checkScaleInvariance(encoder as never, [inputs], {
        scales: [1e-2, 1e2],
        params: encoder.parameters(),
        outputDegree: 0,
      });
      const orthogonality = await gradientOrthogonality(
        () => model.forward(inputs, targets).loss,
        model.encoder.parameters(),
      );
      if (family === 'sibert') {
        expect(report.maxRelativeChange).toBeLessThan(1e-4);
        expect(orthogonality).toBeLessThan(1e-4);
        expect(model.encoder).toBeInstanceOf(SibertModel);
      } else {
        // The same checks, at the same thresholds, fail for Post-LN BERT (biases, affine norms, softmax):
        // measured here 99.9 (output change) and 6.3e-4 (orthogonality), against 5e-7 and 7e-10 for SIBERT.
        expect(report.maxRelativeChange).toBeGreaterThan(1e-4);
        expect(orthogonality).toBeGreaterThan(1e-4);
        expect(model.encoder).toBeInstanceOf(BertModel);
      }
    });
  }
});

describe("the scale-invariant MLM head (mlmHead: 'scale-invariant')", () => {
  const siHeadModel = () =>
    new MaskedLanguageModel(
      presetConfig('sibert-tiny', VOCAB, {
        hiddenDropout: 0,
        attentionDropout: 0,
        mlmHead: 'scale-invariant',
      }),
    );
  const lossOf = (model: MaskedLanguageModel, data: ReturnType<typeof batch>) => ({
    forward: () => model.forward(data.inputs, data.targets).loss,
    parameters: () => model.parameters(),
  });

  it('the MLM loss is invariant in each SI part alone, and the gradient is orthogonal to each', async () => {
    manualSeed(3);
    const model = siHeadModel();
    const data = batch();
    const { scaleInvariantParts, other } = paramGroups(model);
    expect(scaleInvariantParts.map((p) => p.name)).toEqual(['encoder', 'head.transform', 'head.decoder']);
    expect(other.map(([name]) => name)).toEqual(['head.temperature', 'head.bias']);
    for (const part of scaleInvariantParts) {
      const params = part.params.map(([, p]) => p);
      const report = await checkScaleInvariance(lossOf(model, data) as never, [], {
        scales: [1e-2, 1e2],
        params,
      });
      expect(report.maxRelativeChange, part.name).toBeLessThan(1e-4);
      const orthogonality = await gradientOrthogonality(
        () => model.forward(data.inputs, data.targets).loss,
        params,
      );
      expect(orthogonality, part.name).toBeLessThan(1e-4);
    }
    // τ is not invariant: doubling it sharpens every logit.
    const report = await checkScaleInvariance(lossOf(model, data) as never, [], {
      scales: [2],
      params: [(model.head as ScaleInvariantMlmHead).temperature],
    });
    expect(report.maxRelativeChange).toBeGreaterThan(1e-3);
  });

  it('τ starts at ‖W_d‖_F: the first logits are the unnormalised decoder’s', async () => {
    manualSeed(4);
    const model = siHeadModel();
    const head = model.head as ScaleInvariantMlmHead;
    const hidden = tensor(
      Float32Array.from({ length: 3 * 128 }, (_, i) => Math.sin(i)),
      [3, 128],
    );
    const logits = head.forward(hidden);
    const expected = noGrad(() =>
      tidy(() => {
        const u = head.transformNorm.forward(head.activation.forward(head.transform.forward(hidden)));
        return head.decoder.forward(u);
      }),
    );
    const [a, b] = [await logits.data(), await expected.data()];
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('trains by plain SGD alone and survives a checkpoint round trip', async () => {
    manualSeed(5);
    const model = siHeadModel();
    const data = batch();
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const { loss, accuracy } = model.forward(data.inputs, data.targets);
      loss.backward();
      sgdStep(model, 0.3);
      losses.push(await loss.itemAsync());
      loss.dispose();
      accuracy.dispose();
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
    const contents = decodeModel(await encodeModel(model), 'si-head.safetensors');
    expect(contents.config.mlmHead).toBe('scale-invariant');
    manualSeed(6);
    const copy = new MaskedLanguageModel(contents.config);
    loadWeights(copy, contents.tensors);
    const [x, y] = [model.forward(data.inputs, data.targets), copy.forward(data.inputs, data.targets)];
    expect(await y.loss.itemAsync()).toBe(await x.loss.itemAsync());
  });

  it("is SIBERT's: a BERT config with it is refused, naming the key", () => {
    expect(() => presetConfig('bert-tiny', VOCAB, { mlmHead: 'scale-invariant' })).toThrow(
      /mlmHead 'scale-invariant' is SIBERT's/,
    );
    expect(() => presetConfig('sibert-tiny', VOCAB, { mlmHead: 'cosine' as never })).toThrow(
      /mlmHead must be/,
    );
  });
});

describe('the Encoder interface', () => {
  it('both families: the model config, the tied input embedding and the scale-invariant parameters', () => {
    const bert = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB));
    const sibert = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB));
    for (const model of [bert, sibert]) expect(model.encoder.config).toBe(model.config);
    const bertEncoder = bert.encoder as BertModel;
    expect(bert.encoder.tiedInputEmbedding()).toBe(bertEncoder.embeddings.wordEmbeddings.weight);
    expect(bert.head.decoder).toBeNull();
    expect(bert.encoder.scaleInvariantParameters()).toEqual([]);
    expect(sibert.encoder.tiedInputEmbedding()).toBeNull();
    expect(sibert.head.decoder).not.toBeNull();
    expect(sibert.encoder.scaleInvariantParameters()).toEqual(sibert.encoder.parameters());
  });

  it("SibertModel: the SI encoder's parameter paths, through train/eval and a move between backends", () => {
    const model = new SibertModel(presetConfig('sibert-tiny', VOCAB));
    const si = model.scaleInvariantEncoder;
    expect(model.namedParameters().map(([path]) => path)).toEqual(si.namedParameters().map(([path]) => path));
    model.eval();
    expect(si.layers.every((layer) => !layer.dropout.training)).toBe(true);
    const before = model.parameters();
    model.to('cpu');
    const after = model.parameters();
    expect(after.some((p, i) => p === before[i])).toBe(false);
    expect(si.parameters()).toEqual(after);
    const { inputs } = batch();
    const { sequenceOutput } = model.encode(inputs);
    expect(sequenceOutput.shape).toEqual([2, 6, 128]);
  });
});

describe('scaleEncoder', () => {
  it('multiplies every encoder parameter (LayerNorm gains too) and no head parameter; SIBERT computes the same loss', async () => {
    manualSeed(5);
    const model = new MaskedLanguageModel(
      presetConfig('sibert-tiny', VOCAB, { hiddenDropout: 0, attentionDropout: 0 }),
    );
    const norms = async (params: { data(): Promise<Float32Array | Int32Array> }[]) =>
      Promise.all(params.map(async (p) => Math.hypot(...(await p.data()))));
    const { inputs, targets } = batch();
    const lossBefore = await noGrad(() => model.forward(inputs, targets).loss).itemAsync();
    const encoderBefore = await norms(model.encoder.parameters());
    const headBefore = await norms(model.head.parameters());
    scaleEncoder(model, 0.01);
    const encoderAfter = await norms(model.encoder.parameters());
    encoderAfter.forEach((n, i) => {
      expect(n).toBeCloseTo(encoderBefore[i]! * 0.01, 6);
    });
    // The embedding LayerNorm's gain starts at ones whatever the init std; it scales too.
    const gain = (model.encoder as SibertModel).scaleInvariantEncoder.embeddings.norm.weight!;
    expect(Math.hypot(...(await gain.data()))).toBeCloseTo(0.01 * Math.sqrt(128), 6);
    expect(await norms(model.head.parameters())).toEqual(headBefore);
    const lossAfter = await noGrad(() => model.forward(inputs, targets).loss).itemAsync();
    expect(Math.abs(lossAfter - lossBefore)).toBeLessThan(1e-5);
    expect(() => scaleEncoder(model, 0)).toThrow(/positive finite factor, got 0/);
  });
});

describe('initOutputBias', () => {
  it('starts the MLM loss at the prior’s cross-entropy instead of ln(vocab), for both families', async () => {
    // A prior that puts 0.3 on each of the batch's three labels and spreads 0.1 over the rest.
    const prior = Array.from({ length: VOCAB }, (_, id) =>
      Math.log([15, 16, 23].includes(id) ? 0.3 : 0.1 / (VOCAB - 3)),
    );
    for (const name of ['sibert-tiny', 'bert-tiny'] as const) {
      manualSeed(6);
      const model = new MaskedLanguageModel(
        presetConfig(name, VOCAB, { hiddenDropout: 0, attentionDropout: 0 }),
      );
      const { inputs, targets } = batch();
      const before = await noGrad(() => model.forward(inputs, targets).loss).itemAsync();
      initOutputBias(model, prior);
      const after = await noGrad(() => model.forward(inputs, targets).loss).itemAsync();
      // The random decoder adds logits of std ~0.2 around the prior: ln(40) ≈ 3.69 → about −ln 0.3 ≈ 1.20.
      expect(before).toBeGreaterThan(3.3);
      expect(Math.abs(after + Math.log(0.3))).toBeLessThan(0.3);
      const bias = await model.head.bias.data();
      expect(Array.from(bias).reduce((a, b) => a + b, 0) / VOCAB).toBeCloseTo(0, 5);
      model.dispose();
    }
  });

  it('refuses a prior of the wrong length or with a non-finite value, naming what came', () => {
    const model = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB));
    expect(() => initOutputBias(model, new Float64Array(VOCAB - 1))).toThrow(/of 40 values .*got 39/);
    const prior = new Float64Array(VOCAB);
    prior[7] = Number.NEGATIVE_INFINITY;
    expect(() => initOutputBias(model, prior)).toThrow(/finite log-probabilities, got -Infinity at id 7/);
    model.dispose();
  });
});

/** Plain SGD on every parameter with a gradient. */
function sgdStep(model: MaskedLanguageModel | SequenceClassifier, lr: number): void {
  noGrad(() => {
    for (const p of model.parameters()) {
      if (!p.grad) continue;
      const updated = tidy(() => sub(p, mul(p.grad!, lr)));
      p.assign(updated);
      updated.dispose();
    }
  });
  model.zeroGrad();
}

describe('MLM and classification models', () => {
  it('MLM: loss at masked positions falls under SGD, and memory stays flat', async () => {
    manualSeed(1);
    const model = new MaskedLanguageModel(
      presetConfig('sibert-tiny', VOCAB, { hiddenDropout: 0, attentionDropout: 0 }),
    );
    const { inputs, targets } = batch();
    const losses: number[] = [];
    let live = 0;
    for (let step = 0; step < 12; step++) {
      const { loss, accuracy } = model.forward(inputs, targets);
      loss.backward();
      sgdStep(model, 0.03);
      losses.push(await loss.itemAsync());
      loss.dispose();
      accuracy.dispose();
      if (step === 1) live = memory().numTensors;
      if (step > 1) expect(memory().numTensors).toBe(live);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
  });

  it('classification: logits [batch, labels] over [CLS]; BERT through its pooler', () => {
    for (const family of ['sibert', 'bert'] as const) {
      const model = new SequenceClassifier(presetConfig(`${family}-tiny`, VOCAB), 3);
      const { inputs } = batch();
      const { loss, correct, logits } = model.loss(inputs, tensor(Int32Array.of(0, 2), [2], 'int32'));
      expect(logits.shape).toEqual([2, 3]);
      expect(loss.shape).toEqual([]);
      expect(correct.item()).toBeGreaterThanOrEqual(0);
    }
  });

  it('paramGroups: the SI encoder vs everything else; all of BERT is "other"', () => {
    const sibert = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB));
    const groups = paramGroups(sibert);
    expect(groups.scaleInvariant.every(([name]) => name.startsWith('encoder.'))).toBe(true);
    expect(groups.other.every(([name]) => name.startsWith('head.'))).toBe(true);
    expect(groups.scaleInvariant.length + groups.other.length).toBe(sibert.parameters().length);
    const bert = paramGroups(new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB)));
    expect(bert.scaleInvariant).toEqual([]);
  });
});

describe('checkpoints', () => {
  it('round-trip bit-exactly with the config in the metadata', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sibert-ckpt-'));
    manualSeed(5);
    const model = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB));
    await saveModel(join(dir, 'a.safetensors'), model, { step: '12' });
    const contents = await readCheckpoint(join(dir, 'a.safetensors'));
    expect(contents.config).toEqual(model.config);
    expect(contents.task).toBe('mlm');
    expect(contents.extra).toEqual({ step: '12' });
    manualSeed(6);
    const other = new MaskedLanguageModel(contents.config);
    loadWeights(other, contents.tensors);
    const a = model.namedParameters();
    const b = new Map(other.namedParameters());
    for (const [name, p] of a)
      expect(Array.from(await b.get(name)!.data())).toEqual(Array.from(await p.data()));
  });

  it('encode to bytes and decode without files (the browser-safe halves), the same bytes saveModel writes', async () => {
    manualSeed(7);
    const model = new SequenceClassifier(presetConfig('bert-tiny', VOCAB), 3);
    const bytes = await encodeModel(model, { step: '3' });
    const contents = decodeModel(bytes, 'download.safetensors');
    expect(contents).toMatchObject({
      config: model.config,
      task: 'classification',
      numLabels: 3,
      extra: { step: '3' },
    });
    const dir = await mkdtemp(join(tmpdir(), 'sibert-ckpt-'));
    await saveModel(join(dir, 'b.safetensors'), model, { step: '3' });
    expect(new Uint8Array(await readFile(join(dir, 'b.safetensors')))).toEqual(bytes);
    const plain = encodeSafetensors(
      new Map([['w', { dtype: 'float32', shape: [1], data: Float32Array.of(1) }]]),
    );
    expect(() => decodeModel(plain, 'plain.safetensors')).toThrow(
      /plain\.safetensors has no SIBERT model metadata/,
    );
  });

  it('use HuggingFace BERT names, with the MLM decoder tied to the word embeddings', async () => {
    const model = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB));
    const names = [...checkpointNames(model).values()];
    expect(names).toContain('bert.embeddings.word_embeddings.weight');
    expect(names).toContain('bert.embeddings.LayerNorm.weight');
    expect(names).toContain('bert.encoder.layer.0.attention.self.query.weight');
    expect(names).toContain('bert.encoder.layer.1.attention.output.dense.bias');
    expect(names).toContain('bert.encoder.layer.1.attention.output.LayerNorm.weight');
    expect(names).toContain('bert.encoder.layer.0.intermediate.dense.weight');
    expect(names).toContain('bert.encoder.layer.0.output.LayerNorm.bias');
    expect(names.some((n) => n.startsWith('bert.pooler.'))).toBe(false); // as HF's BertForMaskedLM
    expect(names).toContain('cls.predictions.transform.dense.weight');
    expect(names).toContain('cls.predictions.bias');
    expect(names.some((n) => n.includes('decoder'))).toBe(false);
    const classifier = new SequenceClassifier(presetConfig('bert-tiny', VOCAB), 2);
    expect([...checkpointNames(classifier).values()]).toEqual(
      expect.arrayContaining(['classifier.weight', 'bert.pooler.dense.weight']),
    );
  });

  it('load only the encoder into a fine-tuning model; mismatches are listed and nothing is half-loaded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sibert-ckpt-'));
    const pretrained = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB));
    await saveModel(join(dir, 'p.safetensors'), pretrained);
    const { tensors } = await readCheckpoint(join(dir, 'p.safetensors'));
    const classifier = new SequenceClassifier(presetConfig('sibert-tiny', VOCAB), 2);
    loadWeights(classifier, tensors, { scope: 'encoder' });
    const word = 'encoder.embeddings.wordEmbeddings.weight';
    const expected = await new Map(pretrained.namedParameters()).get(word)!.data();
    expect(Array.from(await new Map(classifier.namedParameters()).get(word)!.data())).toEqual(
      Array.from(expected),
    );
    expect(() => loadWeights(classifier, tensors)).toThrow(
      /missing 2: head.classifier.weight, head.classifier.bias \| unexpected/,
    );

    const wider = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB + 1));
    const untouched = await new Map(wider.namedParameters())
      .get('encoder.layers.0.attention.query.weight')!
      .data();
    expect(() => loadWeights(wider, tensors)).toThrow(CheckpointError);
    expect(() => loadWeights(wider, tensors)).toThrow(
      /mis-shaped 3: encoder.embeddings.wordEmbeddings.weight expected float32 \[41, 128\], got float32 \[40, 128\]/,
    );
    const after = await new Map(wider.namedParameters())
      .get('encoder.layers.0.attention.query.weight')!
      .data();
    expect(Array.from(after)).toEqual(Array.from(untouched));
  });

  it('name what does not fit under the checkpoint names: HuggingFace names for BERT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sibert-ckpt-'));
    await saveModel(join(dir, 'b.safetensors'), new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB)));
    const { tensors } = await readCheckpoint(join(dir, 'b.safetensors'));
    tensors.delete('cls.predictions.bias');
    tensors.set('cls.extra', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const wider = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB + 1));
    expect(() => loadWeights(wider, tensors)).toThrow(
      /missing 1: cls.predictions.bias \| unexpected 1: cls.extra \| mis-shaped 1: bert.embeddings.word_embeddings.weight expected float32 \[41, 128\], got float32 \[40, 128\]/,
    );
  });
});
