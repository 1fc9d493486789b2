// Helpers of the node-side serve tests: start and stop `mlp serve`, read MNIST IDX files, run
// `mlp predict --json`.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

// Starts `mlp serve` on a free port (--port 0) and resolves to {port, url, stop()} once it prints
// where it listens. The server is killed when this process exits, whatever the test did.
function startServer(mlp, model, extra = []) {
  const child = spawn(mlp, ['serve', '--model', model, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const killer = () => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.on('exit', killer);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('mlp serve printed no address within 10 s: ' + out)), 10000);
    child.on('exit', (code) => reject(new Error('mlp serve exited with ' + code + ': ' + out)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/([^:]+):(\d+)\//);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[2]);
      resolve({
        port,
        url: 'http://127.0.0.1:' + port,
        pid: child.pid,
        // SIGTERM, then the exit status (null if it had to be killed after 10 s).
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done(child.exitCode);
          const hard = setTimeout(() => { child.kill('SIGKILL'); }, 10000);
          child.removeAllListeners('exit');
          child.on('exit', (code) => { clearTimeout(hard); done(code); });
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

function readFileMaybeGz(file) {
  if (fs.existsSync(file)) return fs.readFileSync(file);
  if (fs.existsSync(file + '.gz')) return zlib.gunzipSync(fs.readFileSync(file + '.gz'));
  throw new Error(file + ': no such file (nor .gz)');
}

// The MNIST test split of `folder`: {count, images: [Uint8Array(784)], labels: [int]}.
function readMnistTest(folder) {
  const images = readFileMaybeGz(path.join(folder, 't10k-images-idx3-ubyte'));
  const labels = readFileMaybeGz(path.join(folder, 't10k-labels-idx1-ubyte'));
  if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) throw new Error(folder + ': not MNIST IDX files');
  const count = images.readUInt32BE(4), rows = images.readUInt32BE(8), cols = images.readUInt32BE(12);
  if (rows !== 28 || cols !== 28) throw new Error(folder + ': images are not 28x28');
  const out = { count, images: [], labels: [] };
  for (let i = 0; i < count; ++i) {
    out.images.push(images.subarray(16 + i * 784, 16 + (i + 1) * 784));
    out.labels.push(labels[8 + i]);
  }
  return out;
}

// `mlp predict --json` on the given 784-pixel rows (written as an unlabelled CSV file in `dir`).
function mlpPredict(mlp, model, rows, dir) {
  const file = path.join(dir, 'inputs-' + process.pid + '-' + Date.now() + '.csv');
  fs.writeFileSync(file, rows.map((r) => Array.from(r).join(',')).join('\n') + '\n');
  try {
    const out = execFileSync(mlp, ['predict', '--json', '--model', model, '--input', file], { maxBuffer: 1 << 28 });
    return JSON.parse(out).predictions;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

module.exports = { startServer, readMnistTest, mlpPredict };
