import { DisposedError, formatShape, SibertError, Tensor } from '@sibert/tensor';
import { Parameter } from './parameter.js';

/** A state dict: dotted parameter paths to tensors, in registration order. */
export type StateDict = Map<string, Tensor>;

/** Missing, unexpected or mis-shaped entries given to `loadStateDict` (all are listed). */
export class StateDictError extends SibertError {
  constructor(
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly mismatched: readonly string[],
  ) {
    const parts = [
      missing.length > 0 ? `missing ${missing.length}: ${missing.join(', ')}` : '',
      unexpected.length > 0 ? `unexpected ${unexpected.length}: ${unexpected.join(', ')}` : '',
      mismatched.length > 0 ? `mis-shaped ${mismatched.length}: ${mismatched.join('; ')}` : '',
    ];
    super(`the state dict does not fit the module (${parts.filter(Boolean).join(' | ')})`, 'loadStateDict');
  }
}

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors. Default true; mis-shaped entries always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

/**
 * Base class of layers and models. Parameters and submodules are found from the module's own
 * fields, in definition order: a `Parameter` field is a parameter, a `Module` field a child, and an
 * array of modules (a layer stack) holds children named `field.0`, `field.1`, …. So
 * `this.query = new Linear(...)` registers `query.weight` and `query.bias`.
 *
 * Each subclass defines `forward(...)`; `Args`/`Out` type it for generic tools.
 */
export abstract class Module<Args extends unknown[] = unknown[], Out = unknown> {
  /** Training mode (dropout active). Set with `train()` / `eval()`. */
  training = true;

  abstract forward(...args: Args): Out;

  /** Direct children as [name, module], in field order. */
  namedChildren(): [string, Module][] {
    const children: [string, Module][] = [];
    for (const [field, value] of Object.entries(this)) {
      if (value instanceof Module) children.push([field, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((child: Module, i) => {
          children.push([`${field}.${i}`, child]);
        });
      }
    }
    return children;
  }

  /** This module's own parameters (not its children's) as [name, parameter]. */
  namedOwnParameters(): [string, Parameter][] {
    return Object.entries(this).filter(
      (entry): entry is [string, Parameter] => entry[1] instanceof Parameter,
    );
  }

  /** Every module in the tree, depth first, this one first with path ''. Each module appears once. */
  namedModules(prefix = ''): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const walk = (module: Module, path: string) => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push([path, module]);
      for (const [name, child] of module.namedChildren()) walk(child, path ? `${path}.${name}` : name);
    };
    walk(this, prefix);
    return out;
  }

  /** Every parameter as [dotted path, parameter]; a parameter shared by two modules is listed once. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [path, module] of this.namedModules()) {
      for (const [name, p] of module.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([path ? `${path}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) module.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Frees the whole tree's tensors: every parameter with its gradient, and any other tensor a module
   * holds in a field (a buffer). A parameter shared with a module outside the tree is freed too.
   * Idempotent. Afterwards `forward` on any module of the tree throws a DisposedError.
   */
  dispose(): void {
    for (const [, module] of this.namedModules()) {
      for (const value of Object.values(module)) {
        if (!(value instanceof Tensor)) continue;
        value.grad?.dispose();
        value.grad = null;
        value.dispose();
      }
      // An own property shadows the subclass's forward: the error names the module, and live
      // modules pay nothing for the check.
      Object.defineProperty(module, 'forward', {
        configurable: true,
        value: () => {
          throw new DisposedError('this module was disposed and cannot run forward', module.constructor.name);
        },
      });
    }
  }

  /**
   * The parameters by dotted path. The values are the live parameters, not copies: do not dispose
   * them. Parameters change only by `assign` (which swaps storage), so `value.detach()` is a stable
   * snapshot.
   */
  stateDict(): StateDict {
    return new Map(this.namedParameters());
  }

  /**
   * Loads values into the parameters by path. Every missing, unexpected and mis-shaped entry is
   * collected into one StateDictError (with `strict: false`, missing and unexpected keys are
   * returned instead). Values are shared, not copied; a value on another backend is copied over.
   */
  loadStateDict(
    state: StateDict | Record<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const params = new Map(this.namedParameters());
    const missing = [...params.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !params.has(k));
    const mismatched: string[] = [];
    for (const [key, p] of params) {
      const value = entries.get(key);
      if (value && (formatShape(value.shape) !== formatShape(p.shape) || value.dtype !== p.dtype)) {
        mismatched.push(
          `${key} expected ${p.dtype} ${formatShape(p.shape)}, got ${value.dtype} ${formatShape(value.shape)}`,
        );
      }
    }
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      throw new StateDictError(missing, unexpected, mismatched);
    }
    for (const [key, p] of params) {
      const value = entries.get(key);
      if (!value || value === p) continue;
      if (value.backend === p.backend) p.assign(value);
      else {
        const copy = value.to(p.backend);
        p.assign(copy);
        copy.dispose();
      }
    }
    return { missing, unexpected };
  }

  /**
   * Moves every parameter to `backend` (synchronously: the parameters must be on a backend that reads
   * synchronously, such as CPU; else use `toAsync`). Parameters are replaced by new Parameter objects,
   * as storage cannot move between backends in place: build optimizers after moving, as in PyTorch.
   * Gradients are dropped. Returns this.
   */
  to(backend: string): this {
    this.replaceParameters((p) => p.to(backend));
    return this;
  }

  /** `to(backend)` from any source backend. */
  async toAsync(backend: string): Promise<this> {
    const moved = new Map<Parameter, Tensor>();
    for (const p of this.parameters()) moved.set(p, await p.toAsync(backend));
    this.replaceParameters((p) => moved.get(p)!);
    return this;
  }

  private replaceParameters(move: (p: Parameter) => Tensor): void {
    const replacements = new Map<Parameter, Parameter>();
    for (const [, module] of this.namedModules()) {
      const fields = module as unknown as Record<string, unknown>;
      for (const [field, p] of module.namedOwnParameters()) {
        let next = replacements.get(p);
        if (!next) {
          next = new Parameter(move(p), p.name);
          replacements.set(p, next);
        }
        fields[field] = next;
      }
    }
    for (const old of replacements.keys()) {
      old.grad?.dispose();
      old.dispose();
    }
  }
}
