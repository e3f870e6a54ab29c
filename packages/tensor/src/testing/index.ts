export { type ConformanceOptions, describeConformance, type Tolerance } from './conformance.js';
