import {
  Dropout,
  Embedding,
  FeedForward,
  GELU,
  LayerNorm,
  Linear,
  type Module,
  MultiHeadAttention,
  ReLU,
} from '@sibert/nn';
import { SibertError } from '@sibert/tensor';

/**
 * Homogeneity bookkeeping (Li et al. 2022, Table 2). A tensor is k-homogeneous in the parameters θ when
 * scaling θ by c > 0 scales it by c^k. A module maps input degrees to an output degree; SI modules
 * declare theirs, e.g. (0; 2) for the feed-forward block or (x; x+2) for SI attention.
 */
export interface Homogeneity {
  /** The input degree the module needs, or 'x' for any degree. */
  readonly input: number | 'x';
  /** The output degree: fixed, or the input degree plus `plus`. */
  readonly output: number | { readonly plus: number };
}

/** "(0; 2)", "(x; x+2)". */
export function formatHomogeneity(h: Homogeneity): string {
  const output =
    typeof h.output === 'number' ? String(h.output) : `x${h.output.plus >= 0 ? '+' : ''}${h.output.plus}`;
  return `(${h.input}; ${output})`;
}

/** The output degree `h` promises for an input of degree `input`. */
export function outputDegree(h: Homogeneity, input: number): number {
  return typeof h.output === 'number' ? h.output : input + h.output.plus;
}

/**
 * One step of a forward pass as the checker sees it; values are named, the wiring's `input` is the
 * module's input. `module` names a child by its path relative to the module (`attention`, `layers.0`).
 */
export type WiringStep =
  | { readonly op: 'module'; readonly module: string; readonly input: string; readonly output: string }
  /** A sum (residual connection): every term must have the same degree. */
  | {
      readonly op: 'add';
      readonly inputs: readonly string[];
      readonly output: string;
      readonly label: string;
    }
  /** A product of two tensors (Q·Kᵀ, A·V): degrees add. */
  | {
      readonly op: 'product';
      readonly inputs: readonly string[];
      readonly output: string;
      readonly label: string;
    }
  /** A 0-homogeneous normalisation of its input (LayerNorm without affine, SI row normalisation). */
  | { readonly op: 'normalize'; readonly input: string; readonly output: string; readonly label: string };

export interface Wiring {
  readonly input: string;
  readonly steps: readonly WiringStep[];
  readonly output: string;
}

/** A composed module that declares its degrees and how its children connect. */
export interface HomogeneousModule {
  readonly homogeneity: Homogeneity;
  homogeneityWiring(): Wiring;
}

export function isHomogeneousModule(module: object): module is HomogeneousModule {
  const m = module as Partial<HomogeneousModule>;
  return typeof m.homogeneityWiring === 'function' && typeof m.homogeneity === 'object';
}

export interface HomogeneityViolation {
  /** Dotted path of the module (or `path: label` of a step); '(root)' for the module checked. */
  readonly path: string;
  readonly message: string;
}

export interface HomogeneityReport {
  /** The degree of the output, or null where a violation left it undefined. */
  readonly outputDegree: number | null;
  readonly violations: HomogeneityViolation[];
}

/**
 * Walks `module` (a HomogeneousModule, or one of the nn layers with a built-in rule) with an input of
 * degree `inputDegree` (default: the declared input degree, or 0 for 'x') and reports, by path, every
 * connection that breaks the rules: a bias added to a tensor that is not 1-homogeneous, a sum of
 * tensors of different degrees, a non-homogeneous layer (GELU, softmax attention), an input of the
 * wrong degree, a wiring that does not give the declared output degree, children left out of the
 * wiring, and modules with no rule at all. A violation makes the value it produces undefined, and
 * nothing computed from it is reported again.
 */
export function checkHomogeneity(module: Module, inputDegree?: number): HomogeneityReport {
  const declared = isHomogeneousModule(module) ? module.homogeneity.input : 0;
  const violations: HomogeneityViolation[] = [];
  const degree = degreeOf(module, '', inputDegree ?? (declared === 'x' ? 0 : declared), violations);
  return { outputDegree: degree, violations };
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function degreeOf(
  module: Module,
  path: string,
  input: number | null,
  violations: HomogeneityViolation[],
): number | null {
  if (input === null) return null;
  const at = path || '(root)';
  const report = (message: string): null => {
    violations.push({ path: at, message });
    return null;
  };
  if (isHomogeneousModule(module)) return wiredDegree(module, path, input, violations);
  if (module instanceof Linear) {
    const degree = input + 1;
    if (module.bias && degree !== 1) {
      return report(
        `bias added to a ${degree}-homogeneous tensor: a bias is 1-homogeneous, so a Linear with bias needs a 0-homogeneous input (got ${input})`,
      );
    }
    return degree;
  }
  // Ids are data (degree 0); the table makes them 1-homogeneous.
  if (module instanceof Embedding) return 1;
  if (module instanceof LayerNorm) return module.elementwiseAffine ? 1 : 0;
  if (module instanceof ReLU || module instanceof Dropout) return input;
  if (module instanceof GELU) return report('GELU is not positively homogeneous (ReLU is)');
  if (module instanceof MultiHeadAttention) {
    return report('softmax attention is not homogeneous: softmax(c²·s) ≠ softmax(s) (SIAttention is)');
  }
  if (module instanceof FeedForward) {
    const hidden = degreeOf(module.intermediate, join(path, 'intermediate'), input, violations);
    return degreeOf(module.activation, join(path, 'activation'), hidden, violations);
  }
  return report(
    `${module.constructor.name} has no homogeneity rule: implement HomogeneousModule (homogeneity and homogeneityWiring)`,
  );
}

/** The degree of a normalize, product or add step of a wiring from its inputs' degrees (null: unknown). */
function combinedDegree(
  step: { readonly op: 'normalize' | 'product' | 'add'; readonly label: string },
  inputs: (number | null)[],
  at: string,
  violations: HomogeneityViolation[],
): number | null {
  if (inputs.some((d) => d === null)) return null;
  if (step.op === 'normalize') return 0;
  if (step.op === 'product') return (inputs as number[]).reduce((a, b) => a + b, 0);
  if (new Set(inputs).size > 1) {
    violations.push({
      path: `${at}: ${step.label}`,
      message: `adds tensors of degrees ${inputs.join(' and ')}; every term of a sum needs the same degree`,
    });
    return null;
  }
  return inputs[0]!;
}

function wiredDegree(
  module: Module & HomogeneousModule,
  path: string,
  input: number,
  violations: HomogeneityViolation[],
): number | null {
  const at = path || '(root)';
  const declared = module.homogeneity;
  const name = module.constructor.name;
  if (declared.input !== 'x' && declared.input !== input) {
    violations.push({
      path: at,
      message: `${name} ${formatHomogeneity(declared)} needs a ${declared.input}-homogeneous input, got a ${input}-homogeneous one`,
    });
  }
  const wiring = module.homogeneityWiring();
  const children = new Map(module.namedChildren());
  const used = new Set<string>();
  const degrees = new Map<string, number | null>([[wiring.input, input]]);
  const degreeNamed = (name: string): number | null => {
    if (!degrees.has(name)) {
      throw new SibertError(
        `the homogeneity wiring of ${at} reads '${name}' before it is defined`,
        'checkHomogeneity',
      );
    }
    return degrees.get(name)!;
  };
  for (const step of wiring.steps) {
    if (step.op === 'module') {
      const child = children.get(step.module);
      if (!child) {
        throw new SibertError(
          `the homogeneity wiring of ${at} names '${step.module}', which is not a child module`,
          'checkHomogeneity',
        );
      }
      used.add(step.module);
      degrees.set(step.output, degreeOf(child, join(path, step.module), degreeNamed(step.input), violations));
      continue;
    }
    const inputs = step.op === 'normalize' ? [degreeNamed(step.input)] : step.inputs.map(degreeNamed);
    degrees.set(step.output, combinedDegree(step, inputs, at, violations));
  }
  for (const [childName, child] of children) {
    if (!used.has(childName) && child.numParameters() > 0) {
      violations.push({
        path: join(path, childName) || at,
        message: 'holds parameters but is not in the homogeneity wiring',
      });
    }
  }
  if (module.namedOwnParameters().length > 0) {
    violations.push({
      path: at,
      message: `${name} holds its own parameters, which a wiring cannot place; keep them in child modules`,
    });
  }
  const result = degreeNamed(wiring.output);
  const promised = outputDegree(declared, input);
  if (result !== null && result !== promised) {
    violations.push({
      path: at,
      message: `${name} declares ${formatHomogeneity(declared)} but its wiring maps degree ${input} to ${result}, not ${promised}`,
    });
  }
  return result;
}
