import {
  DTypeError,
  formatShape,
  RangeArgumentError,
  ShapeError,
  shapesEqual,
  type Tensor,
} from '@sibert/tensor';
import type { ModelConfig } from './config.js';

/** A batch for an encoder: int32 [batch, seq] tensors. */
export interface EncoderInputs {
  inputIds: Tensor;
  /** Segment ids (0/1); zeros when omitted. */
  tokenTypeIds?: Tensor | null;
  /** 1 for tokens to attend to, 0 for padding (int32 or float32); all ones when omitted. */
  attentionMask?: Tensor | null;
}

export interface EncoderOutput {
  /** [batch, seq, hidden]. For SIBERT this is N(z_L): scale invariant in the encoder's parameters. */
  sequenceOutput: Tensor;
  /** BERT's pooler output over [CLS] ([batch, hidden]); null where the model has no pooler. */
  pooledOutput: Tensor | null;
}

export function checkEncoderInputs(model: string, config: ModelConfig, inputs: EncoderInputs): void {
  const ids = inputs.inputIds;
  if (ids.rank !== 2)
    throw new ShapeError(`expected inputIds [batch, seq], got ${formatShape(ids.shape)}`, model);
  if (ids.dtype !== 'int32') throw new DTypeError(`expected int32 inputIds, got ${ids.dtype}`, model);
  if (ids.shape[1]! > config.maxPositions) {
    throw new RangeArgumentError(
      `sequence length ${ids.shape[1]} exceeds maxPositions ${config.maxPositions}`,
      model,
    );
  }
  for (const [name, t] of [
    ['tokenTypeIds', inputs.tokenTypeIds],
    ['attentionMask', inputs.attentionMask],
  ] as const) {
    if (t && !shapesEqual(t.shape, ids.shape)) {
      throw new ShapeError(
        `expected ${name} ${formatShape(ids.shape)} like inputIds, got ${formatShape(t.shape)}`,
        model,
      );
    }
  }
  if (inputs.tokenTypeIds && inputs.tokenTypeIds.dtype !== 'int32') {
    throw new DTypeError(`expected int32 tokenTypeIds, got ${inputs.tokenTypeIds.dtype}`, model);
  }
}
