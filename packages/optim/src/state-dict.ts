import { escapeTidy, RangeArgumentError, ShapeError, type Tensor, tensor } from '@sibert/tensor';
import type { BaseGroupOptions } from './options.js';
import type { NamedParam } from './params.js';

export interface ParamStateDict {
  name: string;
  shape: number[];
  /** Per-parameter buffers (momentum, moments), by name. */
  state: Record<string, Float32Array>;
}

export interface GroupStateDict {
  options: BaseGroupOptions & Record<string, unknown>;
  params: ParamStateDict[];
  clipCount: number;
  /** ‖g‖² of the last `backwardAndStep` of a clipping group (its next clip factor uses it); absent otherwise. */
  previousGradNormSq?: number;
}

/** The snapshot of one optimizer (SGD, Adam, AdamW, LAMB). */
export interface OptimizerStateDict {
  optimizer: string;
  step: number;
  groups: GroupStateDict[];
}

/** The snapshot of a `CombinedOptimizer`: its parts' snapshots in order. */
export interface CombinedStateDict {
  optimizer: 'Combined';
  parts: StateDict[];
}

export type StateDict = OptimizerStateDict | CombinedStateDict;

export function isCombinedStateDict(dict: StateDict): dict is CombinedStateDict {
  return 'parts' in dict;
}

/** What an optimizer keeps for one group between steps. */
export interface GroupState {
  params: NamedParam[];
  options: BaseGroupOptions;
  /** Per parameter, its state buffers (same order as params). */
  state: Record<string, Tensor>[];
  /** Steps clipped, a float32 device scalar (null until the group first clips). */
  clipCount: Tensor | null;
  /** ‖g‖² of the last `backwardAndStep` (a device scalar; null unless the group clips that way). */
  previousGradSq: Tensor | null;
}

/** A group's snapshot, its buffers read back from the device. */
export async function saveGroup(group: GroupState): Promise<GroupStateDict> {
  const params: ParamStateDict[] = [];
  for (const [i, p] of group.params.entries()) {
    const state: Record<string, Float32Array> = {};
    for (const [key, t] of Object.entries(group.state[i]!)) state[key] = new Float32Array(await t.data());
    params.push({ name: p.name, shape: [...p.tensor.shape], state });
  }
  const clipCount = group.clipCount ? (await group.clipCount.data())[0]! : 0;
  const options = structuredClone(group.options) as GroupStateDict['options'];
  if (!group.previousGradSq) return { options, params, clipCount };
  return { options, params, clipCount, previousGradNormSq: (await group.previousGradSq.data())[0]! };
}

/** Throws unless `dict` is a snapshot of optimizer `name` with `groupCount` groups and a valid step. */
export function checkHeader(
  dict: StateDict,
  name: string,
  groupCount: number,
  op: string,
): asserts dict is OptimizerStateDict {
  if (isCombinedStateDict(dict) || dict.optimizer !== name) {
    throw new RangeArgumentError(`the state dict is from ${dict.optimizer}, this optimizer is ${name}`, op);
  }
  if (!(Number.isInteger(dict.step) && dict.step >= 0)) {
    throw new RangeArgumentError(`step must be an integer >= 0, got ${dict.step}`, op);
  }
  if (dict.groups.length !== groupCount) {
    throw new ShapeError(`the state dict has ${dict.groups.length} groups, this optimizer ${groupCount}`, op);
  }
}

/** Throws unless group `g` of a snapshot holds the same parameters: names and shapes, in order. */
export function checkLayout(
  g: number,
  params: readonly NamedParam[],
  saved: GroupStateDict,
  op: string,
): void {
  const expected = params.map((p) => `${p.name} ${JSON.stringify(p.tensor.shape)}`);
  const found = saved.params.map((p) => `${p.name} ${JSON.stringify(p.shape)}`);
  const mismatch = expected.findIndex((e, i) => e !== found[i]);
  if (expected.length !== found.length || mismatch >= 0) {
    const i = mismatch >= 0 ? mismatch : Math.min(expected.length, found.length);
    throw new ShapeError(
      `group ${g} parameter layout differs at position ${i}: expected ${expected[i] ?? 'nothing'}, ` +
        `the state dict has ${found[i] ?? 'nothing'} (${expected.length} vs ${found.length} parameters)`,
      op,
    );
  }
}

/** Throws unless every saved parameter has exactly the buffers `names`, each of its parameter's size. */
export function checkBuffers(
  params: readonly NamedParam[],
  saved: GroupStateDict,
  names: readonly string[],
  op: string,
): void {
  saved.params.forEach((p, i) => {
    const size = params[i]!.tensor.size;
    const keys = Object.keys(p.state);
    if (keys.sort().join() !== [...names].sort().join()) {
      throw new ShapeError(`parameter '${p.name}' has state [${keys}], expected [${names}]`, op);
    }
    for (const key of names) {
      if (p.state[key]!.length !== size) {
        throw new ShapeError(
          `state '${key}' of '${p.name}' has ${p.state[key]!.length} values, expected ${size}`,
          op,
        );
      }
    }
  });
}

/** A checked snapshot's buffers and clip counter as tensors, each beside its parameter. */
export async function loadGroup(
  params: readonly NamedParam[],
  saved: GroupStateDict,
): Promise<Pick<GroupState, 'state' | 'clipCount' | 'previousGradSq'>> {
  const state: Record<string, Tensor>[] = [];
  for (const [i, p] of saved.params.entries()) {
    const like = params[i]!.tensor;
    const entry: Record<string, Tensor> = {};
    for (const [key, values] of Object.entries(p.state)) entry[key] = await upload(values, like.shape, like);
    state.push(entry);
  }
  const like = params[0]!.tensor;
  const clipCount = saved.clipCount > 0 ? await upload(Float32Array.of(saved.clipCount), [], like) : null;
  const previous = saved.previousGradNormSq;
  const previousGradSq = previous === undefined ? null : await upload(Float32Array.of(previous), [], like);
  return { state, clipCount, previousGradSq };
}

/** Host values as a tensor on the backend of `like` (state buffers live beside their parameter). */
async function upload(values: Float32Array, shape: readonly number[], like: Tensor): Promise<Tensor> {
  const host = tensor(values, shape);
  if (host.backend === like.backend) return escapeTidy(host);
  const moved = escapeTidy(await host.toAsync(like.backend));
  host.dispose();
  return moved;
}
