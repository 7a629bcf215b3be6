import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { OptionalField } from '../common/http/optional-field.js';
import { MAX_REDIRECT_LENGTH } from '../common/return-to/return-to.policy.js';
import type { DatasetPermission } from './permissions.js';

export class StartConnectionDto {
  /**
   * Where the browser lands after Mydex's Data Sharing Agreement: a URL on one of FRONTEND_ORIGINS (or,
   * for a native session, exactly one of NATIVE_REDIRECT_URIS). Default: the first frontend origin.
   */
  @ApiPropertyOptional({ example: 'http://localhost:3000/connected', maxLength: MAX_REDIRECT_LENGTH })
  @OptionalField()
  @IsString()
  @MaxLength(MAX_REDIRECT_LENGTH)
  returnTo?: string;
}

export class ConnectionStartedDto {
  /** Mydex's one-time Data Sharing Agreement URL: send the member's browser there. */
  @ApiProperty({ example: 'http://localhost:4000/dssa/4f1c…' })
  url!: string;

  /** `first` (a First Time Connection) or `update` (re-approval of a newer agreement version). */
  @ApiProperty({ enum: ['first', 'update'] })
  kind!: 'first' | 'update';
}

export class DatasetPermissionDto implements DatasetPermission {
  read!: boolean;
  write!: boolean;

  @ApiProperty({ enum: ['automatic', 'on_request'], nullable: true, type: String })
  readStyle!: 'automatic' | 'on_request' | null;

  @ApiProperty({ enum: ['automatic', 'on_request'], nullable: true, type: String })
  writeStyle!: 'automatic' | 'on_request' | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'object', properties: { read: { type: 'boolean' }, write: { type: 'boolean' } } },
  })
  fields?: Record<string, { read: boolean; write: boolean }>;
}

/** A PDX notification Mydex sent about the member's PDS [S], as the member may see it. */
export class ConnectionNotificationViewDto {
  @ApiProperty({ type: String, nullable: true, example: 'Data for member 4020 has changed' })
  message!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'ds_events' })
  dataset!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'create' })
  action!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '1' })
  updatedId!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '4020-40000' })
  connectionId!: string | null;

  /** As Mydex sent it: Mydex's example sends a string (`"4020"`) [S], the callback an integer. */
  @ApiProperty({ oneOf: [{ type: 'string', nullable: true }, { type: 'integer' }], example: '4020' })
  uid!: string | number | null;

  /** When the BFF received it (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time' })
  receivedAt!: string;
}

/** The member's connection as the frontend may see it: never the member key. */
export class ConnectionStatusDto {
  connected!: boolean;

  @ApiProperty({ type: String, nullable: true, example: '587-45678' })
  connectionId!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 587 })
  uid!: number | null;

  /** Per dataset: read/write granted and the style (automatic or on request). */
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: { $ref: '#/components/schemas/DatasetPermissionDto' } })
  permissions!: Record<string, DatasetPermissionDto> | null;

  /** The agreement version the member approved. */
  @ApiProperty({ type: Number, nullable: true, example: 1 })
  version!: number | null;

  /** True when the configured agreement version is newer than the approved one: POST /v1/connections starts the update. */
  updateAvailable!: boolean;

  /** When the member first connected (ISO 8601). */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  connectedAt!: string | null;

  /** The latest PDX notifications about the member's PDS (at most 5), newest first; empty when not connected. */
  @ApiProperty({ type: [ConnectionNotificationViewDto] })
  notifications!: ConnectionNotificationViewDto[];
}
