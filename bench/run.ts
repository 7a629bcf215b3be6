/**
 * `npm run bench`: load benchmark of the built BFF against a bare Fastify baseline.
 *
 * Starts the built BFF (dist/src/main.js, or BENCH_BFF_ENTRY) and bench/baseline.ts as child
 * processes on loopback, drives every endpoint of bench/endpoints.ts on each in turn with autocannon,
 * then drives the BFF again at half its peak rate to read the latency a not-saturated instance gives.
 *
 * Environment:
 *   BENCH_BFF_ENTRY     the BFF's compiled main.js (default: ../src/main.js beside this file)
 *   BENCH_DURATION      seconds per measured run (default 8)
 *   BENCH_WARMUP        seconds of warm-up before each measured run (default 3)
 *   BENCH_CONNECTIONS   concurrent connections (default 10)
 *   BENCH_ROUNDS        measured runs per endpoint and server, alternating baseline and BFF; the best
 *                       run of each counts, which filters out other load on a shared machine (default 2)
 *   BENCH_ONLY          run only endpoints whose name contains this text
 *   BENCH_JSON          also write the results as JSON to this file
 *   BENCH_STRICT=1      exit 1 when an endpoint misses a target
 *   BENCH_POSTGRES_URL  also run the BFF on this PostgreSQL database (e.g. postgres://…/db?schema=bench)
 *   BENCH_SOAK          requests per memory soak round (default 100000; two rounds)
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { startEmulator } from '../emulator/emulator.js';
import { newMember, registerThroughLaca } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { ENDPOINTS, type BenchEndpoint } from './endpoints.js';
import { makeLocalhostCertificate, startTlsFront } from './tls-front.js';
import { freePort } from '../emulator/testing/free-port.js';
import { HEAP_NODE_OPTIONS } from '../src/config/runtime.js';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const DURATION = numberFromEnv('BENCH_DURATION', 8);
const WARMUP = numberFromEnv('BENCH_WARMUP', 3);
const CONNECTIONS = numberFromEnv('BENCH_CONNECTIONS', 10);
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 2);
/** Requests per soak round (memory check). */
const SOAK = numberFromEnv('BENCH_SOAK', 100_000);
const BFF_ENTRY = process.env.BENCH_BFF_ENTRY ?? join(import.meta.dirname, '../src/main.js');
const BASELINE_ENTRY = join(import.meta.dirname, 'baseline.js');

interface Server {
  label: string;
  url: string;
  child: ChildProcess;
  output: () => string;
}

interface RunResult {
  requestsPerSecond: number;
  /** The server's CPU time (user + system) per response, in µs: steadier than req/s on a shared machine. */
  cpuMicrosPerRequest?: number;
  p50: number;
  p99: number;
  /** Responses with a status other than the endpoint's, plus connection errors and timeouts. */
  failures: number;
  total: number;
}

interface EndpointResult {
  endpoint: string;
  baseline?: RunResult;
  bff: RunResult;
  ratio?: number;
  /** Baseline CPU per request ÷ BFF CPU per request: the throughput ratio a CPU-bound server would show. */
  cpuRatio?: number;
  halfPeak: RunResult & { rate: number };
  verdict: string[];
}

const children = new Set<ChildProcess>();
const tempDir = mkdtempSync(join(tmpdir(), 'bff-bench-'));

function cleanUp(): void {
  for (const child of children) child.kill('SIGTERM');
  rmSync(tempDir, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  cleanUp();
  process.exit(130);
});


/** Starts `node entry` with exactly `env` (plus PATH) and waits until GET /health/live answers 200. */
async function startServer(label: string, entry: string, env: Record<string, string>, fixedPort?: number): Promise<Server> {
  if (!existsSync(entry)) throw new Error(`${label}: ${entry} does not exist; build first (npm run bench builds).`);
  const port = fixedPort ?? (await freePort());
  let output = '';
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  // Keep draining the pipes (a full pipe would stall the server) but remember only the tail.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${url}/health/live`);
      if (res.status === 200) return { label, url, child, output: () => output };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`${label} did not become ready${exited ? ` (exited with ${child.exitCode})` : ''}. Its output:\n${output}`);
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
}

/** Resident set size and its high-water mark, in MiB (Linux /proc; undefined elsewhere). */
function memoryOf(pid: number | undefined): { rss?: number; peak?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) / 1024 : undefined;
    };
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return {};
  }
}

/** CPU seconds (user + system) the process has used (Linux /proc; undefined elsewhere). */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    // Fields after the command name; utime and stime are the 12th and 13th, in clock ticks (100 Hz on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Values filled into endpoint headers at run time (`{{sessionToken}}`), per server. */
const runtimeValues = new Map<Server, Record<string, string>>();

function headersFor(server: Server, endpoint: BenchEndpoint): Record<string, string> | undefined {
  if (!endpoint.headers) return undefined;
  const values = runtimeValues.get(server) ?? {};
  return Object.fromEntries(Object.entries(endpoint.headers).map(([name, value]) => [name, value.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? '')]));
}

/** One request, to check the server answers the endpoint as expected before loading it. */
async function probe(server: Server, endpoint: BenchEndpoint): Promise<unknown> {
  const res = await fetch(`${server.url}${endpoint.path}`, { method: endpoint.method, headers: headersFor(server, endpoint), body: endpoint.body });
  const text = await res.text();
  if (res.status !== endpoint.status) {
    throw new Error(`${server.label} answered ${endpoint.method} ${endpoint.path} with ${res.status}, expected ${endpoint.status}: ${text.slice(0, 300)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function load(server: Server, endpoint: BenchEndpoint, seconds: number, overallRate?: number): Promise<RunResult> {
  const cpuBefore = cpuSecondsOf(server.child.pid);
  const result = await autocannon({
    url: `${server.url}${endpoint.path}`,
    method: endpoint.method,
    headers: headersFor(server, endpoint),
    body: endpoint.body,
    connections: CONNECTIONS,
    duration: seconds,
    pipelining: 1,
    ...(overallRate ? { overallRate } : {}),
  });
  const stats = result.statusCodeStats ?? {};
  let total = 0;
  let expected = 0;
  for (const [status, { count = 0 }] of Object.entries(stats)) {
    total += count;
    if (Number(status) === endpoint.status) expected += count;
  }
  const cpuAfter = cpuSecondsOf(server.child.pid);
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: cpuBefore !== undefined && cpuAfter !== undefined && total > 0 ? ((cpuAfter - cpuBefore) * 1e6) / total : undefined,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: total - expected + result.errors + result.timeouts,
    total,
  };
}

const best = (a: RunResult | undefined, b: RunResult) => (a === undefined || b.requestsPerSecond > a.requestsPerSecond ? b : a);

const fixed = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

const NATIVE_REDIRECT_URI = 'com.example.bench:/oauth/callback';

/** A member registered at the emulator through the BFF's native flow: its bearer session token. */
async function nativeSession(bff: Server): Promise<string> {
  const start = await fetch(`${bff.url}/v1/auth/oidc/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ intent: 'register', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI }),
  });
  const { authorizationUrl, exchangeSecret } = (await start.json()) as { authorizationUrl: string; exchangeSecret: string };
  const landing = await registerThroughLaca(new ScriptedBrowser(), authorizationUrl, newMember('bench'), {
    stopAt: (url) => url.protocol === 'com.example.bench:',
  });
  const code = landing.url.searchParams.get('code');
  if (!code) throw new Error(`the native flow ended without a code at ${landing.url.origin}${landing.url.pathname}`);
  const exchanged = await fetch(`${bff.url}/v1/auth/session/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, exchangeSecret }),
  });
  const { sessionToken } = (await exchanged.json()) as { sessionToken?: string };
  if (!sessionToken) throw new Error(`session exchange answered ${exchanged.status}`);
  return sessionToken;
}

/** Sends `amount` requests to the endpoint and answers the BFF's resident memory afterwards. */
async function soak(server: Server, endpoint: BenchEndpoint, amount: number): Promise<number | undefined> {
  await autocannon({
    url: `${server.url}${endpoint.path}`,
    method: endpoint.method,
    headers: headersFor(server, endpoint),
    body: endpoint.body,
    connections: CONNECTIONS,
    amount,
  });
  return memoryOf(server.child.pid).rss;
}

async function main(): Promise<void> {
  const endpoints = ENDPOINTS.filter((e) => !process.env.BENCH_ONLY || e.name.includes(process.env.BENCH_ONLY));
  // SQLite always; PostgreSQL too when BENCH_POSTGRES_URL is set (a database or schema the run may fill).
  const engines: { name: string; url: string }[] = [{ name: 'sqlite', url: `sqlite:${join(tempDir, 'bench.sqlite')}` }];
  if (process.env.BENCH_POSTGRES_URL) engines.push({ name: 'postgres', url: process.env.BENCH_POSTGRES_URL });

  // The local Mydex emulator, in this process, for the endpoints that need a provider (authorize)
  // and to make a member session; no endpoint under load calls it. Production requires https URLs,
  // so the emulator and each BFF get a TLS front with a throwaway certificate (bench/tls-front.ts);
  // the BFFs trust it through NODE_EXTRA_CA_CERTS, this process (the scripted member's browser, which
  // only ever talks to those fronts) by not checking certificates.
  const certificate = makeLocalhostCertificate(tempDir);
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const bffPorts = await Promise.all(engines.map(() => freePort()));
  const bffFrontPorts = await Promise.all(engines.map(() => freePort()));
  const bffPublicUrls = bffFrontPorts.map((port) => `https://localhost:${port}`);
  const emulatorFrontPort = await freePort();
  const emulator = await startEmulator({
    port: 0,
    publicUrl: `https://localhost:${emulatorFrontPort}`,
    redirectUris: bffPublicUrls.map((url) => `${url}/v1/auth/oidc/callback`),
    postLogoutRedirectUris: bffPublicUrls,
    callbackUrl: `http://127.0.0.1:${bffPorts[0]}/v1/connections/callback`,
    clientId: 'bench',
    clientSecret: randomBytes(24).toString('hex'),
  });
  const fronts = [
    await startTlsFront(emulatorFrontPort, emulator.options.port, certificate),
    ...(await Promise.all(bffFrontPorts.map((port, index) => startTlsFront(port, bffPorts[index]!, certificate)))),
  ];
  const bffEnv = (databaseUrl: string, url: string): Record<string, string> => ({
    NODE_ENV: 'production',
    // As the Dockerfile runs it (src/config/runtime.ts).
    NODE_OPTIONS: HEAP_NODE_OPTIONS,
    NODE_EXTRA_CA_CERTS: certificate.certFile,
    RATE_LIMITS: 'off',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    PUBLIC_BASE_URL: url,
    FRONTEND_ORIGINS: url,
    NATIVE_REDIRECT_URIS: NATIVE_REDIRECT_URI,
    MYDEX_ISSUER: emulator.issuer,
    MYDEX_PDX_URL: emulator.url,
    MYDEX_CLIENT_ID: emulator.options.clientId,
    MYDEX_CLIENT_SECRET: emulator.options.clientSecret,
    // The connection callback entry signs its requests with this NID and token (bench/endpoints.ts).
    MYDEX_CONNECTION_NID: '1',
    MYDEX_CONNECTION_TOKEN: 'bench-connection-token',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  });

  process.stdout.write(
    [
      `Benchmark: autocannon, ${CONNECTIONS} connections, ${DURATION} s per run after ${WARMUP} s of warm-up, best of ${ROUNDS} alternating runs, loopback.`,
      `Machine: Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}); load generator and servers share them.`,
      `BFF: node ${relative(process.cwd(), BFF_ENTRY) || BFF_ENTRY} with NODE_OPTIONS="${HEAP_NODE_OPTIONS}" NODE_ENV=production RATE_LIMITS=off LOG_LEVEL=warn,`,
      '     throwaway secrets, https URLs through a local TLS front (set-up only; the load goes to the BFF\'s http port),',
      `     on ${engines.map((e) => e.name).join(' and ')}${engines.length === 1 ? ' (set BENCH_POSTGRES_URL for PostgreSQL too)' : ''};`,
      '     the local Mydex emulator as provider (no benchmarked endpoint calls it under load).',
      'Baseline: bare Fastify (bench/baseline.ts), the same work by hand (SQLite for the stateful endpoints), no logging.',
      '',
    ].join('\n'),
  );

  const baseline = await startServer('baseline', BASELINE_ENTRY, { BASELINE_SQLITE: join(tempDir, 'baseline.sqlite') });
  runtimeValues.set(baseline, { sessionToken: 'baseline-session-token' });
  const results: (EndpointResult & { engine: string })[] = [];
  const memory: { engine: string; idle?: number; afterRuns?: number; soak1?: number; soak2?: number }[] = [];
  const baselineRuns = new Map<string, RunResult>();
  try {
    for (const [index, engine] of engines.entries()) {
      const bff = await startServer(`BFF (${engine.name})`, BFF_ENTRY, bffEnv(engine.url, bffPublicUrls[index]!), bffPorts[index]);
      runtimeValues.set(bff, { sessionToken: await nativeSession(bff) });
      const mem: (typeof memory)[number] = { engine: engine.name, idle: memoryOf(bff.child.pid).rss };
      try {
        for (const endpoint of endpoints) {
          process.stdout.write(`… ${endpoint.name} (${engine.name})\n`);
          const bffBody = await probe(bff, endpoint);
          const measureBaseline = endpoint.baseline && !baselineRuns.has(endpoint.name);
          if (measureBaseline && endpoint.sameBody !== false && !isDeepStrictEqual(bffBody, await probe(baseline, endpoint))) {
            throw new Error(`The baseline and the BFF answer ${endpoint.name} differently; fix the baseline so they do the same work.`);
          }
          if (measureBaseline) await load(baseline, endpoint, WARMUP);
          await load(bff, endpoint, WARMUP);
          let baselineRun = baselineRuns.get(endpoint.name);
          let bffRun: RunResult | undefined;
          for (let round = 0; round < ROUNDS; round++) {
            if (measureBaseline) baselineRun = best(round === 0 ? undefined : baselineRun, await load(baseline, endpoint, DURATION));
            bffRun = best(bffRun, await load(bff, endpoint, DURATION));
          }
          if (!bffRun) throw new Error('BENCH_ROUNDS must be at least 1');
          if (baselineRun) baselineRuns.set(endpoint.name, baselineRun);
          const rate = Math.max(1, Math.round(bffRun.requestsPerSecond / 2));
          const halfPeak = { ...(await load(bff, endpoint, DURATION, rate)), rate };
          const ratio = baselineRun ? bffRun.requestsPerSecond / baselineRun.requestsPerSecond : undefined;
          const cpuRatio = baselineRun?.cpuMicrosPerRequest && bffRun.cpuMicrosPerRequest ? baselineRun.cpuMicrosPerRequest / bffRun.cpuMicrosPerRequest : undefined;
          const verdict: string[] = [];
          const { minRatio, maxP99AtHalfPeakMs } = endpoint.targets ?? {};
          if (minRatio !== undefined && ratio !== undefined && engine.name === 'sqlite') verdict.push(`${ratio >= minRatio ? 'ok' : 'MISSED'} ratio ≥ ${minRatio}`);
          if (maxP99AtHalfPeakMs !== undefined) verdict.push(`${halfPeak.p99 < maxP99AtHalfPeakMs ? 'ok' : 'MISSED'} p99 < ${maxP99AtHalfPeakMs} ms`);
          if (bffRun.failures + halfPeak.failures + (measureBaseline ? (baselineRun?.failures ?? 0) : 0) > 0) verdict.push('MISSED: unexpected statuses or errors');
          results.push({ engine: engine.name, endpoint: endpoint.name, baseline: baselineRun, bff: bffRun, ratio, cpuRatio, halfPeak, verdict });
        }
        mem.afterRuns = memoryOf(bff.child.pid).rss;
        // Memory under sustained load: two rounds of SOAK requests over every endpoint; the second round
        // must not grow the process much beyond the first (no leak), and both stay under 200 MiB.
        const perEndpoint = Math.ceil(SOAK / Math.max(1, endpoints.length));
        for (const endpoint of endpoints) await soak(bff, endpoint, perEndpoint);
        mem.soak1 = memoryOf(bff.child.pid).rss;
        for (const endpoint of endpoints) await soak(bff, endpoint, perEndpoint);
        mem.soak2 = memoryOf(bff.child.pid).rss;
      } finally {
        memory.push(mem);
        await stopServer(bff);
      }
    }
  } finally {
    await stopServer(baseline);
    await Promise.all(fronts.map((front) => front.close()));
    await emulator.close();
  }

  const percent = (value: number | undefined) => (value === undefined ? '—' : `${(value * 100).toFixed(0)}%`);
  const rows: string[][] = [];
  const shownBaselines = new Set<string>();
  for (const r of results) {
    if (r.baseline && !shownBaselines.has(r.endpoint)) {
      shownBaselines.add(r.endpoint);
      rows.push([r.endpoint, 'baseline', fixed(r.baseline.requestsPerSecond), fixed(r.baseline.p50, 1), fixed(r.baseline.p99, 1), fixed(r.baseline.cpuMicrosPerRequest), '', '']);
    }
    rows.push([r.endpoint, `BFF ${r.engine}`, fixed(r.bff.requestsPerSecond), fixed(r.bff.p50, 1), fixed(r.bff.p99, 1), fixed(r.bff.cpuMicrosPerRequest), percent(r.ratio), percent(r.cpuRatio)]);
  }
  rows.sort((a, b) => (a[0] === b[0] ? 0 : results.findIndex((r) => r.endpoint === a[0]) - results.findIndex((r) => r.endpoint === b[0])));
  process.stdout.write(
    `\nPeak throughput (${CONNECTIONS} connections)\n` +
      `${table(['endpoint', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'of baseline req/s', 'of baseline by CPU'], rows)}\n`,
  );

  const halfRows = results.map((r) => [r.endpoint, r.engine, String(r.halfPeak.rate), fixed(r.halfPeak.requestsPerSecond), fixed(r.halfPeak.p50, 1), fixed(r.halfPeak.p99, 1), r.verdict.join('; ') || '—']);
  process.stdout.write(`\nBFF at half its peak rate (autocannon overallRate)\n${table(['endpoint', 'database', 'rate', 'req/s', 'p50 ms', 'p99 ms', 'targets'], halfRows)}\n`);

  const memoryVerdicts: string[] = [];
  const memRows = memory.map((m) => {
    const growth = m.soak1 && m.soak2 ? (m.soak2 - m.soak1) / m.soak1 : undefined;
    const ok = m.soak2 !== undefined && m.soak2 < 200 && growth !== undefined && growth < 0.1;
    memoryVerdicts.push(ok ? 'ok' : 'MISSED');
    return [m.engine, fixed(m.idle), fixed(m.afterRuns), fixed(m.soak1), fixed(m.soak2), growth === undefined ? '—' : `${(growth * 100).toFixed(1)}%`, ok ? 'ok < 200 MiB and flat' : 'MISSED < 200 MiB and flat (< 10% growth)'];
  });
  process.stdout.write(
    `\nBFF resident memory, MiB (two soak rounds of ${SOAK.toLocaleString('en')} requests each across the endpoints)\n` +
      `${table(['database', 'idle', 'after the runs', 'after round 1', 'after round 2', 'growth', 'target'], memRows)}\n`,
  );

  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ duration: DURATION, connections: CONNECTIONS, node: process.version, memory, results }, null, 2)}\n`);
  }
  const missed = results.some((r) => r.verdict.some((v) => v.includes('MISSED'))) || memoryVerdicts.includes('MISSED');
  if (missed) process.stdout.write('\nSome targets were missed (see "targets").\n');
  cleanUp();
  if (missed && process.env.BENCH_STRICT === '1') process.exit(1);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  cleanUp();
  process.exit(2);
});
