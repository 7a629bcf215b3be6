import { DataKeyError, type KeyBinding, type SealedSecret } from './data-key-ring.js';

/**
 * A sealed value in one text column: `gcm1.<keyId>.<iv>.<tag>.<ciphertext>` (AES-256-GCM under the
 * data key ring, see DataKeyRing). Used where a row holds personal data in a single column
 * (callback bodies, `fields`, registration emails); the member key keeps its four columns.
 * The prefix cannot begin a JSON text, so a column may hold either a sealed value or, from before
 * sealing, plain JSON until `npm run rotate-data-key` seals it.
 */
export const SEALED_PREFIX = 'gcm1.';

/** What seals and opens: DataEncryption in the BFF, the DataKeyRing itself in the scripts. */
export interface Sealer {
  seal(plaintext: string, context: string, binding?: KeyBinding): SealedSecret;
  open(sealed: SealedSecret, context: string, binding?: KeyBinding): string;
}

export function isSealedText(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

export function encodeSealed(sealed: SealedSecret): string {
  return `${SEALED_PREFIX}${sealed.keyId}.${sealed.iv}.${sealed.tag}.${sealed.ciphertext}`;
}

/** The parts of a sealed text; undefined when it is not one; DataKeyError when it is damaged. */
export function decodeSealed(text: string): SealedSecret | undefined {
  if (!isSealedText(text)) return undefined;
  const parts = text.slice(SEALED_PREFIX.length).split('.');
  const [keyId, iv, tag, ciphertext] = parts;
  if (parts.length !== 4 || !keyId || !iv || !tag || ciphertext === undefined)
    throw new DataKeyError('The stored sealed value is damaged.');
  return { keyId, iv, tag, ciphertext };
}

export function sealText(sealer: Sealer, plaintext: string, context: string, binding?: KeyBinding): string {
  return encodeSealed(sealer.seal(plaintext, context, binding));
}

/**
 * The plaintext of a sealed column. A value that is not sealed is a row from before sealing and is
 * answered as it is (the rotation script seals those).
 */
export function openText(sealer: Sealer, value: string, context: string): string {
  const sealed = decodeSealed(value);
  return sealed ? sealer.open(sealed, context) : value;
}
