// The demo page: starts the model worker, shows what the backend uses, trains on request and draws the loss live.
import { proxy, wrap } from '../../dist/worker.browser.js';

const element = (id) => document.getElementById(id);
const status = element('status');
const setStatus = (state, text) => { status.dataset.state = state; status.textContent = text; };

const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('error', (event) => setStatus('error', `worker failed: ${event.message ?? 'see the console'}`));
const model = wrap(worker);

/** Everything the chart and the readouts need; written by the step callback, drawn once per frame. */
const run = { losses: [], stepTimes: [], drawnSteps: -1 };

function median(values) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function drawChart() {
  const canvas = element('chart');
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  const margin = { left: 70, right: 16, top: 16, bottom: 30 };
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
}

function render() {
  if (run.drawnSteps !== run.losses.length) {
    run.drawnSteps = run.losses.length;
    const last = run.losses.length - 1;
    element('step').textContent = last >= 0 ? String(last + 1) : '–';
    element('loss').textContent = last >= 0 ? run.losses[last].toExponential(4) : '–';
    const recent = run.stepTimes.slice(-50);
    element('step-time').textContent = recent.length ? `${median(recent).toFixed(2)} ms (median of the last ${recent.length})` : '–';
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

async function train() {
  element('train').disabled = true;
  element('stop').disabled = false;
  run.losses = [];
  run.stepTimes = [];
  run.drawnSteps = -1;
  const steps = Math.max(1, Math.min(5000, Number(element('steps').value) || 500));
  setStatus('training', 'training in the worker…');
  try {
    const result = await model.trainLecture({ steps }, proxy((step, loss, milliseconds) => {
      run.losses[step] = loss;
      run.stepTimes.push(milliseconds);
    }));
    // Callbacks are not awaited by the worker: take the complete record from the result.
    run.losses = result.losses;
    run.drawnSteps = -1;
    setStatus('done', `done: ${result.losses.length} steps, loss ${result.losses[0].toExponential(3)} → ${result.losses.at(-1).toExponential(3)}; ` +
      `${result.memory.tensors} tensors left in the worker`);
  } catch (error) {
    setStatus('error', `training failed: ${error.message}`);
  } finally {
    element('train').disabled = false;
    element('stop').disabled = true;
  }
}

// ?steps=N presets the step count, ?autostart trains at once (the end-to-end test uses both).
const parameters = new URLSearchParams(location.search);
if (parameters.has('steps')) element('steps').value = parameters.get('steps');

element('train').addEventListener('click', () => { void train(); });
element('stop').addEventListener('click', () => { void model.stop(); });
requestAnimationFrame(render);
showBackend().then(() => {
  setStatus('ready', 'ready');
  element('train').disabled = false;
  if (parameters.has('autostart')) void train();
}, (error) => setStatus('error', `wasmtorch failed to start: ${error.message}`));
