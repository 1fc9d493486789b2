// The drawing page in a real browser (Debian's chromium, headless, driven by puppeteer-core):
// real MNIST test digits drawn on the pad as mouse strokes, the answer shown against
// `mlp predict` on the page's own 28x28 input, "Clear", and no console error.
//
// usage: node tests/serve/browser_test.js --mlp build/mlp --model M --data data/mnist
//            [--screenshots DIR] [--chromium /usr/bin/chromium]
// Exits 0 when every check holds, 1 otherwise, 77 (CTest's skip) without puppeteer-core or chromium.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startServer, readMnistTest, mlpPredict } = require('./serve_util');

function option(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const mlp = option('mlp'), model = option('model'), data = option('data', 'data/mnist');
if (!require('fs').existsSync(model)) {
  console.log('SKIP: no model ' + model + ' (the serve_models test trains it from data/mnist)');
  process.exit(77);
}
const screenshots = option('screenshots', '');
const chromium = option('chromium', '/usr/bin/chromium');

let puppeteer;
try {
  puppeteer = require('puppeteer-core');
} catch (e) {
  console.log('SKIP: puppeteer-core is not installed (cd tests/serve && npm ci)');
  process.exit(77);
}
if (!fs.existsSync(chromium)) {
  console.log('SKIP: no browser at ' + chromium);
  process.exit(77);
}

const failures = [];
function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures.push(what);
}

// The image's ink as strokes: each run of dark pixels in a row is one drag of the mouse along it,
// in pad coordinates (the pad is 28 cells of the MNIST image wide).
async function drawDigit(page, pixels) {
  const box = await page.$eval('#pad', (pad) => { const r = pad.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width }; });
  const cell = box.w / 28;
  for (let y = 0; y < 28; ++y) {
    for (let x = 0; x < 28; ++x) {
      if (pixels[y * 28 + x] < 128) continue;
      let end = x;
      while (end + 1 < 28 && pixels[y * 28 + end + 1] >= 128) ++end;
      const py = box.y + (y + 0.5) * cell;
      await page.mouse.move(box.x + (x + 0.5) * cell, py);
      await page.mouse.down();
      await page.mouse.move(box.x + (end + 0.5) * cell, py, { steps: Math.max(1, end - x) });
      await page.mouse.up();
      x = end;
    }
  }
}

async function idle(page) {
  await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 10000 });
}

async function main() {
  const test = readMnistTest(data);
  // The first test image of each digit.
  const chosen = [];
  for (let digit = 0; digit < 10; ++digit) chosen.push(test.labels.indexOf(digit));

  const server = await startServer(mlp, model, ['--threads', '4']);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlp-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warn') problems.push('console ' + msg.type() + ': ' + msg.text()); });
    page.on('pageerror', (error) => problems.push('page error: ' + error.message));
    page.on('requestfailed', (req) => problems.push('request failed: ' + req.url()));
    page.on('response', (res) => { if (res.status() >= 400) problems.push('HTTP ' + res.status() + ' for ' + res.url()); });
    await page.setViewport({ width: 1000, height: 640 });
    await page.goto(server.url + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.mlpPage && window.mlpPage.model, { timeout: 10000 });
    check(await page.$eval('#class', (e) => e.textContent === ''), 'the page starts with no answer');

    const drawn = [];
    for (const index of chosen) {
      await page.click('#clear');
      await idle(page);
      await drawDigit(page, test.images[index]);
      await idle(page);
      const seen = await page.evaluate(() => ({
        input: window.mlpPage.input,
        prediction: window.mlpPage.prediction,
        shown: document.getElementById('class').textContent,
        bars: Array.from(document.querySelectorAll('#bars .value')).map((e) => e.textContent),
        preview: Array.from(document.getElementById('preview').getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)),
      }));
      drawn.push({ index, label: test.labels[index], ...seen });
      if (screenshots && (test.labels[index] === 3 || test.labels[index] === 7)) {
        fs.mkdirSync(screenshots, { recursive: true });
        await page.screenshot({ path: path.join(screenshots, 'serve-drawn-' + test.labels[index] + '.png') });
      }
    }

    const inputs = drawn.map((d) => d.input);
    check(inputs.every((x) => Array.isArray(x) && x.length === 784), 'every drawing gave a 28x28 input');
    check(drawn.every((d) => d.preview.every((v, i) => v === d.input[i])), 'the 28x28 image shown is the input sent');
    // The page sends one input per request, and a batch of one is what mlp predict is given too:
    // a sample's outputs may differ in the last bits with the width of the batch it is computed in.
    const reference = inputs.map((input) => mlpPredict(mlp, model, [input], os.tmpdir())[0]);
    let right = 0;
    for (let i = 0; i < drawn.length; ++i) {
      const d = drawn[i], r = reference[i];
      const same = d.prediction && d.prediction.class === r.class && String(r.class) === d.shown &&
                   JSON.stringify(d.prediction.probabilities) === JSON.stringify(r.probabilities) &&
                   d.bars.every((text, k) => text === r.probabilities[k].toFixed(3));
      check(same, 'test image ' + d.index + ' (a ' + d.label + ') drawn: the page shows ' + d.shown +
                  ', mlp predict on its 28x28 input says ' + r.class + ' with the same probabilities' +
                  (same ? '' : ' (page: ' + JSON.stringify(d.prediction) + ' bars ' + d.bars.join(' ') + '; mlp predict: ' + JSON.stringify(r) + ')'));
      if (r.class === d.label) ++right;
    }
    console.log(right + ' of ' + drawn.length + ' drawn digits recognized as their label');
    check(right >= 7, 'at least 7 of the 10 drawn digits are recognized (a broken preprocessing gets few)');

    await page.click('#clear');
    await idle(page);
    const cleared = await page.evaluate(() => ({
      input: window.mlpPage.input,
      shown: document.getElementById('class').textContent,
      bars: Array.from(document.querySelectorAll('#bars .fill')).map((e) => e.style.width),
      pad: Array.from(document.getElementById('pad').getContext('2d').getImageData(0, 0, 280, 280).data).some((v, i) => i % 4 !== 3 && v !== 0),
      preview: Array.from(document.getElementById('preview').getContext('2d').getImageData(0, 0, 28, 28).data).some((v, i) => i % 4 !== 3 && v !== 0),
    }));
    check(cleared.input === null && cleared.shown === '' && !cleared.pad && !cleared.preview &&
          cleared.bars.every((w) => w === '0%' || w === '0.0%'), 'Clear empties the pad, the 28x28 image, the answer and the bars');
    check(problems.length === 0, 'no console error, page error or failed request' + (problems.length ? ': ' + problems.join('; ') : ''));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
    const code = await server.stop();
    check(code === 0, 'the server stopped on SIGTERM with status 0 (got ' + code + ')');
  }
}

main().then(() => {
  console.log(failures.length ? failures.length + ' check(s) failed' : 'all checks passed');
  process.exit(failures.length ? 1 : 0);
}, (error) => {
  console.log('FAIL ' + (error.stack || error));
  process.exit(1);
});
