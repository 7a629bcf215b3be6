import { pino, type DestinationStream, type Logger as PinoInstance } from 'pino';
import type { EnvironmentVariables } from '../../config/environment.js';
import { redact } from './redact.js';

/**
 * Where the log lines go and how they are flushed (docs/operations.md, "Logs").
 *
 * - `json` (production, pipes, files, tests): one JSON object per line on stdout through one
 *   asynchronous sonic-boom destination per process: lines collect in memory and are written when 4 KiB
 *   have gathered or every LOG_FLUSH_INTERVAL_MS (default 200), so a request costs no write(2) of its own. The buffer is
 *   flushed on app close (SIGTERM/SIGINT through Nest's shutdown hooks), on process exit and on a fatal
 *   error (installFatalHandlers). Under NODE_ENV=test the in-process suites read stdout as it is written,
 *   so there the destination is synchronous; the asynchronous one is tested in a child process
 *   (test/logging.e2e-spec.ts).
 * - `pretty` (development on a terminal, or LOG_FORMAT=pretty): pino-pretty's formatter in the main
 *   thread, synchronously to the terminal. pino-pretty is a development dependency: where it is not
 *   installed (the production image), the BFF says so once on stderr and writes JSON.
 */
export type LogFormat = 'json' | 'pretty';

/** pino.destination's sonic-boom (its type lacks the `destroyed` flag the stream has). */
type SonicBoom = ReturnType<typeof pino.destination> & { destroyed?: boolean };

/** The asynchronous destination's buffer: written once this much has gathered. */
export const MIN_WRITE_BYTES = 4096;
type FormatSettings = Pick<EnvironmentVariables, 'NODE_ENV'> & { LOG_FORMAT?: LogFormat };
type OutputSettings = FormatSettings &
  Pick<EnvironmentVariables, 'LOG_LEVEL'> &
  Partial<Pick<EnvironmentVariables, 'LOG_FLUSH_INTERVAL_MS'>>;

/** LOG_FORMAT when set; otherwise pretty only in development with stdout on a terminal, else JSON. */
export function chooseLogFormat(env: FormatSettings, stdoutIsTerminal = process.stdout.isTTY === true): LogFormat {
  if (env.LOG_FORMAT !== undefined) return env.LOG_FORMAT;
  return env.NODE_ENV === 'development' && stdoutIsTerminal ? 'pretty' : 'json';
}

let jsonDestination: SonicBoom | undefined;
let syncJsonDestination: SonicBoom | undefined;
let prettyDestination: DestinationStream | undefined;

/** The process's one asynchronous stdout destination (created on first use, with that caller's interval). */
function asyncJson(flushIntervalMs = 200): SonicBoom {
  jsonDestination ??= pino.destination({ dest: 1, sync: false, minLength: MIN_WRITE_BYTES, periodicFlush: flushIntervalMs });
  return jsonDestination;
}

function syncJson(): SonicBoom {
  syncJsonDestination ??= pino.destination({ dest: 1, sync: true });
  return syncJsonDestination;
}

/** `[Context] message`; a request line as `GET /path → 404 in 1.2 ms` (its ids follow on the same line). */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const context = typeof log.context === 'string' ? `[${log.context}] ` : '';
  const req = log.req as { method?: unknown; url?: unknown } | undefined;
  const res = log.res as { statusCode?: unknown } | undefined;
  if (typeof req === 'object' && typeof res === 'object' && typeof log.responseTime === 'number') {
    return `${context}${String(req.method)} ${String(req.url)} → ${String(res.statusCode)} in ${log.responseTime} ms`;
  }
  return `${context}${String(log[messageKey] ?? '')}`;
}

async function pretty(): Promise<DestinationStream | undefined> {
  if (prettyDestination !== undefined) return prettyDestination;
  let factory: typeof import('pino-pretty').prettyFactory;
  try {
    ({ prettyFactory: factory } = await import('pino-pretty'));
  } catch {
    process.stderr.write('LOG_FORMAT=pretty needs the development dependency pino-pretty, which is not installed: logging JSON.\n');
    return undefined;
  }
  const format = factory({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    ignore: 'pid,hostname,context,req,res,responseTime',
    messageFormat: prettyMessage,
  });
  // A terminal write is synchronous in Node on Linux and macOS: nothing waits in a buffer.
  prettyDestination = { write: (line: string) => void process.stdout.write(format(line)) };
  return prettyDestination;
}

async function destinationFor(env: OutputSettings): Promise<DestinationStream> {
  if (chooseLogFormat(env) === 'pretty') {
    const stream = await pretty();
    if (stream !== undefined) return stream;
  }
  return env.NODE_ENV === 'test' ? syncJson() : asyncJson(env.LOG_FLUSH_INTERVAL_MS);
}

const rootLoggers = new Map<string, Promise<PinoInstance>>();

/**
 * The process's redacting pino instance for a level and format (one per combination, so the app, main.ts's
 * fatal handlers and a second app in the same test process share it and its buffer). Every log object passes
 * through redact(): a secret logged by mistake anywhere is censored on the way out.
 */
export function rootLogger(env: OutputSettings): Promise<PinoInstance> {
  const format = chooseLogFormat(env);
  const key = `${env.LOG_LEVEL} ${format} ${env.NODE_ENV === 'test' ? 'sync' : 'async'}`;
  let logger = rootLoggers.get(key);
  if (logger === undefined) {
    logger = destinationFor(env).then((destination) =>
      pino(
        { level: env.LOG_LEVEL, formatters: { log: (object: Record<string, unknown>) => redact(object) as Record<string, unknown> } },
        destination,
      ),
    );
    rootLoggers.set(key, logger);
  }
  return logger;
}

/**
 * Writes what the asynchronous destination holds, then `done`. Synchronous when no write is under way;
 * otherwise the write under way is awaited first (at most 2 s in all), so that lines are neither lost
 * with it nor written out of order.
 */
export function flushLogsThen(done: () => void): void {
  const destination = jsonDestination;
  const deadline = Date.now() + 2000;
  const settle = () => {
    const writing = (destination as unknown as { _writing?: boolean } | undefined)?._writing === true;
    if (destination !== undefined && !destination.destroyed && writing && Date.now() < deadline) {
      setTimeout(settle, 1);
      return;
    }
    try {
      if (destination !== undefined && !destination.destroyed) destination.flushSync();
    } catch {
      // stdout closed (EPIPE) or not open yet: nothing more can be written.
    }
    done();
  };
  settle();
}

/** flushLogsThen as a promise: app close (onApplicationShutdown) awaits it. */
export function flushLogs(): Promise<void> {
  return new Promise((resolve) => flushLogsThen(resolve));
}

let fatalHandlersInstalled = false;

/**
 * An uncaught exception or unhandled promise rejection ends the process: logged at `fatal` (redacted, with
 * the stack), the log buffer flushed, exit code 1. Installed by main.ts only: the test runner keeps its own
 * handlers.
 */
export function installFatalHandlers(logger: PinoInstance): void {
  if (fatalHandlersInstalled) return;
  fatalHandlersInstalled = true;
  let dying = false;
  const die = (message: string) => (error: unknown) => {
    if (dying) return;
    dying = true;
    try {
      logger.fatal({ err: error }, message);
    } catch {
      process.stderr.write(`${message}: ${error instanceof Error ? error.stack : String(error)}\n`);
    }
    flushLogsThen(() => process.exit(1));
  };
  process.on('uncaughtException', die('uncaught exception: exiting'));
  process.on('unhandledRejection', die('unhandled promise rejection: exiting'));
}
