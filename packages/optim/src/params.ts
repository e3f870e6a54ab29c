import { DTypeError, RangeArgumentError, Tensor } from '@sibert/tensor';

/** Parameters as a plain list, or as `[name, tensor]` pairs (a Map, or `module.namedParameters()`). */
export type ParamList = readonly Tensor[] | Iterable<readonly [string, Tensor]>;

/** A parameter with the name used in reports and state dicts. */
export interface NamedParam {
  readonly name: string;
  readonly tensor: Tensor;
}

/** Names unnamed parameters `param<index>`, counting from `firstIndex`; checks their dtype. */
export function namedParams(op: string, params: ParamList, firstIndex = 0): NamedParam[] {
  const list: NamedParam[] = [];
  let index = firstIndex;
  for (const item of params as Iterable<Tensor | readonly [string, Tensor]>) {
    const [name, tensor] = item instanceof Tensor ? [`param${index}`, item] : item;
    if (!(tensor instanceof Tensor)) {
      throw new TypeError(`${op}: parameter '${name}' is not a Tensor (got ${typeof tensor})`);
    }
    if (tensor.dtype !== 'float32') {
      throw new DTypeError(`parameter '${name}' must be float32, got ${tensor.dtype}`, op);
    }
    list.push({ name, tensor });
    index++;
  }
  return list;
}

/** Throws if a tensor appears twice (`where` names the two places it was found). */
export function assertDisjoint(
  op: string,
  entries: Iterable<{ name: string; tensor: Tensor; where: string }>,
): void {
  const seen = new Map<Tensor, string>();
  for (const { name, tensor, where } of entries) {
    const first = seen.get(tensor);
    if (first !== undefined) {
      throw new RangeArgumentError(
        `parameter '${name}' is claimed twice (${first} and ${where}); each parameter belongs to one group`,
        op,
      );
    }
    seen.set(tensor, `${where} as '${name}'`);
  }
}
