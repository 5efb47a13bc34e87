// PyTorch's tensor repr (torch/_tensor_str.py) with its default print options, digit for digit.
import type { Tensor } from './tensor.js';
import { toArray } from './ops/read.js';

const precision = 4, threshold = 1000, edgeItems = 3, lineWidth = 80;

/** Python's '{:.Nf}': correctly rounded, ties to even, and -0 keeps its sign. */
function fixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  let text = value.toFixed(digits);
  const longer = value.toFixed(Math.min(100, digits + 40));
  const tail = longer.slice(longer.length - 40);
  if (/^50*$/.test(tail)) {
    // An exact tie: JavaScript rounded away from zero; Python rounds to the even digit.
    const truncated = longer.slice(0, longer.length - 40);
    const lastDigit = Number(truncated[truncated.length - 1]);
    text = lastDigit % 2 === 0 ? (digits === 0 ? truncated.replace(/\.$/, '') : truncated) : text;
  }
  if (Object.is(value, -0) || (value < 0 && !text.startsWith('-'))) text = `-${text}`;
  return text;
}

/** Python's '{:.Ne}': a signed exponent of at least two digits. */
function scientific(value: number, digits: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  const [mantissa, exponent] = value.toExponential(digits).split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  const magnitude = exponent.replace(/^[+-]/, '').padStart(2, '0');
  return `${Object.is(value, -0) ? '-' : ''}${mantissa}e${sign}${magnitude}`;
}

class Formatter {
  readonly floating: boolean;
  intMode = true;
  sciMode = false;
  maxWidth = 1;

  constructor(values: ArrayLike<number>, dtype: Tensor['dtype']) {
    this.floating = dtype === 'float32';
    if (!this.floating) {
      for (let i = 0; i < values.length; i++) this.maxWidth = Math.max(this.maxWidth, this.#plain(values[i], dtype).length);
      return;
    }
    const finiteNonZero: number[] = [];
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]) && values[i] !== 0) finiteNonZero.push(values[i]);
    if (finiteNonZero.length === 0) return;
    let smallest = Infinity, largest = 0;
    for (const value of finiteNonZero) {
      smallest = Math.min(smallest, Math.abs(value));
      largest = Math.max(largest, Math.abs(value));
    }
    this.intMode = finiteNonZero.every((value) => value === Math.ceil(value));
    if (this.intMode) {
      if (largest / smallest > 1000 || largest > 1e8) {
        this.sciMode = true;
        for (const value of finiteNonZero) this.maxWidth = Math.max(this.maxWidth, scientific(value, precision).length);
      } else {
        for (const value of finiteNonZero) this.maxWidth = Math.max(this.maxWidth, fixed(value, 0).length + 1);
      }
    } else if (largest / smallest > 1000 || largest > 1e8 || smallest < 1e-4) {
      this.sciMode = true;
      for (const value of finiteNonZero) this.maxWidth = Math.max(this.maxWidth, scientific(value, precision).length);
    } else {
      for (const value of finiteNonZero) this.maxWidth = Math.max(this.maxWidth, fixed(value, precision).length);
    }
  }

  #plain(value: number, dtype: Tensor['dtype']): string {
    return dtype === 'bool' ? (value ? 'True' : 'False') : String(value);
  }

  format(value: number, dtype: Tensor['dtype']): string {
    let text: string;
    if (!this.floating) text = this.#plain(value, dtype);
    else if (this.sciMode) text = scientific(value, precision);
    else if (this.intMode) text = fixed(value, 0) + (Number.isFinite(value) ? '.' : '');
    else text = fixed(value, precision);
    return text.padStart(this.maxWidth);
  }
}

/** A nested view of the row-major values: enough structure to print without more kernels. */
interface Block {
  shape: readonly number[];
  values: ArrayLike<number>;
  start: number;
}

function sub(block: Block, index: number): Block {
  const inner = block.shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape: block.shape.slice(1), values: block.values, start: block.start + index * inner };
}

function summarizedValues(block: Block): number[] {
  const [first] = block.shape;
  if (block.shape.length === 0) return [block.values[block.start]];
  const indices = first > 2 * edgeItems
    ? [...Array.from({ length: edgeItems }, (_, i) => i), ...Array.from({ length: edgeItems }, (_, i) => first - edgeItems + i)]
    : Array.from({ length: first }, (_, i) => i);
  if (block.shape.length === 1) return indices.map((i) => block.values[block.start + i]);
  return indices.flatMap((i) => summarizedValues(sub(block, i)));
}

function render(block: Block, indent: number, summarize: boolean, formatter: Formatter, dtype: Tensor['dtype']): string {
  const rank = block.shape.length;
  if (rank === 0) return formatter.format(block.values[block.start], dtype);
  const length = block.shape[0];
  const skip = summarize && length > 2 * edgeItems;
  if (rank === 1) {
    const elementLength = formatter.maxWidth + 2;
    const perLine = Math.max(1, Math.floor((lineWidth - indent) / elementLength));
    const formatted = (i: number) => formatter.format(block.values[block.start + i], dtype);
    const data = skip
      ? [...Array.from({ length: edgeItems }, (_, i) => formatted(i)), ' ...', ...Array.from({ length: edgeItems }, (_, i) => formatted(length - edgeItems + i))]
      : Array.from({ length }, (_, i) => formatted(i));
    const lines: string[] = [];
    for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const slices = skip
    ? [...Array.from({ length: edgeItems }, (_, i) => render(sub(block, i), indent + 1, summarize, formatter, dtype)), '...',
      ...Array.from({ length: edgeItems }, (_, i) => render(sub(block, length - edgeItems + i), indent + 1, summarize, formatter, dtype))]
    : Array.from({ length }, (_, i) => render(sub(block, i), indent + 1, summarize, formatter, dtype));
  return `[${slices.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(indent + 1)}`)}]`;
}

function addSuffixes(text: string, suffixes: string[], indent: number): string {
  let lastLineLength = text.length - text.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLength + suffix.length + 2 > lineWidth) {
      text += `,\n${' '.repeat(indent)}${suffix}`;
      lastLineLength = indent + suffix.length;
    } else {
      text += `, ${suffix}`;
      lastLineLength += suffix.length + 2;
    }
  }
  return `${text})`;
}

/** PyTorch's repr; int32 prints as PyTorch prints its default integer dtype (no dtype suffix). */
export function formatTensor(x: Tensor, extraSuffixes: string[] = []): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  let body: string;
  if (x.device !== 'cpu') {
    // Values on a GPU are read asynchronously; the repr says how instead of blocking.
    suffixes.push(`size=(${x.shape.join(', ')}${x.dim() === 1 ? ',' : ''})`, `device='${x.device}'`);
    if (x.dtype !== 'float32') suffixes.push(`dtype=torch.${x.dtype}`);
    body = '<values: await t.data()>';
  } else if (x.numel() === 0) {
    if (x.dim() !== 1) suffixes.push(`size=(${x.shape.join(', ')}${x.dim() === 1 ? ',' : ''})`);
    if (x.dtype !== 'float32') suffixes.push(`dtype=torch.${x.dtype}`);
    body = '[]';
  } else {
    const values = toArray(x);
    const block: Block = { shape: x.shape, values, start: 0 };
    const summarize = x.numel() > threshold;
    const formatter = new Formatter(summarize ? summarizedValues(block) : values, x.dtype);
    body = render(block, indent, summarize, formatter, x.dtype);
  }
  return addSuffixes(prefix + body, [...suffixes, ...extraSuffixes], indent);
}
