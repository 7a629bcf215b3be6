import { Controller, Get, Headers, Inject, Param, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiExtraModels, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { appConfig } from '../config/app.config.js';
import { EXAMPLE_PROBLEM_TYPE_BASE, EXAMPLE_PUBLIC_BASE_URL, exampleProblem } from '../openapi/examples.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { ALL_CODES, describeCode, errorPageLinks, findCode, prefersJson, renderCodeList, renderCodePage } from './error-pages.js';
import { ErrorCodeDto, ErrorCodeListDto } from './errors.dto.js';

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const CACHE = 'public, max-age=3600';

// The document's examples: rendered by the same functions for the example deployment.
const exampleLinks = errorPageLinks(EXAMPLE_PUBLIC_BASE_URL);
const exampleEntry = (code: (typeof ALL_CODES)[number]) => describeCode(code, `${EXAMPLE_PROBLEM_TYPE_BASE}${code}`);
const EXAMPLE_LIST = ['session_required', 'validation_failed'] as const;

/**
 * The pages every problem `type` URL points to (`{PUBLIC_BASE_URL}/errors/{code}`), generated from the
 * error-code catalogue: a short HTML page by default, JSON when the client prefers application/json.
 */
@ApiTags('errors')
@ApiExtraModels(ErrorCodeDto, ErrorCodeListDto)
@Public()
@SkipRateLimit('static pages rendered from the error catalogue: no database, Mydex or per-client work')
@Controller('errors')
export class ErrorsController {
  private readonly links: ReturnType<typeof errorPageLinks>;

  constructor(@Inject(appConfig.KEY) app: ConfigType<typeof appConfig>) {
    this.links = errorPageLinks(app.publicBaseUrl);
  }

  /** Every problem code with its status and title; HTML by default, JSON with `Accept: application/json`. */
  @Get()
  @ApiOperation({ operationId: 'listErrors', summary: 'Every problem code: status, title, when it happens and what to do' })
  @ApiOkResponse({
    description: 'HTML by default; JSON when `Accept` prefers application/json. Cacheable (`Vary: Accept`).',
    content: {
      'text/html': { schema: { type: 'string' }, example: renderCodeList(EXAMPLE_LIST.map(exampleEntry), exampleLinks.page) },
      'application/json': { schema: { $ref: getSchemaPath(ErrorCodeListDto) }, example: { codes: EXAMPLE_LIST.map(exampleEntry) } },
    },
  })
  list(@Headers('accept') accept: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): ErrorCodeListDto | string {
    const entries = ALL_CODES.map((code) => describeCode(code));
    void reply.header('cache-control', CACHE).header('vary', 'Accept');
    if (prefersJson(accept)) {
      void reply.type(JSON_TYPE);
      return { codes: entries };
    }
    void reply.type(HTML);
    return renderCodeList(entries, this.links.page);
  }

  /** One code: its title, status, when it happens and what the client should do. */
  @Get(':code')
  @ApiOperation({ operationId: 'getError', summary: 'One problem code: when it happens and what the client should do' })
  @ApiParam({ name: 'code', description: 'A problem `code`, e.g. `validation_failed`.', example: 'session_required' })
  @ApiOkResponse({
    description: 'HTML by default; JSON when `Accept` prefers application/json. Cacheable (`Vary: Accept`).',
    content: {
      'text/html': { schema: { type: 'string' }, example: renderCodePage(exampleEntry('session_required'), exampleLinks.list) },
      'application/json': { schema: { $ref: getSchemaPath(ErrorCodeDto) }, example: exampleEntry('session_required') },
    },
  })
  @ApiNotFoundResponse({
    description: '`not_found`: no such code.',
    content: { 'application/problem+json': { ...PROBLEM['application/problem+json'], example: exampleProblem('not_found') } },
  })
  one(
    @Param('code') segment: string,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): ErrorCodeDto | string {
    const code = findCode(segment);
    if (code === undefined) throw new ProblemException('not_found', 'There is no such error code; GET /errors lists them.');
    const entry = describeCode(code);
    void reply.header('cache-control', CACHE).header('vary', 'Accept');
    if (prefersJson(accept)) {
      void reply.type(JSON_TYPE);
      return entry;
    }
    void reply.type(HTML);
    return renderCodePage(entry, this.links.list);
  }
}
