import { type BackwardOptions, backward, type GradNode, releaseNode } from './autograd.js';
import type { Backend, Handle, View } from './backend.js';
import { allocArray, bytesPerElement, type DType, type TypedArray } from './dtype.js';
import { countBytes, countTensor, findBackend, getBackend, trackInScope } from './engine.js';
import { BackendError, DisposedError, DTypeError, GradientError } from './errors.js';
import { formatShape, type Shape, sizeOf } from './shape.js';

let nextTensorId = 0;

/** Device storage shared by views (reshape, detach); freed when its last tensor is disposed. */
class Storage {
  private refs = 1;
  constructor(
    readonly backend: Backend,
    readonly handle: Handle,
    readonly size: number,
    readonly dtype: DType,
  ) {
    countBytes(backend.name, size * bytesPerElement(dtype));
  }

  /** How many tensors share this storage (views, saved inputs of a live graph, the owner). */
  get holders(): number {
    return this.refs;
  }

  /** One more tensor shares this storage; returns it. */
  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) {
      this.backend.free(this.handle);
      countBytes(this.backend.name, -this.size * bytesPerElement(this.dtype));
    }
  }
}

/**
 * An n-dimensional array on a backend. Tensors are immutable values (ops return new tensors),
 * except parameters updated in place by `assign`. Free them with `dispose()`, `using`, or `tidy`.
 */
export class Tensor {
  readonly id = nextTensorId++;
  readonly size: number;
  /** The autograd node that produced this tensor (null for leaves and untracked results). */
  gradNode: GradNode | null = null;
  /** Accumulated gradient after `backward()` (owned by the engine; survives `tidy`). */
  grad: Tensor | null = null;
  private storageRef: Storage | null;
  private requires = false;

  constructor(
    storage: Storage,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {
    this.storageRef = storage;
    this.size = sizeOf(shape);
    countTensor(storage.backend.name, 1);
    trackInScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storageRef === null;
  }

  /** @internal The live storage; throws if disposed. */
  storage(op = 'tensor'): Storage {
    if (!this.storageRef) {
      throw new DisposedError(
        `tensor #${this.id} ${formatShape(this.shape)} ${this.dtype} was disposed and cannot be used`,
        op,
      );
    }
    return this.storageRef;
  }

  /** @internal The kernel-facing view. */
  view(op: string): View {
    return { handle: this.storage(op).handle, shape: this.shape, dtype: this.dtype };
  }

  /** The name of the backend holding this tensor. */
  get backend(): string {
    return this.storage('backend').backend.name;
  }

  get requiresGrad(): boolean {
    return this.requires;
  }

  set requiresGrad(value: boolean) {
    if (value && this.dtype !== 'float32') {
      throw new GradientError(
        `only float32 tensors can require gradients, this one is ${this.dtype}`,
        'requiresGrad',
      );
    }
    this.requires = value;
  }

  /** Marks the tensor as a leaf that accumulates gradients; returns it. */
  requireGrad(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Reads the values back (works on every backend). */
  async data(): Promise<TypedArray> {
    const s = this.storage('data');
    if (this.size === 0) return allocArray(this.dtype, 0);
    const values = await s.backend.read(s.handle, s.size, this.dtype);
    return values.length === this.size ? values : values.subarray(0, this.size);
  }

  /** Reads the values synchronously; only backends that can (CPU) allow it. */
  dataSync(): TypedArray {
    const s = this.storage('dataSync');
    if (!s.backend.readSync) {
      throw new BackendError(
        `backend '${s.backend.name}' cannot read synchronously; use 'await tensor.data()'`,
        'dataSync',
      );
    }
    if (this.size === 0) return allocArray(this.dtype, 0);
    return s.backend.readSync(s.handle, s.size, this.dtype);
  }

  /** The single value of a one-element tensor (synchronous backends only; else `await itemAsync()`). */
  item(): number {
    this.assertOneElement('item');
    return this.dataSync()[0]!;
  }

  async itemAsync(): Promise<number> {
    this.assertOneElement('itemAsync');
    return (await this.data())[0]!;
  }

  private assertOneElement(op: string): void {
    if (this.size !== 1) {
      throw new RangeError(`${op}: expected a tensor with one element, got shape ${formatShape(this.shape)}`);
    }
  }

  /** Nested arrays of the values. */
  async array(): Promise<unknown> {
    return nest(await this.data(), this.shape);
  }

  toString(): string {
    const head = `Tensor(${formatShape(this.shape)}, ${this.dtype}, ${this.isDisposed ? 'disposed' : this.backend})`;
    if (this.isDisposed || !this.storage().backend.readSync) return head;
    const values = this.dataSync();
    const shown = Array.from(values.subarray(0, 20), (v) =>
      this.dtype === 'int32' ? String(v) : formatFloat(v),
    );
    return `${head} [${shown.join(', ')}${values.length > 20 ? ', …' : ''}]`;
  }

  /** Frees this tensor; its storage is freed when no other view shares it. Idempotent. */
  dispose(): void {
    const s = this.storageRef;
    if (!s) return;
    this.storageRef = null;
    countTensor(s.backend.name, -1);
    s.release();
    if (this.gradNode) {
      releaseNode(this.gradNode);
      this.gradNode = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * For subclasses that wrap an existing tensor (nn's Parameter): moves `source`'s storage over,
   * without a copy, and disposes `source`. Pass the result to `super(storage, source.shape, source.dtype)`.
   */
  protected static takeStorage(source: Tensor, op: string): Storage {
    const storage = source.storage(op).retain();
    source.dispose();
    return storage;
  }

  /**
   * Back-propagates from this tensor: scalars need no seed, other tensors need `seed` of the same
   * shape. Gradients accumulate into `.grad` of every leaf that requires them; the graph is
   * released as the pass goes. `onLeafGradient` sees each leaf as soon as its gradient is complete.
   */
  backward(seed?: Tensor, options?: BackwardOptions): void {
    backward(this, seed, options);
  }

  /** A new tensor sharing this one's storage, outside the autograd graph. */
  detach(): Tensor {
    return viewOf(this, this.shape, 'detach');
  }

  /** Replaces this tensor's values with `value`'s (same shape, dtype and backend), in place. */
  assign(value: Tensor): void {
    const op = 'assign';
    const target = this.storage(op);
    const source = value.storage(op);
    if (value.dtype !== this.dtype || value.size !== this.size) {
      throw new DTypeError(
        `expected a ${this.dtype} ${formatShape(this.shape)} value, got ${value.dtype} ${formatShape(value.shape)}`,
        op,
      );
    }
    if (source.backend !== target.backend) {
      throw new BackendError(
        `the value is on '${source.backend.name}', the target on '${target.backend.name}'`,
        op,
      );
    }
    this.storageRef = source.retain();
    target.release();
  }

  /** A copy on another backend (sources that read synchronously only; else `await toAsync(name)`). */
  to(backendName: string): Tensor {
    const s = this.storage('to');
    if (s.backend.name === backendName) return this.detach();
    return fromValues(this.dataSync(), this.shape, this.dtype, findBackend(backendName));
  }

  /** A copy on another backend, from any source backend. */
  async toAsync(backendName: string): Promise<Tensor> {
    const s = this.storage('toAsync');
    if (s.backend.name === backendName) return this.detach();
    const target = findBackend(backendName);
    return fromValues(await this.data(), this.shape, this.dtype, target);
  }
}

/** @internal Wraps a kernel's output handle. */
export function fromHandle(backend: Backend, handle: Handle, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(backend, handle, sizeOf(shape), dtype), [...shape], dtype);
}

/** @internal Uploads host values. */
export function fromValues(
  values: TypedArray,
  shape: Shape,
  dtype: DType,
  backend: Backend = getBackend(),
): Tensor {
  return fromHandle(backend, backend.write(values, dtype), shape, dtype);
}

/** @internal A tensor sharing `t`'s storage under another shape of the same size. */
export function viewOf(t: Tensor, shape: Shape, op: string): Tensor {
  return new Tensor(t.storage(op).retain(), [...shape], t.dtype);
}

function formatFloat(v: number): string {
  if (Number.isInteger(v)) return v.toFixed(1);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4).replace(/0+$/, '') : v.toExponential(3);
}

function nest(values: TypedArray, shape: Shape): unknown {
  if (shape.length === 0) return values[0];
  const [head, ...rest] = shape;
  const step = sizeOf(rest);
  return Array.from({ length: head! }, (_, i) => nest(values.subarray(i * step, (i + 1) * step), rest));
}
