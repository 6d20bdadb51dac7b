#!/usr/bin/env node
// Minimal WASI preview1 runner on Node's built-in `node:wasi`, used as the
// HOSTRUNNER of the CPython wasm32-wasip1 cross build (tools/cpython.sh) and
// to smoke-test python.wasm. It is a build tool, not a sandbox: by default the
// guest sees the whole host file system (guest "/" is host "/"), so absolute
// paths mean the same thing on both sides.
//
// Usage:
//   node node-wasi-run.mjs [options] [--] MODULE.wasm [GUEST_ARGS...]
// Options:
//   --dir HOST[::GUEST]   preopen HOST as GUEST (GUEST defaults to HOST);
//                         may repeat. Without any --dir: "/" -> "/".
//   --env NAME=VALUE      set a guest environment variable; may repeat.
//   --inherit-env         start from the host environment (default: empty).
//   --argv0 NAME          argv[0] seen by the guest (default: MODULE path,
//                         made absolute).
//   --stack-mb N          native stack (MiB) of the thread running the
//                         guest (default 64); deep C recursion in the guest
//                         needs more than Node's default ~1 MiB.
// The guest's exit status becomes this process's exit status.
//
// wasi-libc starts every guest with the current directory "/", so relative
// paths given to the guest are resolved against the guest root, not against
// the host's working directory: pass absolute paths.

import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';

function usage(msg) {
  process.stderr.write(`node-wasi-run: ${msg}\n` +
    'usage: node-wasi-run.mjs [--dir HOST[::GUEST]]... [--env K=V]... ' +
    '[--inherit-env] [--argv0 NAME] [--stack-mb N] [--] MODULE.wasm [ARGS...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { preopens: {}, env: {}, inheritEnv: false, argv0: null, stackMb: 64 };
  let haveDir = false;
  let i = 0;
  const need = (name) => {
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (!a.startsWith('--')) break;
    if (a === '--dir') {
      const spec = need(a);
      const sep = spec.indexOf('::');
      const host = sep < 0 ? spec : spec.slice(0, sep);
      const guest = sep < 0 ? spec : spec.slice(sep + 2);
      if (!host || !guest) usage(`bad --dir ${spec}`);
      opts.preopens[guest] = path.resolve(host);
      haveDir = true;
    } else if (a === '--env') {
      const kv = need(a);
      const eq = kv.indexOf('=');
      if (eq <= 0) usage(`bad --env ${kv}`);
      opts.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === '--inherit-env') {
      opts.inheritEnv = true;
    } else if (a === '--argv0') {
      opts.argv0 = need(a);
    } else if (a === '--stack-mb') {
      opts.stackMb = Number(need(a));
      if (!(opts.stackMb > 0)) usage('bad --stack-mb');
    } else {
      usage(`unknown option ${a}`);
    }
  }
  if (i >= argv.length) usage('missing MODULE.wasm');
  opts.module = path.resolve(argv[i]);
  opts.args = argv.slice(i + 1);
  if (!haveDir) opts.preopens['/'] = '/';
  return opts;
}

async function runGuest(opts) {
  // node:wasi prints an ExperimentalWarning when constructed; keep the
  // guest's stderr clean but let every other warning through.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
  });
  const { WASI } = await import('node:wasi');
  const env = opts.inheritEnv ? { ...process.env, ...opts.env } : { ...opts.env };
  const wasi = new WASI({
    version: 'preview1',
    args: [opts.argv0 ?? opts.module, ...opts.args],
    env,
    preopens: opts.preopens,
    returnOnExit: true,
  });
  const module = await WebAssembly.compile(await readFile(opts.module));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  return wasi.start(instance);
}

if (isMainThread) {
  const opts = parseArgs(process.argv.slice(2));
  // Run the guest on a worker thread: its stack size is configurable, unlike
  // the main thread's, which is capped by the process's stack rlimit.
  const worker = new Worker(new URL(import.meta.url), {
    workerData: opts,
    stdin: false, stdout: false, stderr: false,
    resourceLimits: { stackSizeMb: opts.stackMb },
  });
  let code = null;
  worker.on('message', (m) => { code = m; });
  worker.on('error', (e) => {
    process.stderr.write(`node-wasi-run: ${e && e.stack ? e.stack : e}\n`);
    code = 134;
  });
  worker.on('exit', () => { process.exit(code ?? 134); });
} else {
  // The guest writes to fds 0-2 with synchronous file-system calls, so its
  // output reaches the real descriptors directly, not the worker's streams.
  const code = await runGuest(workerData);
  parentPort.postMessage(code);
}
