// Serves the repository over HTTP on 127.0.0.1 with the cross-origin isolation headers (threads), for the demo, the browser tests and the browser bench.
//
//   node examples/web/serve.mjs [--port 8080] [--not-isolated]
//
// Threads in a browser need SharedArrayBuffer, which needs a cross-origin isolated page: the page must be
// served with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`.
// Every response here carries both (and `Cross-Origin-Resource-Policy: same-origin`), unless --not-isolated.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

const contentTypes = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8',
};

export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Starts the server; resolves to { url, close() }. `port` 0 picks a free one. Only files under `root` are
 * served; `/` redirects to `index` (a path under root).
 */
export function startServer({ root = repositoryRoot, port = 0, isolated = true, index = '/examples/web/' } = {}) {
  const server = createServer(async (request, response) => {
    const headers = isolated ? { ...isolationHeaders } : {};
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path === '/') {
      response.writeHead(302, { ...headers, Location: index }).end();
      return;
    }
    let file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
      response.writeHead(403, headers).end('outside the served folder');
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      response.writeHead(200, { ...headers, 'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      response.end(body);
    } catch {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argument = (name) => { const at = process.argv.indexOf(name); return at >= 0 ? process.argv[at + 1] : undefined; };
  const isolated = !process.argv.includes('--not-isolated');
  const { url } = await startServer({ port: Number(argument('--port') ?? 8080), isolated });
  console.log(`wasmtorch demo: ${url}/examples/web/  (${isolated ? 'cross-origin isolated: threads on' : 'not isolated: one thread'}; Ctrl-C stops)`);
}
