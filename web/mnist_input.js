// A drawing turned into a 28x28 MNIST-like input, the way MNIST's digits were made: the ink's
// bounding box scaled so that its longer side is 20 px (aspect kept, anti-aliased by area), then
// placed in 28x28 with its centre of mass at the centre. Plain functions: the page uses them, and
// node runs the same file to measure the drawing path's accuracy.
(function (root) {
  'use strict';

  const SIDE = 28;   // the network's input is SIDE x SIDE
  const BOX = 20;    // the longer side of the ink's box, in pixels of the input

  // The smallest box holding every value above `floor`: {left, top, right, bottom} (right and
  // bottom exclusive), or null for a blank drawing.
  function inkBox(ink, width, height, floor) {
    let left = width, top = height, right = -1, bottom = -1;
    for (let y = 0; y < height; ++y) {
      for (let x = 0; x < width; ++x) {
        if (ink[y * width + x] > floor) {
          if (x < left) left = x;
          if (x > right) right = x;
          if (y < top) top = y;
          if (y > bottom) bottom = y;
        }
      }
    }
    return right < 0 ? null : { left, top, right: right + 1, bottom: bottom + 1 };
  }

  // Area-weighted resampling of the box of `ink` to outWidth x outHeight: each output pixel is the
  // mean of the source area it covers, fractional edge pixels weighted by how much they cover.
  function resample(ink, width, box, outWidth, outHeight) {
    const boxWidth = box.right - box.left, boxHeight = box.bottom - box.top;
    const sx = boxWidth / outWidth, sy = boxHeight / outHeight;
    const out = new Float64Array(outWidth * outHeight);
    for (let oy = 0; oy < outHeight; ++oy) {
      const y0 = oy * sy, y1 = y0 + sy;
      for (let ox = 0; ox < outWidth; ++ox) {
        const x0 = ox * sx, x1 = x0 + sx;
        let sum = 0;
        for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), boxHeight); ++y) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          const row = (box.top + y) * width + box.left;
          for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), boxWidth); ++x) {
            const wx = Math.min(x + 1, x1) - Math.max(x, x0);
            sum += wx * wy * ink[row + x];
          }
        }
        out[oy * outWidth + ox] = sum / (sx * sy);
      }
    }
    return out;
  }

  // `ink`: width x height values in 0..1, row by row (0 is paper). Returns the 784 pixels 0..255
  // (integers, as in the MNIST files) the network is given, or null when nothing is drawn.
  function toMnist(ink, width, height) {
    const box = inkBox(ink, width, height, 0.02);
    if (!box) return null;
    const boxWidth = box.right - box.left, boxHeight = box.bottom - box.top;
    const scale = BOX / Math.max(boxWidth, boxHeight);
    const outWidth = Math.max(1, Math.round(boxWidth * scale));
    const outHeight = Math.max(1, Math.round(boxHeight * scale));
    const small = resample(ink, width, box, outWidth, outHeight);

    // Centre of mass moved by whole pixels (MNIST's digits are not resampled a second time) to
    // pixel (14, 14), counting from 0: where it lies in MNIST's own images (the mean over 1,000 test
    // images is 14.00, 14.00), not the field's geometric centre 13.5.
    let mass = 0, mx = 0, my = 0;
    for (let y = 0; y < outHeight; ++y) {
      for (let x = 0; x < outWidth; ++x) {
        const v = small[y * outWidth + x];
        mass += v; mx += v * x; my += v * y;
      }
    }
    if (!(mass > 0)) return null;
    const dx = Math.round(SIDE / 2 - mx / mass), dy = Math.round(SIDE / 2 - my / mass);  // SIDE / 2 = 14

    const pixels = new Array(SIDE * SIDE).fill(0);
    for (let y = 0; y < outHeight; ++y) {
      const ty = y + dy;
      if (ty < 0 || ty >= SIDE) continue;
      for (let x = 0; x < outWidth; ++x) {
        const tx = x + dx;
        if (tx < 0 || tx >= SIDE) continue;
        pixels[ty * SIDE + tx] = Math.max(0, Math.min(255, Math.round(small[y * outWidth + x] * 255)));
      }
    }
    return pixels;
  }

  // The ink of canvas pixels (RGBA, white strokes on black): the red channel scaled to 0..1.
  function inkFromRgba(rgba, width, height) {
    const ink = new Float32Array(width * height);
    for (let i = 0; i < width * height; ++i) ink[i] = rgba[4 * i] / 255;
    return ink;
  }

  const api = { SIDE, BOX, toMnist, inkFromRgba, inkBox };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.MnistInput = api;
})(this);
