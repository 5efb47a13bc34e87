// Reads a wasm binary's sections and rejects what breaks kernels run from many instances on one shared memory (wasm-notes 3-5).
const sectionNames = { 0: 'custom', 1: 'type', 2: 'import', 3: 'function', 4: 'table', 5: 'memory', 6: 'global', 7: 'export', 8: 'start', 9: 'element', 10: 'code', 11: 'data', 12: 'data count' };

function readUnsigned(bytes, position) {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[position++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, position];
}

function readName(bytes, position) {
  const [length, start] = readUnsigned(bytes, position);
  return [new TextDecoder().decode(bytes.subarray(start, start + length)), start + length];
}

/** Throws when the module has a data segment, a global, a start function or an import other than env.memory. */
export function checkKernelModule(bytes, label) {
  const problems = [];
  let position = 8;
  while (position < bytes.length) {
    const id = bytes[position];
    const [size, contentStart] = readUnsigned(bytes, position + 1);
    const [count] = readUnsigned(bytes, contentStart);
    const name = sectionNames[id] ?? `unknown(${id})`;
    if ((id === 6 || id === 11) && count > 0) problems.push(`a ${name} section with ${count} entries`);
    if (id === 8) problems.push('a start function');
    if (id === 2) {
      let cursor = contentStart;
      [, cursor] = readUnsigned(bytes, cursor);
      for (let i = 0; i < count; i++) {
        let moduleName, fieldName;
        [moduleName, cursor] = readName(bytes, cursor);
        [fieldName, cursor] = readName(bytes, cursor);
        const kind = bytes[cursor++];
        if (kind !== 2 || moduleName !== 'env' || fieldName !== 'memory') problems.push(`an import ${moduleName}.${fieldName} (kind ${kind})`);
        if (kind === 2) { // memory type: flags, initial, [maximum]
          const flags = bytes[cursor++];
          [, cursor] = readUnsigned(bytes, cursor);
          if (flags & 1) [, cursor] = readUnsigned(bytes, cursor);
        } else break;
      }
    }
    position = contentStart + size;
  }
  if (problems.length) {
    throw new Error(`the ${label} kernel module has ${problems.join(', ')}: kernels must carry no static data, globals or imports ` +
      'besides env.memory, since every worker instance re-initialises them in the shared memory (see wasm-notes 3-5)');
  }
}
