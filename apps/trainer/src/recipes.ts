import type { MlmHeadName, OptimizerName, OutputBiasName, RecipeName, ScheduleName } from './options.js';

export interface Recipe {
  optimizer: OptimizerName;
  lr: number;
  /** The LR of model sizes that take another one than `lr`. */
  lrBySize?: Partial<Record<string, number>>;
  weightDecay: number;
  clip: string;
  schedule: ScheduleName;
  /** SIBERT only: the heads' optimizer and LR. */
  headOptimizer: OptimizerName;
  headLr: number;
  headWeightDecay: number;
  /** SIBERT only: which MLM head; the scale-invariant one's weight matrices train with the encoder's settings. */
  mlmHead: MlmHeadName;
  /** The MLM head's output bias at init. */
  outputBias: OutputBiasName;
}

/**
 * The defaults of the optimizer options, per recipe and model family.
 *
 * `paper`: Li et al.'s settings (SIBERT: SGD η = 8e-4, λ = 1e-2, ηλ = 8e-6; BERT: AdamW 1e-4). At
 * ηλ = 8e-6 the encoder norm needs ~1/(ηλ) = 125k steps to reach its equilibrium, and from BERT's
 * init the effective LR η/‖x‖² is ~1e-6: in a few thousand steps nothing moves.
 *
 * `short` (the default): the same algorithm for budgets of a few thousand steps. SIBERT: ηλ = 2e-3,
 * an equilibrium angular update √(2ηλ) ≈ 0.06 rad a step, reached within the run; η = 40 (λ = 5e-5)
 * starts the effective LR at η/‖x₀‖² ≈ 0.07, near that equilibrium, so no phase is spent waiting for
 * weight decay to shrink the norm (by (x₀, η, λ) → (c·x₀, c²η, λ/c²) this is the paper's η = 8e-4
 * with the encoder initialised ×0.0045 and λ = 2.5); relative clipping √C = 2 caps each step at
 * twice the equilibrium update; LAMB heads at 2e-2, and the output bias starts at the unigram log
 * prior, so the model predicts word frequencies from step 0 (HF's and the paper's bias start at 0). BERT: AdamW at 2e-3 (bert-tiny, 1200 steps: held-out 5.78 against 5.94 at 1e-3),
 * 1e-3 from mini on (see lrBySize).
 *
 * `sgd-only` (SIBERT; not the paper's): `short` with the scale-invariant MLM head, whose matrices
 * train with the encoder's settings, and plain SGD for its temperature and output bias, so no
 * parameter has optimizer state (docs/sgd-everywhere.md §3).
 */
const SHORT_SIBERT: Recipe = {
  optimizer: 'sgd',
  lr: 40,
  weightDecay: 5e-5,
  clip: 'relative:2',
  schedule: 'paper',
  headOptimizer: 'lamb',
  headLr: 2e-2,
  headWeightDecay: 1e-2,
  mlmHead: 'standard',
  outputBias: 'unigram',
};

export const RECIPES: Record<RecipeName, { sibert: Recipe; bert: Recipe | null }> = {
  short: {
    sibert: SHORT_SIBERT,
    bert: {
      optimizer: 'adamw',
      lr: 2e-3,
      // Four Post-LN layers at 2e-3 stayed on the plateau (bert-mini, 900 steps: 0.008 nats above
      // it); 1e-3 left it. small and base are not measured: they take mini's.
      lrBySize: { mini: 1e-3, small: 1e-3, base: 1e-3 },
      weightDecay: 1e-2,
      clip: 'none',
      schedule: 'linear',
      headOptimizer: 'lamb',
      headLr: 2e-2,
      headWeightDecay: 1e-2,
      mlmHead: 'standard',
      outputBias: 'unigram',
    },
  },
  paper: {
    sibert: {
      optimizer: 'sgd',
      lr: 8e-4,
      weightDecay: 1e-2,
      clip: 'relative:2',
      schedule: 'paper',
      headOptimizer: 'lamb',
      headLr: 8e-4,
      headWeightDecay: 1e-2,
      mlmHead: 'standard',
      outputBias: 'zero',
    },
    bert: {
      optimizer: 'adamw',
      lr: 1e-4,
      weightDecay: 1e-2,
      clip: 'none',
      schedule: 'linear',
      headOptimizer: 'lamb',
      headLr: 8e-4,
      headWeightDecay: 1e-2,
      mlmHead: 'standard',
      outputBias: 'zero',
    },
  },
  'sgd-only': {
    sibert: {
      ...SHORT_SIBERT,
      headOptimizer: 'sgd',
      headLr: 1,
      headWeightDecay: 0,
      mlmHead: 'scale-invariant',
    },
    bert: null,
  },
};

/** An optimizer's LR when it is not the recipe's own (then the recipe's LR does not apply). */
export const GENERIC_LR: Record<OptimizerName, number> = { sgd: 0.1, adam: 1e-3, adamw: 1e-3, lamb: 2e-2 };

/** Default steps per model size: what fits the README's budgets on 2 CPU cores (tiny ~10 min). */
export const DEFAULT_STEPS: Record<string, number> = { tiny: 1200, mini: 900, small: 1000, base: 1000 };

/** The fine-tuning LR of each optimizer when --lr (or --head-lr) is not given. */
export const FINETUNE_LR: Record<OptimizerName, number> = {
  lamb: 3e-2,
  adamw: 1e-3,
  adam: 1e-3,
  sgd: 0.1,
};
