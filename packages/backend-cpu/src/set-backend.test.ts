import { add, setBackend, tensor } from '@sibert/tensor';
import { expect, it } from 'vitest';
import './index.js';

// Its own file: the backend must not have been made before this test runs.
it('tensors created before an un-awaited setBackend resolves sit on the backend it sets', async () => {
  const switching = setBackend('cpu');
  const early = tensor([1, 2]);
  await switching;
  const late = tensor([3, 4]);
  expect(Array.from(await add(early, late).data())).toEqual([4, 6]);
});
