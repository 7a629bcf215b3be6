import { Body, Controller, Get, Header, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags, ApiUnsupportedMediaTypeResponse } from '@nestjs/swagger';
import { Public } from '../common/auth/route-access.decorator.js';
import { checkRegistrationBody } from './registration-body.js';
import { RegistrationDetailsDto } from './registration-details.dto.js';
import { PUBLISHED_RULES } from './rule-catalogue.js';
import { RegistrationCheckDto, ValidationRulesDto } from './validation-results.dto.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';

const CATALOGUE: ValidationRulesDto = {
  trimmed: true,
  lengthUnit: 'codePoints',
  rules: PUBLISHED_RULES,
};

@ApiTags('validation')
@Public()
@RateLimit('validation')
@Controller('v1/validation')
export class ValidationController {
  @Get('rules')
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({
    operationId: 'listValidationRules',
    summary: 'The rule catalogue: code, field, parameters, English message and source (`mydex` or `bff`) of every rule',
  })
  @ApiOkResponse({ type: ValidationRulesDto })
  rules(): ValidationRulesDto {
    return CATALOGUE;
  }

  /**
   * Checks registration details against Mydex's rules without registering anything. Any JSON object
   * gets 200 with a verdict; unknown fields are ignored and nothing is echoed.
   */
  @Post('registration')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    operationId: 'validateRegistration',
    summary: 'Check registration details against the rules (MydexID and email uniqueness excepted)',
  })
  @ApiBody({ type: RegistrationDetailsDto })
  @ApiOkResponse({ type: RegistrationCheckDto })
  @ApiBadRequestResponse({ description: '`body_not_object` (the body is not a JSON object) or `malformed_json`', content: PROBLEM })
  @ApiUnsupportedMediaTypeResponse({ description: '`unsupported_media_type`: send application/json', content: PROBLEM })
  checkRegistration(@Body() body: unknown): RegistrationCheckDto {
    // The body is typed unknown on purpose: the global ValidationPipe would answer 422, but this
    // endpoint's job is to answer 200 with the verdict, so it runs the same DTO (the @ApiBody above)
    // itself, body_not_object included (docs/decisions.md, "Bodies through the ValidationPipe").
    const { errors } = checkRegistrationBody(body);
    return { valid: errors.length === 0, errors };
  }
}
