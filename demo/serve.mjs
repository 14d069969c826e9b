// The live demo's web server: serves demo/ at / and the built npm package (npm/dist) at
// /npm/dist/, on 127.0.0.1 (a fixed port: $PORT, default 8080), with the headers that make
// the page cross-origin isolated. Runs until stopped (Ctrl-C).
//
//   node demo/serve.mjs [--port N] [--dist DIR]   (scripts/demo.sh builds npm/dist first)
//
// --dist (or $AIC_DIST) serves another build of the package (default npm/dist).
// `startDemoServer` is exported for the end-to-end test (tests/browser/demo.test.mjs), which
// passes port 0 (any free port).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function fileFor(mounts, pathname) {
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const base = resolve(dir);
    const file = normalize(join(base, pathname.slice(prefix.length)));
    if (file !== base && !file.startsWith(base + sep)) return null;
    return file;
  }
  return null;
}

/**
 * Serves the demo on 127.0.0.1:`port` (0: any free port) with the package from `dist`;
 * resolves to { url, close }.
 */
export async function startDemoServer(port = 8080, { dist = process.env.AIC_DIST || join(ROOT, 'npm/dist') } = {}) {
  // URL prefix → directory. Nothing else of the repository is served.
  const mounts = [
    ['/npm/dist/', resolve(dist)],
    ['/', join(ROOT, 'demo')],
  ];
  const server = createServer(async (req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = fileFor(mounts, pathname);
    if (!file || file.endsWith('.mjs')) {
      // The server script itself is not served.
      res.writeHead(404).end('not found');
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(
        pathname.startsWith('/npm/dist/')
          ? 'not found: build the package first (cd npm && npm run build, or bash scripts/demo.sh)'
          : 'not found',
      );
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const port = Number(arg('--port') ?? process.env.PORT ?? 8080);
  const dist = arg('--dist');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`demo/serve.mjs: bad port ${port}`);
    process.exit(2);
  }
  try {
    const { url } = await startDemoServer(port, dist ? { dist } : {});
    console.log(`AIC live demo: ${url}  (Ctrl-C stops it)`);
  } catch (e) {
    console.error(`demo/serve.mjs: cannot listen on 127.0.0.1:${port}: ${e.message}`);
    process.exit(1);
  }
}
