// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on float32 rows read from a file.
// usage: node run_ort.js MODEL.onnx INPUT.f32 COLUMNS OUTPUT.f32
// INPUT.f32 holds rows x COLUMNS little-endian float32 values; OUTPUT.f32 gets the model's one
// output, row by row. Prints one JSON line: the input and output names and shapes.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

(async () => {
  const [model, input, columnsText, output] = process.argv.slice(2);
  const columns = Number(columnsText);
  const bytes = fs.readFileSync(input);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const rows = values.length / columns;
  if (!Number.isInteger(rows)) throw new Error(`${input}: ${values.length} floats are not rows of ${columns}`);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1)
    throw new Error(`${model}: expected one input and one output`);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', values, [rows, columns]) };
  const result = (await session.run(feeds))[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
  console.log(JSON.stringify({ input: session.inputNames[0], output: session.outputNames[0], dims: result.dims,
                               type: result.type }));
})().catch((error) => {
  console.error(`run_ort.js: ${error.message}`);
  process.exit(1);
});
