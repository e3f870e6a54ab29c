import { escapeTidy, Tensor } from '@sibert/tensor';

/** The storage a tensor holds (the engine marks `storage()` internal; a Parameter adopts it). */
type Storage = ReturnType<Tensor['storage']>;

function adopt(value: Tensor): Storage {
  const storage = value.storage('Parameter');
  storage.refs++;
  return storage;
}

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
    super(adopt(value), value.shape, value.dtype);
    value.dispose();
    escapeTidy(this);
    this.requiresGrad = true;
  }
}
