import { escapeTidy, Tensor } from '@sibert/tensor';

/**
 * A trainable tensor: float32, `requiresGrad` set, and named. It *is* a Tensor, so ops, optimizers
 * and `assign` take it directly. It takes over the storage of the tensor it is made from (that
 * tensor is disposed) and survives `tidy` scopes, as parameters live as long as their module.
 *
 * `name` is the local name its layer gave it (`weight`, `bias`); `Module.namedParameters()` gives
 * the dotted path under a root module.
 */
export class Parameter extends Tensor {
  constructor(
    value: Tensor,
    readonly name = '',
  ) {
    super(Tensor.takeStorage(value, 'Parameter'), value.shape, value.dtype);
    escapeTidy(this);
    this.requiresGrad = true;
  }
}
