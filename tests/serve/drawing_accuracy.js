// The drawing path's accuracy: MNIST test images, enlarged to the 280 x 280 pad as if drawn there
// (bilinear, so the ink is smooth like a stroke), go through the page's own preprocessing
// (web/mnist_input.js) and `mlp predict`; the accuracy is compared with that of the images as
// they are. The two should be close: the preprocessing is the one MNIST was made with.
//
// usage: node tests/serve/drawing_accuracy.js --mlp build/mlp --model M --data data/mnist
//            [--count 1000] [--max-drop 2]
// Prints both accuracies; exits 1 if the drawing path loses more than --max-drop points.
'use strict';
const os = require('os');
const path = require('path');
const { readMnistTest, mlpPredict } = require('./serve_util');
const { toMnist } = require(path.join(__dirname, '..', '..', 'web', 'mnist_input.js'));

function option(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const mlp = option('mlp'), model = option('model'), data = option('data', 'data/mnist');
if (!require('fs').existsSync(model)) {
  console.log('SKIP: no model ' + model + ' (the serve_models test trains it from data/mnist)');
  process.exit(77);
}
const count = Number(option('count', 1000)), maxDrop = Number(option('max-drop', 2));
const PAD = 280;

// The 28x28 image as ink on the pad (0..1), bilinear between pixel centres.
function asDrawn(pixels) {
  const ink = new Float32Array(PAD * PAD);
  const scale = 28 / PAD;
  const at = (x, y) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : pixels[y * 28 + x] / 255);
  for (let py = 0; py < PAD; ++py) {
    const sy = (py + 0.5) * scale - 0.5, y0 = Math.floor(sy), fy = sy - y0;
    for (let px = 0; px < PAD; ++px) {
      const sx = (px + 0.5) * scale - 0.5, x0 = Math.floor(sx), fx = sx - x0;
      ink[py * PAD + px] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
                           fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  }
  return ink;
}

const test = readMnistTest(data);
const n = Math.min(count, test.count);
const plain = [], drawn = [];
for (let i = 0; i < n; ++i) {
  plain.push(Array.from(test.images[i]));
  drawn.push(toMnist(asDrawn(test.images[i]), PAD, PAD));
}
const accuracy = (predictions) => predictions.filter((p, i) => p.class === test.labels[i]).length / n;
const plainAccuracy = accuracy(mlpPredict(mlp, model, plain, os.tmpdir()));
const drawnAccuracy = accuracy(mlpPredict(mlp, model, drawn, os.tmpdir()));
const pct = (a) => (100 * a).toFixed(1) + '%';
console.log(`${n} MNIST test images: plain ${pct(plainAccuracy)}, through the page's preprocessing ${pct(drawnAccuracy)}`);
const ok = plainAccuracy - drawnAccuracy <= maxDrop / 100;
console.log((ok ? 'ok   ' : 'FAIL ') + `the drawing path loses at most ${maxDrop} points`);
process.exit(ok ? 0 : 1);
