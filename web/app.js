// The drawing page: pointer strokes on the pad, the 28x28 input made from them (mnist_input.js),
// and the network's answer from POST /v1/predict, updated while drawing.
(function () {
  'use strict';

  const BRUSH = 20;          // stroke width on the 280 x 280 pad: about MNIST's stroke for a 20 px digit
  const HIDDEN_COLUMNS = 16; // cells per row of the hidden-layer strip

  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d', { willReadFrequently: true });
  const preview = document.getElementById('preview');
  const previewCtx = preview.getContext('2d', { willReadFrequently: true });
  const hidden = document.getElementById('hidden');
  const classText = document.getElementById('class');
  const confidenceText = document.getElementById('confidence');
  const bars = document.getElementById('bars');
  const errorText = document.getElementById('error');

  // What tests (and the curious, from the console) can read: the last input sent, its answer.
  const page = { model: null, input: null, prediction: null };
  window.mlpPage = page;

  let drawable = false;  // the model takes 28x28 pixels
  let labels = [];       // the bars' labels

  function clearPad() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, pad.width, pad.height);
  }

  function buildBars(names) {
    bars.textContent = '';
    labels = names;
    for (const name of names) {
      const row = document.createElement('div');
      row.className = 'row';
      row.style.display = 'contents';
      row.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="value"></span>';
      row.querySelector('.label').textContent = name;
      bars.appendChild(row);
    }
  }

  function showBars(values, best) {
    bars.querySelectorAll('.row').forEach((row, i) => {
      const v = values ? values[i] : 0;
      row.querySelector('.fill').style.width = (100 * v).toFixed(1) + '%';
      row.querySelector('.value').textContent = values ? v.toFixed(3) : '';
      row.classList.toggle('best', values !== null && i === best);
    });
  }

  function showPreview(input) {
    const image = previewCtx.createImageData(28, 28);
    for (let i = 0; i < 784; ++i) {
      const v = input ? input[i] : 0;
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
      image.data[4 * i + 3] = 255;
    }
    previewCtx.putImageData(image, 0, 0);
  }

  // The first hidden layer's activations, one cell each, brighter for larger values.
  function showHidden(layers) {
    const cells = layers && layers.length ? layers[0] : null;
    if (!cells) {
      hidden.getContext('2d').clearRect(0, 0, hidden.width, hidden.height);
      return;
    }
    const columns = Math.min(HIDDEN_COLUMNS, cells.length), rows = Math.ceil(cells.length / columns);
    if (hidden.width !== columns || hidden.height !== rows) {
      hidden.width = columns;
      hidden.height = rows;
      hidden.style.width = columns * 12 + 'px';
      hidden.style.height = rows * 12 + 'px';
    }
    const largest = Math.max(1e-6, ...cells.map(Math.abs));
    const hctx = hidden.getContext('2d');
    const image = hctx.createImageData(columns, rows);
    for (let i = 0; i < columns * rows; ++i) {
      const v = i < cells.length ? cells[i] / largest : 0;
      const [r, g, b] = v >= 0 ? [40 + 215 * v, 40 + 150 * v, 60 - 30 * v] : [40, 40 + 80 * -v, 60 + 195 * -v];
      image.data.set([r, g, b, i < cells.length ? 255 : 0], 4 * i);
    }
    hctx.putImageData(image, 0, 0);
  }

  function showAnswer(prediction) {
    page.prediction = prediction;
    if (!prediction) {
      classText.textContent = '';
      confidenceText.textContent = '';
      showBars(null, -1);
      showHidden(null);
      return;
    }
    if (page.model.task === 'binary') {
      const p = prediction.probability;
      classText.textContent = prediction.class ? 'yes' : 'no';
      confidenceText.textContent = 'P(' + page.model.positive + ') = ' + p.toFixed(3);
      showBars([p], prediction.class ? 0 : -1);
    } else if (page.model.task === 'multiclass') {
      const c = prediction.class;
      classText.textContent = String(c);
      confidenceText.textContent = 'probability ' + prediction.probabilities[c].toFixed(3);
      showBars(prediction.probabilities, c);
    } else {
      classText.textContent = prediction.output.map((v) => v.toFixed(2)).join(' ');
      confidenceText.textContent = '';
    }
    showHidden(prediction.hidden);
  }

  // One request at a time; strokes made meanwhile are sent when it returns, so the answer shown
  // always ends up being the one for the drawing as it is.
  let inFlight = false, dirty = false;
  function setState() {
    document.body.dataset.state = inFlight || dirty ? 'busy' : 'idle';
  }

  async function send() {
    dirty = false;
    const input = MnistInput.toMnist(MnistInput.inkFromRgba(ctx.getImageData(0, 0, pad.width, pad.height).data, pad.width, pad.height), pad.width, pad.height);
    page.input = input;
    showPreview(input);
    if (!input) {
      showAnswer(null);
      setState();
      return;
    }
    inFlight = true;
    setState();
    try {
      const response = await fetch('/v1/predict', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ inputs: [input], hidden: true }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      errorText.textContent = '';
      // A clear while the request was out wins over its late answer.
      if (page.input === input) showAnswer(body.predictions[0]);
    } catch (e) {
      errorText.textContent = 'prediction failed: ' + e.message;
    } finally {
      inFlight = false;
      if (dirty) send(); else setState();
    }
  }

  let frameRequested = false;
  function changed() {
    dirty = true;
    setState();
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      if (!inFlight) send();
    });
  }

  let last = null;
  function point(event) {
    const r = pad.getBoundingClientRect();
    return { x: (event.clientX - r.left) * pad.width / r.width, y: (event.clientY - r.top) * pad.height / r.height };
  }
  function stroke(from, to) {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  }
  pad.addEventListener('pointerdown', (event) => {
    if (!drawable) return;
    pad.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
    changed();
    event.preventDefault();
  });
  pad.addEventListener('pointermove', (event) => {
    if (!last) return;
    const p = point(event);
    stroke(last, p);
    last = p;
    changed();
  });
  const end = () => { last = null; };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  document.getElementById('clear').addEventListener('click', () => {
    clearPad();
    page.input = null;
    showPreview(null);
    showAnswer(null);
    changed();
  });

  async function start() {
    clearPad();
    showPreview(null);
    try {
      const response = await fetch('/v1/model');
      page.model = await response.json();
    } catch (e) {
      document.getElementById('model').textContent = 'could not read the model: ' + e.message;
      return;
    }
    const m = page.model;
    drawable = m.input === 'pixels' && m.inputs === 784;
    document.getElementById('model').textContent = 'model ' + m.architecture + ' (' + m.task + ')' +
        (drawable ? '' : ': it takes ' + m.inputs + ' features, not a 28x28 drawing; use POST /v1/predict');
    if (m.task === 'binary') buildBars(['P']);
    else if (m.task === 'multiclass') buildBars(Array.from({ length: m.layers[m.layers.length - 1].weight[0] }, (_, i) => String(i)));
    else buildBars([]);
    const sizes = m.architecture.split('-');
    document.getElementById('hidden-title').textContent = sizes.length > 2 ? 'Hidden layer (' + sizes[1] + ' units)' : '';
    showAnswer(null);
  }
  start();
})();
