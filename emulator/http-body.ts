import type { Context } from 'koa';
import qs from 'qs';

/** The largest body the emulator reads (its forms and JSON bodies are tiny). */
const BODY_LIMIT = 64 * 1024;

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readRaw(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new BodyError(413, 'Request body too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object body; anything else (wrong media type, malformed, not an object) is a BodyError. */
export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new BodyError(415, 'Content-Type must be application/json.');
  const raw = await readRaw(ctx);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new BodyError(400, 'Malformed JSON body.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BodyError(400, 'The JSON body must be an object.');
  }
  return parsed as Record<string, unknown>;
}

/** A form body (application/x-www-form-urlencoded), flat: repeated or nested keys are not expected. */
export async function readForm(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new BodyError(415, 'Expected a form submission.');
  const raw = await readRaw(ctx);
  const parsed = qs.parse(raw, { depth: 0, parameterLimit: 50, allowPrototypes: false });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
