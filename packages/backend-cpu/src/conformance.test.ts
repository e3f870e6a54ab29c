import { registerBackend } from '@sibert/tensor';
import { describeConformance } from '@sibert/tensor/testing';
import { CpuBackend } from './index.js';

// A second CPU instance under another name exercises the mixing-backends errors.
registerBackend('cpu-second', () => Object.create(new CpuBackend(), { name: { value: 'cpu-second' } }), 0);
describeConformance({ backend: 'cpu', otherBackend: 'cpu-second' });
