/** Base of every error the engine throws; `op` names the operation that refused. */
export class SibertError extends Error {
  constructor(
    message: string,
    readonly op?: string,
  ) {
    super(op ? `${op}: ${message}` : message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (both shapes are in the message). */
export class ShapeError extends SibertError {}
/** A dtype the op does not accept. */
export class DTypeError extends SibertError {}
/** A backend problem: unknown or missing backend, a kernel it lacks, tensors on different backends, device errors. */
export class BackendError extends SibertError {}
/** Use of a tensor after `dispose()`. */
export class DisposedError extends SibertError {}
/** An argument out of its allowed range (axes, indices, probabilities, …). */
export class RangeArgumentError extends SibertError {}
/** Autograd misuse: backward through a released graph, gradients of non-float tensors, … */
export class GradientError extends SibertError {}
