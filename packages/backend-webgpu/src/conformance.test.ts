import { registerBackend } from '@sibert/tensor';
import { describeConformance } from '@sibert/tensor/testing';
import { describe, it } from 'vitest';
import { openTestBackend } from './testing.js';

const backend = await openTestBackend();

if (backend) {
  registerBackend('webgpu', () => backend, 0);
  // No otherBackend yet: the suite's mixing test moves a tensor with the synchronous `to()`,
  // which needs readSync, and WebGPU can only read asynchronously.
  describeConformance({ backend: 'webgpu' });
} else {
  describe.skip('conformance: webgpu (no adapter)', () => {
    it('is skipped', () => {});
  });
}
