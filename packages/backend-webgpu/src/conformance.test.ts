import { registerBackend } from '@sibert/tensor';
import { describeConformance } from '@sibert/tensor/testing';
import { describe, it } from 'vitest';
import { openTestBackend } from './testing.js';

const backend = await openTestBackend();

if (backend) {
  registerBackend('webgpu', () => backend, 0);
  // The same device under a second name exercises the engine's mixing-backends errors.
  registerBackend('webgpu-second', () => Object.create(backend, { name: { value: 'webgpu-second' } }), 0);
  describeConformance({ backend: 'webgpu', otherBackend: 'webgpu-second' });
} else {
  describe.skip('conformance: webgpu (no adapter)', () => {
    it('is skipped', () => {});
  });
}
