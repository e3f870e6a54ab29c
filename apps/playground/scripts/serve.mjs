#!/usr/bin/env node
// Serves a built playground on localhost, cross-origin isolated (COOP same-origin + COEP
// require-corp), as the CPU backend's shared memory and Web Worker threads need.
// `node scripts/serve.mjs [--port N]` builds dist/ first, then serves it until Ctrl-C.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildPlayground } from './build.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** Serves the files of `dir` on 127.0.0.1:`port` (0: any free port); resolves to its origin and a close(). */
export async function servePlayground(dir, port = 0) {
  const root = normalize(dir) + sep;
  const server = createServer(async (request, response) => {
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--port');
  const port = at >= 0 ? Number(process.argv[at + 1]) : 5173;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: expected a port number, got ${process.argv[at + 1]}`);
    process.exit(2);
  }
  const dir = await buildPlayground({ outDir: fileURLToPath(new URL('../dist', import.meta.url)) });
  const { origin } = await servePlayground(dir, port);
  console.log(`SIBERT playground: ${origin}/ (Ctrl-C to stop)`);
}
