/**
 * `npm run bench`: load benchmark of the built BFF against a bare Fastify baseline and a bare Nest floor.
 *
 * Starts the built BFF (dist/src/main.js, or BENCH_BFF_ENTRY) as users run it (NODE_ENV=production,
 * request logs at `info` to stdout, which goes to /dev/null), bench/baseline.ts (bare Fastify, the same
 * work by hand) and bench/floor.ts (bare Nest with only the validation routes) as child processes on
 * loopback; drives every endpoint of bench/endpoints.ts on each in turn with autocannon, alternating
 * the servers; then drives the BFF at half its peak rate for the latency a not-saturated instance
 * gives. On the first database the BFF also runs at `warn`, side by side, for the cost of the request
 * log. SQLite always; PostgreSQL too when BENCH_POSTGRES_URL is set or a local server answers.
 *
 * Environment (docs/benchmark.md has the table):
 *   BENCH_BFF_ENTRY        the BFF's compiled main.js (default: ../src/main.js beside this file)
 *   BENCH_DURATION         seconds per measured run (default 5)
 *   BENCH_WARMUP           seconds of warm-up per server and endpoint (default 2)
 *   BENCH_CONNECTIONS      concurrent connections (default 32)
 *   BENCH_ROUNDS           measured runs per endpoint and server, alternating; the median counts (default 3)
 *   BENCH_ONLY             only endpoints whose name contains this text
 *   BENCH_JSON             also write the results as JSON to this file
 *   BENCH_STRICT=1         exit 1 when a target is missed
 *   BENCH_POSTGRES_URL     the PostgreSQL database for the second run (default: a fresh schema on
 *                          postgres://postgres@127.0.0.1:5432/test when it answers; BENCH_POSTGRES=off: none)
 *   BENCH_WARN=0           skip the side-by-side run at LOG_LEVEL=warn
 *   BENCH_ROWS             rows of each seeded table for the normal round (default 1000)
 *   BENCH_LARGE=1          add the large-data round and the purge under load (sizes below)
 *   BENCH_LARGE_SESSIONS, BENCH_LARGE_CONNECTIONS, BENCH_LARGE_EVENTS, BENCH_PURGE_ROWS
 *                          (defaults 1,000,000, 1,000,000, 5,000,000 and 1,000,000)
 *   BENCH_SOAK             requests per memory soak round (default 100000; two rounds)
 *   BENCH_BFF_STDOUT       a file for the BFF's stdout (default /dev/null)
 *   BENCH_CPU_PROF         a folder: CPU profiles of the BFF at info (bench/cpu-profile.ts)
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { startEmulator } from '../emulator/emulator.js';
import { newMember, registerThroughLaca } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { freePort } from '../emulator/testing/free-port.js';
import { HEAP_NODE_OPTIONS } from '../src/config/runtime.js';
import { ENDPOINTS, MAX_P99_DURING_PURGE_MS, MIN_INFO_OF_WARN, MIN_LARGE_OF_SMALL, type BenchEndpoint } from './endpoints.js';
import { anyPurgeableSession, openDatabase, purgeableSessions, seed, SEEDED_TABLES, type SeededTable } from './seed.js';
import { makeLocalhostCertificate, startTlsFront } from './tls-front.js';

const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const DURATION = numberFromEnv('BENCH_DURATION', 5);
const WARMUP = numberFromEnv('BENCH_WARMUP', 2);
const CONNECTIONS = numberFromEnv('BENCH_CONNECTIONS', 32);
const ROUNDS = numberFromEnv('BENCH_ROUNDS', 3);
/** Requests per soak round (memory check). */
const SOAK = numberFromEnv('BENCH_SOAK', 100_000);
/** Rows of each seeded table in the normal round: the "1,000 rows" the large round is compared with. */
const ROWS = numberFromEnv('BENCH_ROWS', 1000);
const LARGE = process.env.BENCH_LARGE === '1';
const LARGE_SESSIONS = numberFromEnv('BENCH_LARGE_SESSIONS', 1_000_000);
const LARGE_CONNECTIONS = numberFromEnv('BENCH_LARGE_CONNECTIONS', 1_000_000);
const LARGE_EVENTS = numberFromEnv('BENCH_LARGE_EVENTS', 5_000_000);
const PURGE_ROWS = numberFromEnv('BENCH_PURGE_ROWS', 1_000_000);
const WARN = process.env.BENCH_WARN !== '0';
const BFF_ENTRY = resolve(process.env.BENCH_BFF_ENTRY ?? join(import.meta.dirname, '../src/main.js'));
const BASELINE_ENTRY = join(import.meta.dirname, 'baseline.js');
const FLOOR_ENTRY = join(import.meta.dirname, 'floor.js');
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

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
  max: number;
  /** Responses with a status other than the endpoint's, plus connection errors and timeouts. */
  failures: number;
  total: number;
}

type Role = 'baseline' | 'floor' | 'info' | 'warn';

interface EndpointResult {
  engine: string;
  endpoint: string;
  runs: Partial<Record<Role, RunResult>>;
  ratio?: number;
  /** Baseline CPU per request ÷ BFF CPU per request: the throughput ratio a CPU-bound server would show. */
  cpuRatio?: number;
  halfPeak: RunResult & { rate: number };
  checks: Check[];
}

interface Check {
  ok: boolean;
  text: string;
}

const children = new Set<ChildProcess>();
const tempDir = mkdtempSync(join(tmpdir(), 'bff-bench-'));
const cleanUps: (() => Promise<void>)[] = [];

function killChildren(): void {
  for (const child of children) child.kill('SIGTERM');
}
process.once('SIGINT', () => {
  killChildren();
  rmSync(tempDir, { recursive: true, force: true });
  process.exit(130);
});

const say = (text: string) => process.stdout.write(`${text}\n`);

/** Starts `node entry` with exactly `env` (plus PATH) and waits until GET /health/live answers 200. */
async function startServer(
  label: string,
  entry: string,
  env: Record<string, string>,
  options: { port?: number; execArgv?: string[]; stdout?: 'pipe' | 'devnull' } = {},
): Promise<Server> {
  if (!existsSync(entry)) throw new Error(`${label}: ${entry} does not exist; build first (npm run bench builds).`);
  const port = options.port ?? (await freePort());
  let output = '';
  // The BFF's request log goes to /dev/null (or BENCH_BFF_STDOUT): written, as in production, but not
  // read by this process, which shares the CPUs with it.
  const stdout = options.stdout === 'devnull' ? openSync(process.env.BENCH_BFF_STDOUT ?? '/dev/null', 'a') : 'pipe';
  const child = spawn(process.execPath, [...(options.execArgv ?? []), entry], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', stdout, 'pipe'],
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
  const deadline = Date.now() + 90_000;
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
  const hint =
    options.stdout === 'devnull' && !process.env.BENCH_BFF_STDOUT
      ? '\n(its stdout went to /dev/null: set BENCH_BFF_STDOUT=<file> to keep it)'
      : '';
  throw new Error(`${label} did not become ready${exited ? ` (exited with ${child.exitCode})` : ''}. Its output:\n${output}${hint}`);
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
}

/** Resident set size, in MiB (Linux /proc; undefined elsewhere). */
function residentMiB(pid: number | undefined): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
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
  return Object.fromEntries(
    Object.entries(endpoint.headers).map(([name, value]) => [
      name,
      value.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? ''),
    ]),
  );
}

/** One request, to check the server answers the endpoint as expected before loading it. */
async function probe(server: Server, endpoint: BenchEndpoint): Promise<unknown> {
  const res = await fetch(`${server.url}${endpoint.path}`, {
    method: endpoint.method,
    headers: headersFor(server, endpoint),
    body: endpoint.body,
  });
  const text = await res.text();
  if (res.status !== endpoint.status) {
    throw new Error(
      `${server.label} answered ${endpoint.method} ${endpoint.path} with ${res.status}, expected ${endpoint.status}: ${text.slice(0, 300)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

type Cannon = PromiseLike<autocannon.Result> & { stop(): void };

function cannon(server: Server, endpoint: BenchEndpoint, options: { seconds?: number; amount?: number; overallRate?: number }): Cannon {
  return autocannon({
    url: `${server.url}${endpoint.path}`,
    method: endpoint.method,
    headers: headersFor(server, endpoint),
    body: endpoint.body,
    connections: CONNECTIONS,
    pipelining: 1,
    ...(options.seconds ? { duration: options.seconds } : {}),
    ...(options.amount ? { amount: options.amount } : {}),
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  }) as unknown as Cannon;
}

function summarise(result: autocannon.Result, status: number, cpuSeconds: number | undefined): RunResult {
  let total = 0;
  let expected = 0;
  for (const [code, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) {
    total += count;
    if (Number(code) === status) expected += count;
  }
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: cpuSeconds !== undefined && total > 0 ? (cpuSeconds * 1e6) / total : undefined,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    failures: total - expected + result.errors + result.timeouts,
    total,
  };
}

async function load(server: Server, endpoint: BenchEndpoint, seconds: number, overallRate?: number): Promise<RunResult> {
  const cpuBefore = cpuSecondsOf(server.child.pid);
  const result = await cannon(server, endpoint, { seconds, overallRate });
  const cpuAfter = cpuSecondsOf(server.child.pid);
  return summarise(result, endpoint.status, cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined);
}

/** The run with the median req/s (of an even number, the lower middle one). */
function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const fixed = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));
const ratioText = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(2));

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const NATIVE_REDIRECT_URI = 'com.example.bench:/oauth/callback';

/** A member registered at the emulator through the BFF's native flow (via its TLS front): its bearer session token. */
async function nativeSession(frontUrl: string): Promise<string> {
  const start = await fetch(`${frontUrl}/v1/auth/oidc/authorize`, {
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
  const exchanged = await fetch(`${frontUrl}/v1/auth/session/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, exchangeSecret }),
  });
  const { sessionToken } = (await exchanged.json()) as { sessionToken?: string };
  if (!sessionToken) throw new Error(`session exchange answered ${exchanged.status}`);
  return sessionToken;
}

/** The PostgreSQL database for the second run, if any: BENCH_POSTGRES_URL, or a fresh schema on a local server. */
async function postgresTarget(): Promise<{ url: string; note: string } | undefined> {
  if (process.env.BENCH_POSTGRES === 'off') return undefined;
  if (process.env.BENCH_POSTGRES_URL) return { url: process.env.BENCH_POSTGRES_URL, note: 'BENCH_POSTGRES_URL' };
  const client = new pg.Client({ connectionString: LOCAL_POSTGRES, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const schema = `bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  cleanUps.push(async () => {
    const drop = new pg.Client({ connectionString: LOCAL_POSTGRES });
    await drop.connect();
    await drop.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await drop.end();
  });
  const url = new URL(LOCAL_POSTGRES);
  url.searchParams.set('schema', schema);
  return { url: url.toString(), note: `a fresh schema ${schema} on the local server (dropped afterwards)` };
}

async function withDatabase<T>(url: string, work: (db: DataSource) => Promise<T>): Promise<T> {
  const db = await openDatabase(url);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

const countsText = (counts: Record<SeededTable, number>) => SEEDED_TABLES.map((t) => `${t} ${counts[t].toLocaleString('en')}`).join(', ');

interface LargeResult {
  engine: string;
  counts: Record<SeededTable, number>;
  endpoints: { endpoint: string; small: RunResult; large: RunResult; check: Check }[];
  purge?: { rows: number; seconds: number; rate: number; run: RunResult; check: Check };
}

async function main(): Promise<void> {
  const endpoints = ENDPOINTS.filter((e) => !process.env.BENCH_ONLY || e.name.includes(process.env.BENCH_ONLY));
  const postgres = await postgresTarget();
  const engines: { name: 'sqlite' | 'postgres'; url: string }[] = [{ name: 'sqlite', url: `sqlite:${join(tempDir, 'bench.sqlite')}` }];
  if (postgres) engines.push({ name: 'postgres', url: postgres.url });

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
  const dataKey = randomBytes(32).toString('base64');
  const bffEnv = (databaseUrl: string, url: string, logLevel: string): Record<string, string> => ({
    NODE_ENV: 'production',
    // As the Dockerfile runs it (src/config/runtime.ts).
    NODE_OPTIONS: HEAP_NODE_OPTIONS,
    NODE_EXTRA_CA_CERTS: certificate.certFile,
    // One client address drives the load: with the limits on it would be refused after 300 requests.
    RATE_LIMITS: 'off',
    LOG_LEVEL: logLevel,
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
    DATA_ENCRYPTION_KEY: dataKey,
  });
  const startBff = (index: number, logLevel: 'info' | 'warn', port?: number) => {
    const engine = engines[index]!;
    const profile = CPU_PROFILE_DIR && logLevel === 'info';
    return startServer(
      `BFF ${engine.name} (${logLevel})`,
      BFF_ENTRY,
      {
        ...bffEnv(engine.url, bffPublicUrls[index]!, logLevel),
        ...(profile ? { BENCH_CPU_PROFILE_DIR: CPU_PROFILE_DIR, BENCH_CPU_PROFILE_LABEL: engine.name } : {}),
      },
      {
        port,
        stdout: 'devnull',
        execArgv: profile ? ['--import', pathToFileURL(join(import.meta.dirname, 'cpu-profile.js')).href] : [],
      },
    );
  };

  const load1 = loadavg()[0]!.toFixed(1);
  say(
    [
      `Benchmark: autocannon, ${CONNECTIONS} connections, ${DURATION} s per run after ${WARMUP} s of warm-up, median of ${ROUNDS} runs alternating the servers, loopback.`,
      `Machine: Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average ${load1} at the start; load generator and servers share them.`,
      `BFF: node ${relative(process.cwd(), BFF_ENTRY) || BFF_ENTRY} with NODE_OPTIONS="${HEAP_NODE_OPTIONS}" NODE_ENV=production LOG_LEVEL=info (request log to ${process.env.BENCH_BFF_STDOUT ?? '/dev/null'}) RATE_LIMITS=off,`,
      "     throwaway secrets, https URLs through a local TLS front (set-up only; the load goes to the BFF's http port),",
      `     on ${engines.map((e) => e.name).join(' and ')}${postgres ? ` (PostgreSQL: ${postgres.note})` : ' (no PostgreSQL: set BENCH_POSTGRES_URL or run one on 127.0.0.1:5432 with a database "test")'};`,
      `     ${WARN ? 'on SQLite also at LOG_LEVEL=warn, side by side; ' : ''}the local Mydex emulator as provider (no benchmarked endpoint calls it under load).`,
      'Baseline: bare Fastify (bench/baseline.ts), the same work by hand (SQLite for the stateful endpoints), no logging.',
      'Floor: bare Nest on Fastify with only the validation routes (bench/floor.ts): no global pipe, filter, guard, hook, plugin or logging.',
      `Data: ${ROWS.toLocaleString('en')} seeded rows per table${LARGE ? `; then the large round (${LARGE_SESSIONS.toLocaleString('en')} sessions, ${LARGE_CONNECTIONS.toLocaleString('en')} connections, ${LARGE_EVENTS.toLocaleString('en')} events) and a purge of ${PURGE_ROWS.toLocaleString('en')} expired sessions under load` : ' (BENCH_LARGE=1 adds the large-data round)'}.`,
      '',
    ].join('\n'),
  );

  const baseline = await startServer('baseline', BASELINE_ENTRY, { BASELINE_SQLITE: join(tempDir, 'baseline.sqlite') });
  runtimeValues.set(baseline, { sessionToken: 'baseline-session-token' });
  const needsFloor = endpoints.some((e) => e.floor);
  const floor = needsFloor
    ? await startServer('floor', FLOOR_ENTRY, { NODE_ENV: 'production', NODE_OPTIONS: HEAP_NODE_OPTIONS })
    : undefined;
  const results: EndpointResult[] = [];
  const memory: { engine: string; idle?: number; afterRuns?: number; soak1?: number; soak2?: number }[] = [];
  const large: LargeResult[] = [];
  const dataCounts: { engine: string; counts: Record<SeededTable, number> }[] = [];
  const measuredOnce = new Map<string, Partial<Record<Role, RunResult>>>();
  try {
    for (const [index, engine] of engines.entries()) {
      const counts = await withDatabase(engine.url, (db) => seed(db, { sessions: ROWS, connections: ROWS, events: ROWS }));
      dataCounts.push({ engine: engine.name, counts });
      say(`${engine.name}: seeded; row counts ${countsText(counts)}`);
      let bff = await startBff(index, 'info', bffPorts[index]);
      const warn = WARN && index === 0 ? await startBff(index, 'warn') : undefined;
      const token = await nativeSession(bffPublicUrls[index]!);
      runtimeValues.set(bff, { sessionToken: token });
      if (warn) runtimeValues.set(warn, { sessionToken: token });
      const mem: (typeof memory)[number] = { engine: engine.name, idle: residentMiB(bff.child.pid) };
      try {
        for (const endpoint of endpoints) {
          say(`… ${endpoint.name} (${engine.name})`);
          const bffBody = await probe(bff, endpoint);
          // Baseline and floor do not depend on the BFF's database: measured once, beside the first engine.
          const others: [Role, Server][] = [];
          if (!measuredOnce.has(endpoint.name)) {
            if (endpoint.baseline) others.push(['baseline', baseline]);
            if (endpoint.floor && floor) others.push(['floor', floor]);
          }
          for (const [role, server] of others) {
            if (endpoint.sameBody !== false && !isDeepStrictEqual(bffBody, await probe(server, endpoint))) {
              throw new Error(`The ${role} and the BFF answer ${endpoint.name} differently; fix the ${role} so they do the same work.`);
            }
          }
          const servers: [Role, Server][] = [...others, ['info', bff], ...(warn ? ([['warn', warn]] as [Role, Server][]) : [])];
          if (warn) await probe(warn, endpoint);
          for (const [, server] of servers) await load(server, endpoint, WARMUP);
          const collected = new Map<Role, RunResult[]>();
          for (let round = 0; round < ROUNDS; round++) {
            for (const [role, server] of servers)
              collected.set(role, [...(collected.get(role) ?? []), await load(server, endpoint, DURATION)]);
          }
          const runs: Partial<Record<Role, RunResult>> = { ...(measuredOnce.get(endpoint.name) ?? {}) };
          for (const [role, list] of collected) runs[role] = median(list);
          if (!measuredOnce.has(endpoint.name)) measuredOnce.set(endpoint.name, { baseline: runs.baseline, floor: runs.floor });
          const info = runs.info!;
          const rate = Math.max(1, Math.round(info.requestsPerSecond / 2));
          const halfPeak = { ...(await load(bff, endpoint, DURATION, rate)), rate };
          const ratio = runs.baseline ? info.requestsPerSecond / runs.baseline.requestsPerSecond : undefined;
          const cpuRatio =
            runs.baseline?.cpuMicrosPerRequest && info.cpuMicrosPerRequest
              ? runs.baseline.cpuMicrosPerRequest / info.cpuMicrosPerRequest
              : undefined;
          const checks: Check[] = [];
          const minRatio = endpoint.targets?.minRatio?.[engine.name];
          if (minRatio !== undefined && ratio !== undefined)
            checks.push({ ok: ratio >= minRatio, text: `${ratioText(ratio)} of baseline (≥ ${minRatio})` });
          const maxP99 = endpoint.targets?.maxP99AtHalfPeakMs;
          if (maxP99 !== undefined)
            checks.push({ ok: halfPeak.p99 < maxP99, text: `p99 ${fixed(halfPeak.p99, 1)} ms at half peak (< ${maxP99} ms)` });
          if (runs.warn) {
            const ofWarn = info.requestsPerSecond / runs.warn.requestsPerSecond;
            checks.push({ ok: ofWarn >= MIN_INFO_OF_WARN, text: `info ${ratioText(ofWarn)} of warn (≥ ${MIN_INFO_OF_WARN})` });
          }
          const failures = Object.values(runs).reduce((sum, run) => sum + (run?.failures ?? 0), 0) + halfPeak.failures;
          if (failures > 0) checks.push({ ok: false, text: `${failures} unexpected statuses or errors` });
          results.push({ engine: engine.name, endpoint: endpoint.name, runs, ratio, cpuRatio, halfPeak, checks });
        }
        mem.afterRuns = residentMiB(bff.child.pid);
        // Memory under sustained load: two rounds of SOAK requests over every endpoint; the second round
        // must not grow the process much beyond the first (no leak), and both stay under 200 MiB.
        const perEndpoint = Math.ceil(SOAK / Math.max(1, endpoints.length));
        for (const endpoint of endpoints) await cannon(bff, endpoint, { amount: perEndpoint });
        mem.soak1 = residentMiB(bff.child.pid);
        for (const endpoint of endpoints) await cannon(bff, endpoint, { amount: perEndpoint });
        mem.soak2 = residentMiB(bff.child.pid);
        memory.push(mem);
        if (warn) await stopServer(warn);

        if (LARGE) {
          const largeEndpoints = endpoints.filter((e) => e.large);
          say(`${engine.name}: large-data round: seeding…`);
          const largeCounts = await withDatabase(engine.url, (db) =>
            seed(
              db,
              {
                sessions: Math.max(0, LARGE_SESSIONS - counts.sessions),
                connections: Math.max(0, LARGE_CONNECTIONS - counts.connections),
                events: Math.max(0, LARGE_EVENTS - counts.connection_events),
              },
              (text) => say(`  ${text}`),
            ),
          );
          say(`${engine.name}: row counts ${countsText(largeCounts)}`);
          const entry: LargeResult = { engine: engine.name, counts: largeCounts, endpoints: [] };
          large.push(entry);
          // A fresh process on the large database (its caches and statements start cold, as after a deploy).
          await stopServer(bff);
          bff = await startBff(index, 'info', bffPorts[index]);
          runtimeValues.set(bff, { sessionToken: token });
          for (const endpoint of largeEndpoints) {
            say(`… ${endpoint.name} (${engine.name}, large)`);
            await probe(bff, endpoint);
            await load(bff, endpoint, WARMUP);
            const list: RunResult[] = [];
            for (let round = 0; round < ROUNDS; round++) list.push(await load(bff, endpoint, DURATION));
            const small = results.find((r) => r.engine === engine.name && r.endpoint === endpoint.name)!.runs.info!;
            const run = median(list);
            const share = run.requestsPerSecond / small.requestsPerSecond;
            entry.endpoints.push({
              endpoint: endpoint.name,
              small,
              large: run,
              check: {
                ok: share >= MIN_LARGE_OF_SMALL && run.failures === 0,
                text: `${ratioText(share)} of the figure at ${ROWS.toLocaleString('en')} rows (≥ ${MIN_LARGE_OF_SMALL})`,
              },
            });
          }

          // Purge under load: PURGE_ROWS sessions expired two days ago; a fresh BFF (its purge has not
          // run yet) serves the session lookup at half its peak; a new session starts the purge.
          const sessionEndpoint = endpoints.find((e) => e.path === '/v1/session');
          if (sessionEndpoint) {
            say(`${engine.name}: purge under load: seeding ${PURGE_ROWS.toLocaleString('en')} expired sessions…`);
            const { purgeable, db } = await (async () => {
              const db = await openDatabase(engine.url);
              await seed(db, { expiredSessions: PURGE_ROWS }, (text) => say(`  ${text}`));
              return { db, purgeable: await purgeableSessions(db) };
            })();
            try {
              await stopServer(bff);
              bff = await startBff(index, 'info', bffPorts[index]);
              runtimeValues.set(bff, { sessionToken: token });
              await load(bff, sessionEndpoint, WARMUP);
              const peak =
                results.find((r) => r.engine === engine.name && r.endpoint === sessionEndpoint.name)?.runs.info?.requestsPerSecond ?? 2000;
              const rate = Math.max(1, Math.round(peak / 2));
              const cpuBefore = cpuSecondsOf(bff.child.pid);
              const running = cannon(bff, sessionEndpoint, { seconds: 3600, overallRate: rate });
              await new Promise((resolve) => setTimeout(resolve, 1000));
              const started = Date.now();
              // Any session creation starts the sessions purge (PeriodicPurge), here a member's native login.
              await nativeSession(bffPublicUrls[index]!);
              const deadline = Date.now() + 60 * 60_000;
              while ((await anyPurgeableSession(db)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1000));
              const seconds = (Date.now() - started) / 1000;
              await new Promise((resolve) => setTimeout(resolve, 1000));
              running.stop();
              const cpuAfter = cpuSecondsOf(bff.child.pid);
              const run = summarise(
                await running,
                sessionEndpoint.status,
                cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
              );
              const left = await purgeableSessions(db);
              entry.purge = {
                rows: purgeable,
                seconds,
                rate,
                run,
                check: {
                  ok: left === 0 && run.p99 < MAX_P99_DURING_PURGE_MS && run.failures === 0,
                  text: `p99 ${fixed(run.p99, 1)} ms while purging ${purgeable.toLocaleString('en')} rows in ${seconds.toFixed(1)} s (< ${MAX_P99_DURING_PURGE_MS} ms)${left > 0 ? `; ${left.toLocaleString('en')} rows left` : ''}`,
                },
              };
            } finally {
              await db.destroy();
            }
          }
        }
      } finally {
        if (!memory.includes(mem)) memory.push(mem);
        await stopServer(bff);
        if (warn) await stopServer(warn);
      }
    }
  } finally {
    await stopServer(baseline);
    if (floor) await stopServer(floor);
    await Promise.all(fronts.map((front) => front.close()));
    await emulator.close();
  }

  const percent = (value: number | undefined) => (value === undefined ? '' : `${(value * 100).toFixed(0)}%`);
  const rows: string[][] = [];
  for (const endpoint of endpoints) {
    const mine = results.filter((r) => r.endpoint === endpoint.name);
    const first = mine[0];
    if (!first) continue;
    const base = first.runs.baseline;
    const row = (server: string, run: RunResult | undefined, ofBaseline: string, byCpu: string) =>
      run
        ? rows.push([
            endpoint.name,
            server,
            fixed(run.requestsPerSecond),
            fixed(run.p50, 1),
            fixed(run.p99, 1),
            fixed(run.cpuMicrosPerRequest),
            ofBaseline,
            byCpu,
          ])
        : undefined;
    const share = (run: RunResult | undefined) => (run && base ? percent(run.requestsPerSecond / base.requestsPerSecond) : '');
    const cpuShare = (run: RunResult | undefined) =>
      run?.cpuMicrosPerRequest && base?.cpuMicrosPerRequest ? percent(base.cpuMicrosPerRequest / run.cpuMicrosPerRequest) : '';
    row('baseline', base, '', '');
    row('Nest floor', first.runs.floor, share(first.runs.floor), cpuShare(first.runs.floor));
    for (const r of mine) {
      row(`BFF ${r.engine} info`, r.runs.info, share(r.runs.info), cpuShare(r.runs.info));
      row(`BFF ${r.engine} warn`, r.runs.warn, share(r.runs.warn), cpuShare(r.runs.warn));
    }
  }
  say(
    `\nThroughput (${CONNECTIONS} connections, median of ${ROUNDS})\n${table(['endpoint', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'of baseline req/s', 'of baseline by CPU'], rows)}`,
  );

  const halfRows = results.map((r) => [
    r.endpoint,
    r.engine,
    String(r.halfPeak.rate),
    fixed(r.halfPeak.requestsPerSecond),
    fixed(r.halfPeak.p50, 1),
    fixed(r.halfPeak.p99, 1),
    fixed(r.halfPeak.max, 1),
  ]);
  say(
    `\nBFF (info) at half its peak rate (autocannon overallRate)\n${table(['endpoint', 'database', 'rate', 'req/s', 'p50 ms', 'p99 ms', 'max ms'], halfRows)}`,
  );

  const memoryChecks: { engine: string; check: Check }[] = [];
  const memRows = memory.map((m) => {
    const growth = m.soak1 && m.soak2 ? (m.soak2 - m.soak1) / m.soak1 : undefined;
    const ok = m.soak2 !== undefined && m.soak2 < 200 && growth !== undefined && growth < 0.1;
    memoryChecks.push({
      engine: m.engine,
      check: { ok, text: `resident ${fixed(m.soak1)} → ${fixed(m.soak2)} MiB after two soak rounds (< 200 MiB, growth < 10%)` },
    });
    return [
      m.engine,
      fixed(m.idle),
      fixed(m.afterRuns),
      fixed(m.soak1),
      fixed(m.soak2),
      growth === undefined ? '—' : `${(growth * 100).toFixed(1)}%`,
    ];
  });
  say(
    `\nBFF resident memory, MiB (two soak rounds of ${SOAK.toLocaleString('en')} requests each across the endpoints)\n${table(['database', 'idle', 'after the runs', 'after round 1', 'after round 2', 'growth'], memRows)}`,
  );

  say(`\nRows in the database during the runs: ${dataCounts.map((d) => `${d.engine}: ${countsText(d.counts)}`).join('; ')}`);
  for (const entry of large) {
    say(`\nLarge-data round on ${entry.engine}: ${countsText(entry.counts)}`);
    say(
      table(
        ['endpoint', `req/s at ${ROWS.toLocaleString('en')} rows`, 'req/s large', 'p99 ms large', 'CPU µs/req small → large'],
        entry.endpoints.map((e) => [
          e.endpoint,
          fixed(e.small.requestsPerSecond),
          fixed(e.large.requestsPerSecond),
          fixed(e.large.p99, 1),
          `${fixed(e.small.cpuMicrosPerRequest)} → ${fixed(e.large.cpuMicrosPerRequest)}`,
        ]),
      ),
    );
    if (entry.purge) {
      const p = entry.purge;
      say(
        `Purge under load: ${p.rows.toLocaleString('en')} expired sessions deleted in ${p.seconds.toFixed(1)} s while GET /v1/session ran at ${p.rate} req/s: p50 ${fixed(p.run.p50, 1)} ms, p99 ${fixed(p.run.p99, 1)} ms, max ${fixed(p.run.max, 1)} ms, ${p.run.total.toLocaleString('en')} requests, ${p.run.failures} failures`,
      );
    }
  }

  // One line per endpoint and database: every target with its verdict.
  const summary: string[] = [];
  const verdict = (checks: Check[]) => (checks.length === 0 ? 'no target' : checks.every((c) => c.ok) ? 'ok' : 'MISSED');
  const line = (name: string, checks: Check[]) =>
    summary.push(`${verdict(checks).padEnd(9)} ${name}: ${checks.map((c) => `${c.text} ${c.ok ? 'ok' : 'MISSED'}`).join('; ') || '—'}`);
  for (const r of results) line(`${r.endpoint} [${r.engine}]`, r.checks);
  for (const m of memoryChecks) line(`memory [${m.engine}]`, [m.check]);
  for (const entry of large) {
    for (const e of entry.endpoints) line(`${e.endpoint} [${entry.engine}, large data]`, [e.check]);
    if (entry.purge) line(`purge of expired sessions under load [${entry.engine}]`, [entry.purge.check]);
  }
  say(`\nSummary (targets of issue 17)\n${summary.join('\n')}`);

  if (process.env.BENCH_JSON) {
    writeFileSync(
      process.env.BENCH_JSON,
      `${JSON.stringify({ duration: DURATION, warmup: WARMUP, rounds: ROUNDS, connections: CONNECTIONS, node: process.version, loadAverageAtStart: Number(load1), dataCounts, memory, results, large }, null, 2)}\n`,
    );
  }
  const missed = summary.some((s) => s.startsWith('MISSED'));
  if (missed) say('\nSome targets were missed (see the summary).');
  await finish();
  if (missed && process.env.BENCH_STRICT === '1') process.exit(1);
  process.exit(0);
}

async function finish(): Promise<void> {
  killChildren();
  for (const cleanUp of cleanUps.splice(0)) await cleanUp().catch(() => undefined);
  rmSync(tempDir, { recursive: true, force: true });
}

main().catch(async (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await finish();
  process.exit(2);
});
