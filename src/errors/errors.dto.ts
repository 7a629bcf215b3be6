import { ApiProperty } from '@nestjs/swagger';

/** One problem code from the catalogue. */
export class ErrorCodeDto {
  /** The problem `type` URL answers with this code carry (it resolves to the code's page). */
  @ApiProperty({ format: 'uri', example: 'http://localhost:3000/errors/validation_failed' })
  type!: string;

  /** The stable snake_case code. */
  @ApiProperty({ example: 'validation_failed' })
  code!: string;

  /** The HTTP status it is answered with. */
  @ApiProperty({ example: 422 })
  status!: number;

  @ApiProperty({ example: 'The request has invalid fields' })
  title!: string;

  /** When the BFF answers it. */
  @ApiProperty({ example: 'One or more fields break a rule.' })
  when!: string;

  /** What the client should do about it. */
  @ApiProperty({ example: 'Show each entry beside its field and let the member correct them.' })
  action!: string;
}

/** Every problem code, alphabetically. */
export class ErrorCodeListDto {
  @ApiProperty({ type: [ErrorCodeDto] })
  codes!: ErrorCodeDto[];
}
