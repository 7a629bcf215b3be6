/** What main.ts knows once the BFF listens: the addresses a person starting it wants to open. */
export interface ReadyInfo {
  publicBaseUrl: string;
  port: number;
  production: boolean;
  /** The demo SPA is served at `/`. */
  demo: boolean;
  /** `/docs` is served. */
  apiDocs: boolean;
  /** The local Mydex emulator started beside the BFF (no MYDEX_ISSUER). */
  emulatorUrl?: string;
  /** The METRICS_PORT listener. */
  metricsUrl?: string;
}

/**
 * The message main.ts prints once the BFF listens. Development and test (`npm start`): a short block with
 * the addresses to open and how to stop. Production: the one line it always was (log collectors read
 * stdout there; nobody presses Ctrl+C).
 */
export function readyMessage(info: ReadyInfo): string {
  const base = info.publicBaseUrl.replace(/\/+$/, '');
  if (info.production) {
    const docs = info.apiDocs ? `; API docs at ${base}/docs` : '';
    const metrics = info.metricsUrl === undefined ? '' : `; metrics at ${info.metricsUrl}`;
    return `Mydex BFF listening on ${base} (port ${info.port})${docs}${metrics}\n`;
  }
  const rows: [string, string][] = [];
  if (info.demo) rows.push(['Demo', `${base}/`]);
  if (info.apiDocs) rows.push(['API docs', `${base}/docs`]);
  if (info.emulatorUrl !== undefined) rows.push(['Mydex emulator', info.emulatorUrl]);
  if (info.metricsUrl !== undefined) rows.push(['Metrics', info.metricsUrl]);
  const width = Math.max(0, ...rows.map(([label]) => label.length)) + 1;
  return [
    '',
    `Mydex BFF ready on ${base} (port ${info.port})`,
    ...rows.map(([label, url]) => `  ${`${label}:`.padEnd(width)} ${url}`),
    'Press Ctrl+C to stop.',
    '',
  ].join('\n');
}
