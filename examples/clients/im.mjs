// A tiny client of the course's IM key-value server (PROTOCOLS.md section 1), like the course's
// im.py: one HTTP GET per operation, a new connection each time. Every body ends with one extra
// newline; `get` returns the body as it is, so callers strip it as the seed clients do.
//
// No dependencies beyond node; plain ESM so students can read and run it as it is.
import http from 'node:http';

/** Percent-encodes as the course's clients do: like encodeURIComponent, `/` left as it is. */
function encode(text) {
  return encodeURIComponent(text).replaceAll('%2F', '/');
}

/**
 * Returns { get, set, unset, clear, keys, request }. `timeoutMs` (optional) bounds each request;
 * without it a request waits for ever, as the seed clients do.
 */
export function imServer(url, { timeoutMs } = {}) {
  function request(params) {
    const query = Object.entries(params)
      .map(([k, v]) => `${k}=${encode(v)}`)
      .join('&');
    const full = `${url}${url.includes('?') ? '&' : '?'}${query}`;
    return new Promise((resolve, reject) => {
      const req = http.get(full, { agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`HTTP Error ${res.statusCode}: ${res.statusMessage ?? ''}`.trim()));
          else resolve(body);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    });
  }
  return {
    request,
    get: (key) => request({ action: 'get', key }),
    set: (key, value) => request({ action: 'set', key, value }),
    unset: (key) => request({ action: 'unset', key }),
    clear: () => request({ action: 'clear' }),
    /** the key list (the body is each key plus a newline, then one more newline) */
    keys: async () => (await request({ action: 'keys' })).split('\n').filter((k) => k !== ''),
  };
}

/** The body without the server's one extra trailing newline. */
export function stripNewline(body) {
  return body.endsWith('\n') ? body.slice(0, -1) : body;
}

/**
 * Lines typed on stdin, one per `next()` (null at end of input). Lines typed while nobody asks are
 * kept, as a terminal keeps them for the next `input()`. `cancel()` withdraws a pending `next()`.
 */
export function stdinLines() {
  const queue = [];
  let waiter = null;
  let ended = false;
  let partial = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    partial += chunk;
    let i;
    while ((i = partial.search(/\r?\n/)) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(partial[i] === '\r' ? i + 2 : i + 1);
      push(line);
    }
  });
  process.stdin.on('end', () => {
    if (partial !== '') push(partial);
    partial = '';
    ended = true;
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(null);
    }
  });
  function push(line) {
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(line);
    } else queue.push(line);
  }
  return {
    next() {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      if (ended) return Promise.resolve(null);
      return new Promise((resolve) => (waiter = resolve));
    },
    cancel() {
      waiter = null;
    },
  };
}

/** `--name value` options after the URL; numbers only. */
export function parseArgs(argv, defaults, usage) {
  const url = argv[0];
  if (url === undefined || url.startsWith('--')) {
    console.error(usage);
    process.exit(2);
  }
  const opts = { ...defaults };
  for (let i = 1; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const value = Number(argv[i + 1]);
    if (!(name in defaults) || !Number.isFinite(value) || value < 0) {
      console.error(`bad option ${argv[i]} ${argv[i + 1] ?? ''}\n${usage}`);
      process.exit(2);
    }
    opts[name] = value;
  }
  return { url, ...opts };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
