export type DType = 'float32' | 'int32';
export type TypedArray = Float32Array | Int32Array;

export function bytesPerElement(_dtype: DType): number {
  return 4; // both dtypes are 32-bit; float16 will change this
}

export function allocArray(dtype: DType, size: number): TypedArray {
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}

export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'int32';
}
