import qs from 'qs';
import type { EmulatorRuntime } from './runtime.js';
import { sha512Hex } from './secrets.js';
import type { Connection, DeliveryAttempt, DeliveryRecord } from './store.js';

/** One dataset of the Data Sharing Agreement: `A` automatic, `R` on request, null not asked [I]. */
export interface RequestedDataset {
  dataset: string;
  label: string;
  read: 'A' | 'R' | null;
  write: 'A' | 'R' | null;
}

/**
 * The datasets the subscriber's connection asks for. Version 2 and later of the agreement ask for one
 * more, so an update (`/api/connection/update`) changes the permissions the callback carries. The
 * datasets and versions are the emulator's own [I]: at Mydex they are set up with the Dedicated Connection.
 */
export function requestedDatasets(version: number): RequestedDataset[] {
  const datasets: RequestedDataset[] = [
    { dataset: 'field_ds_personal_details', label: 'Personal details', read: 'A', write: null },
    { dataset: 'field_ds_contact_details', label: 'Contact details', read: 'A', write: 'R' },
  ];
  if (version >= 2) datasets.push({ dataset: 'field_ds_address_details', label: 'Address details', read: 'A', write: null });
  return datasets;
}

// Mydex documents no expected answer, timeout or retry rules for the callback: this schedule (an awaited
// first attempt with a 5 s timeout, then retries after 250 ms, 1 s and 3 s) is the emulator's own [I].
const ATTEMPT_TIMEOUT_MS = 5000;
const DEFAULT_RETRY_DELAYS_MS = [250, 1000, 3000];

/**
 * The callback body as Mydex sends it [S]: form-encoded with PHP-style nested keys,
 * `fields[<dataset>][0][][access][r][a]=1` (`[0]` the dataset instance, `[a]` granted, `[s]` style) [I].
 */
export function callbackForm(connection: Connection, datasets: RequestedDataset[]): URLSearchParams {
  const form = new URLSearchParams();
  form.append('uid', String(connection.uid));
  form.append('mydexid', connection.mydexid);
  form.append('key', connection.key);
  form.append('connection_id', connection.connectionId);
  for (const d of datasets) {
    for (const [access, style] of [
      ['r', d.read],
      ['w', d.write],
    ] as const) {
      if (style === null) continue;
      form.append(`fields[${d.dataset}][0][][access][${access}][a]`, '1');
      form.append(`fields[${d.dataset}][0][][access][${access}][s]`, style);
    }
  }
  if (connection.linkingToken !== undefined) form.append('linking_token', connection.linkingToken);
  return form;
}

/**
 * Sends the callback to the subscriber's callback URL: POST for a First Time Connection, PUT for an
 * update, header `Authentication` = SHA-512 of the connection token [S/I]. The first attempt is awaited [I]
 * (so the subscriber knows the connection before the browser returns); failures are retried in the
 * background after each of the retry delays [I]. Every attempt and its answer is recorded.
 */
export async function deliverCallback(
  runtime: EmulatorRuntime,
  connection: Connection,
  method: 'POST' | 'PUT',
  datasets: RequestedDataset[],
): Promise<DeliveryRecord> {
  const form = callbackForm(connection, datasets);
  const payload = qs.parse(form.toString(), { depth: 10 }) as Record<string, unknown>;
  payload.key = '[redacted]';
  const record = runtime.store.addDelivery({ method, url: runtime.options.callbackUrl, connectionId: connection.connectionId, payload });
  const delays = runtime.options.callbackRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;

  const attempt = async (index: number): Promise<void> => {
    const result = await send(runtime, method, form);
    record.attempts.push(result);
    const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
    runtime.log(
      `Callback ${method} ${connection.connectionId} attempt ${index + 1}: ${result.status ?? result.error}${ok ? '' : index < delays.length ? ', will retry' : ', giving up'}`,
    );
    if (ok) record.delivered = true;
    else if (index < delays.length) runtime.later(delays[index]!, () => void attempt(index + 1));
    else record.delivered = false;
  };
  await attempt(0);
  return record;
}

async function send(runtime: EmulatorRuntime, method: 'POST' | 'PUT', form: URLSearchParams): Promise<DeliveryAttempt> {
  const started = Date.now();
  const at = new Date(started).toISOString();
  if (runtime.closing.aborted) return { at, error: 'emulator closed', durationMs: 0 };
  try {
    const response = await fetch(runtime.options.callbackUrl, {
      method,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authentication: sha512Hex(runtime.options.connectionToken),
      },
      body: form.toString(),
      redirect: 'manual',
      signal: AbortSignal.any([runtime.closing, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
    });
    const text = await response.text();
    return { at, status: response.status, body: text.slice(0, 500), durationMs: Date.now() - started };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const message = cause?.code ?? cause?.message ?? (error as Error).message;
    return { at, error: message, durationMs: Date.now() - started };
  }
}
