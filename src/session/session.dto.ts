import { ApiProperty } from '@nestjs/swagger';

export class SessionMemberDto {
  /** The member's subject at Mydex (opaque, 64 hex characters at Mydex). */
  sub!: string;

  /** The member's MydexID, when Mydex disclosed it. */
  @ApiProperty({ type: String, nullable: true })
  mydexid!: string | null;
}

export class SessionDto {
  member!: SessionMemberDto;

  /** When the session ends (ISO 8601). */
  expiresAt!: string;

  /** Whether the member's PDS is connected to this subscriber (First Time Connection done). */
  connected!: boolean;
}
