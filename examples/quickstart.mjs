// A first run of the engine: a two-layer MLP learns the XOR of quadrants with plain SGD on the CPU.
// Run with `npm start` (it builds the packages first).
import '@sibert/backend-cpu';
import {
  add,
  argmax,
  cast,
  crossEntropy,
  equal,
  manualSeed,
  matmul,
  mean,
  memory,
  mul,
  noGrad,
  relu,
  sub,
  tensor,
  tidy,
  truncatedNormal,
  uniform,
  zeros,
} from '@sibert/tensor';

manualSeed(0);
const samples = 512;
const points = uniform([samples, 2], -1, 1);
// Class 1 where x·y > 0 (quadrants I and III): not linearly separable, so the hidden layer must work.
const xy = points.dataSync();
const labels = tensor(
  Int32Array.from({ length: samples }, (_, i) => (xy[2 * i] * xy[2 * i + 1] > 0 ? 1 : 0)),
  [samples],
  'int32',
);

const params = [
  truncatedNormal([2, 32], 0, 0.5).requireGrad(),
  zeros([32]).requireGrad(),
  truncatedNormal([32, 2], 0, 0.5).requireGrad(),
];
const [w1, b1, w2] = params;
const forward = () => matmul(relu(add(matmul(points, w1), b1)), w2);

const lr = 0.5;
for (let step = 0; step <= 300; step++) {
  const loss = tidy(() => crossEntropy(forward(), labels));
  loss.backward();
  noGrad(() => {
    for (const p of params) {
      const updated = tidy(() => sub(p, mul(p.grad, lr)));
      p.assign(updated);
      updated.dispose();
      p.grad.dispose();
      p.grad = null;
    }
  });
  if (step % 50 === 0) {
    const accuracy = tidy(() => mean(cast(equal(argmax(forward(), -1), labels), 'float32')).item());
    console.log(
      `step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`,
    );
  }
  loss.dispose();
}
const { numTensors, numBytes } = memory();
console.log(
  `live tensors after training: ${numTensors} (${numBytes} bytes): the inputs, labels and parameters`,
);
