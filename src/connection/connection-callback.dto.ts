import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MYDEXID_PATTERN } from '../validation/rule-catalogue.js';
import { CatalogueProperty, Coded, InRuleOrder, MydexIdRules } from '../validation/rule-constraints.js';
import { fieldsProblem } from './permissions.js';

/** Largest uid accepted: the `integer` column. */
export const UID_MAX = 2_147_483_647;
/** `{uid}-{nid}`: the shape every connection_id must have. */
export const CONNECTION_ID_PATTERN = /^[0-9]{1,10}-[0-9]{1,20}$/;
/** The largest agreement version accepted. */
export const VERSION_MAX = 1_000_000;
/** The member key: printable ASCII, at most this long. Mydex does not publish its format [I]. */
export const MEMBER_KEY_MAX = 1024;

export function isUid(value: unknown): boolean {
  return toPositiveInt(value, UID_MAX) !== undefined;
}

/** A positive integer from JSON (a number) or a form (a string of digits); undefined otherwise. */
export function toPositiveInt(value: unknown, max: number): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
}

const printable = (max: number) => (value: unknown) => typeof value === 'string' && value.length <= max && /^[\x21-\x7e]+$/.test(value);
const optional = (test: (value: unknown) => boolean) => (value: unknown) => value === undefined || test(value);
const presentString = (value: unknown) => typeof value === 'string' && value.length > 0;

/**
 * What Mydex POSTs (First Time Connection) or PUTs (re-approval of an updated agreement) to the
 * callback, as `application/x-www-form-urlencoded` with PHP-style nested keys or as JSON. [S/I]
 * The constraints describe the documented shape; an authenticated delivery that departs from it is
 * still kept and applied, with each departure noted as an anomaly (callback-delivery.ts). Only a body
 * without `key` is refused.
 */
export class ConnectionCallbackDto {
  /** The member's id at Mydex: a positive integer (a string of digits in a form). */
  @ApiProperty({ example: 587, minimum: 1, maximum: UID_MAX })
  @Coded('uid_invalid', 'uid must be a positive integer.', isUid)
  uid!: number;

  /** The member's MydexID; checked with the registration rules. */
  @CatalogueProperty({ example: 'alice2024', pattern: MYDEXID_PATTERN })
  @MydexIdRules()
  mydexid!: string;

  /** The Member Connection Key: stored encrypted, never logged, never answered. */
  @ApiProperty({ example: 'k3y-from-mydex', maxLength: MEMBER_KEY_MAX, writeOnly: true })
  @InRuleOrder(
    Coded('required', 'key is required.', presentString),
    Coded(
      'key_invalid',
      `key must be printable ASCII of at most ${MEMBER_KEY_MAX} characters.`,
      (value) => !presentString(value) || printable(MEMBER_KEY_MAX)(value),
    ),
  )
  key!: string;

  /** `{uid}-{our Connection NID}` as documented; Mydex's own examples also send `123-3736` with uid 1, and `587-99` without uid [S]. */
  @ApiProperty({ example: '587-45678', pattern: CONNECTION_ID_PATTERN.source })
  @InRuleOrder(
    Coded('required', 'connection_id is required.', presentString),
    Coded(
      'connection_id_invalid',
      'connection_id must look like {uid}-{nid}.',
      (value) => !presentString(value) || (typeof value === 'string' && CONNECTION_ID_PATTERN.test(value)),
    ),
  )
  connection_id!: string;

  /**
   * The datasets and fields with the permissions granted, e.g. from
   * `fields[field_ds_personal_details][0][][access][r][a]=1`. Stored as received and normalised.
   */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' }, w: { a: '0', s: 'R' } } }]] },
  })
  @Coded(
    'fields_invalid',
    'fields must be an object of datasets, at most 10 levels deep, with text, number or boolean values.',
    optional((value) => fieldsProblem(value) === undefined),
  )
  fields?: Record<string, unknown>;

  /** Our own id for the member, echoed back by Mydex when the connection was started with one. [I] */
  @ApiPropertyOptional({ maxLength: 255 })
  @Coded('linking_token_invalid', 'linking_token must be printable ASCII of at most 255 characters.', optional(printable(255)))
  linking_token?: string;

  /** The agreement version approved, when Mydex says it. [I] */
  @ApiPropertyOptional({ example: 2, minimum: 1 })
  @Coded('version_invalid', 'version must be a positive integer.', optional((value) => toPositiveInt(value, VERSION_MAX) !== undefined))
  version?: number;
}

/** A PDX notification, sent as JSON to the same URL [S]. Stored sealed and shown in GET /v1/connections/me. */
export class ConnectionNotificationDto {
  @ApiProperty({ enum: ['notification'] })
  type!: 'notification';

  /** Mydex's example sends it as a string (`"4020"`) [S]. */
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'integer' }], example: '4020' })
  uid?: string | number;

  @ApiPropertyOptional({ example: 'Dataset updated' })
  message?: string;

  @ApiPropertyOptional({ example: 'field_ds_personal_details' })
  dataset?: string;

  @ApiPropertyOptional({ example: '587-45678' })
  connection_id?: string;

  @ApiPropertyOptional({ example: 'update' })
  action?: string;

  @ApiPropertyOptional({ example: '12' })
  updated_id?: string;
}

export class CallbackReceivedDto {
  @ApiProperty({ example: true })
  received!: true;
}
