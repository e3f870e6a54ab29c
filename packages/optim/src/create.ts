import { RangeArgumentError } from '@sibert/tensor';
import { Adam, type AdamOptions, AdamW } from './adam.js';
import { LAMB, type LAMBOptions } from './lamb.js';
import type { ParamGroup } from './options.js';
import type { ParamList } from './params.js';
import { SGD, type SGDOptions } from './sgd.js';

/** Each optimizer kind with its class and its group options. */
interface Kinds {
  sgd: { optimizer: SGD; options: SGDOptions };
  adam: { optimizer: Adam; options: AdamOptions };
  adamw: { optimizer: AdamW; options: AdamOptions };
  lamb: { optimizer: LAMB; options: LAMBOptions };
}

export type OptimizerKind = keyof Kinds;

/** The options `createOptimizer(kind, …)` takes: `lr`, and any others of the kind. */
export type OptionsOf<K extends OptimizerKind> = Partial<Kinds[K]['options']> & { lr: number };

/** The parameters `createOptimizer(kind, …)` takes: a list, or groups with their own options. */
export type ParamsOf<K extends OptimizerKind> = ParamList | readonly ParamGroup<Kinds[K]['options']>[];

type Constructors = {
  [K in OptimizerKind]: new (
    params: ParamsOf<K>,
    options: OptionsOf<K>,
  ) => Kinds[K]['optimizer'];
};

const CONSTRUCTORS: Constructors = { sgd: SGD, adam: Adam, adamw: AdamW, lamb: LAMB };

/**
 * An optimizer by kind: `createOptimizer('sgd', params, { lr: 0.1, momentum: 0.9 })` is
 * `new SGD(params, { lr: 0.1, momentum: 0.9 })`. An option the kind does not have is an error.
 */
export function createOptimizer<K extends OptimizerKind>(
  kind: K,
  params: ParamsOf<K>,
  options: OptionsOf<K>,
): Kinds[K]['optimizer'] {
  if (!Object.hasOwn(CONSTRUCTORS, kind)) {
    const known = Object.keys(CONSTRUCTORS).join(', ');
    throw new RangeArgumentError(
      `unknown optimizer kind '${String(kind)}'; expected one of ${known}`,
      'createOptimizer',
    );
  }
  const Constructor: Constructors[K] = CONSTRUCTORS[kind];
  return new Constructor(params, options);
}
