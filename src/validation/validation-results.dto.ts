import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The parameters of a rule (GET /v1/validation/rules), also in each `errors[]` entry. */
export class RuleParamsDto {
  /** Minimum length in Unicode code points, after trimming. */
  @ApiPropertyOptional()
  min?: number;

  /** Maximum length in Unicode code points, after trimming. */
  @ApiPropertyOptional()
  max?: number;

  /** A JavaScript regular expression (flag `u`) the trimmed value must match. */
  @ApiPropertyOptional()
  pattern?: string;

  /**
   * The field whose trimmed value this one must differ from. The password is compared with the
   * MydexID ignoring letter case (MydexIDs are case-insensitive [I]); the private key exactly.
   */
  @ApiPropertyOptional()
  differentFrom?: string;
}

/** One failed rule on one field. The same shape as `errors[]` in a 422 problem. */
export class FieldErrorDto {
  /** The request field, e.g. `mydexid`. */
  @ApiProperty({ example: 'mydexid' })
  field!: string;

  /** A stable code from the rule catalogue (GET /v1/validation/rules). */
  @ApiProperty({ example: 'mydexid_digits_only' })
  code!: string;

  /** English text for the member; frontends may translate by code. */
  @ApiProperty({ example: 'A MydexID cannot be made up only of digits.' })
  message!: string;

  /**
   * The rule's parameters, as in the catalogue (e.g. `{ "min": 8 }` for `password_too_short`), so a
   * frontend can translate by `code` without parsing `message`. `{}` for a rule without parameters.
   */
  @ApiProperty({ type: RuleParamsDto, example: { pattern: '[^0-9]' } })
  params!: RuleParamsDto;
}

/** The verdict on a set of registration details. */
export class RegistrationCheckDto {
  /** true when no rule failed (Mydex may still refuse a MydexID or email that is taken). */
  @ApiProperty()
  valid!: boolean;

  /** Every failed rule, a field's failures in rule order; empty when valid. */
  @ApiProperty({ type: [FieldErrorDto] })
  errors!: FieldErrorDto[];
}

export class ValidationRuleDto {
  /** `registration` (the details the BFF checks) or `privateKey` (Mydex's Private Key form, for reference). */
  @ApiProperty({ enum: ['registration', 'privateKey'] })
  form!: string;

  @ApiProperty({ example: 'mydexid' })
  field!: string;

  @ApiProperty({ example: 'mydexid_length' })
  code!: string;

  @ApiProperty({ type: RuleParamsDto })
  params!: RuleParamsDto;

  @ApiProperty({ example: 'A MydexID must be 3 to 60 characters long.' })
  message!: string;

  /** false for uniqueness rules: only Mydex can check them, at registration. */
  @ApiProperty()
  local!: boolean;

  /**
   * `mydex`: one of the registration or Private Key rules Mydex publishes on its registration
   * page. `bff`: the BFF's own addition (the email format), which Mydex may judge differently.
   */
  @ApiProperty({ enum: ['mydex', 'bff'] })
  source!: string;
}

/** The rule catalogue, in rule order. */
export class ValidationRulesDto {
  /** Every field is trimmed (leading and trailing white space) before its rules run. */
  @ApiProperty({ example: true })
  trimmed!: boolean;

  /** Lengths count Unicode code points, not UTF-16 units or bytes. */
  @ApiProperty({ enum: ['codePoints'] })
  lengthUnit!: string;

  @ApiProperty({ type: [ValidationRuleDto] })
  rules!: ValidationRuleDto[];
}
