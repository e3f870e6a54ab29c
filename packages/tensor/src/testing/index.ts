export {
  type ConformanceOptions,
  describeConformance,
  expectValuesClose,
  type Tolerance,
} from './conformance.js';
export * as reference from './reference.js';
