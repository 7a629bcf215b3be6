import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/auth/route-access.decorator.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';

@ApiTags('health')
@Public()
@SkipRateLimit('orchestrator and load-balancer probes; no Mydex call')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  /** The process is up. */
  @Get('live')
  @ApiOperation({ operationId: 'getLiveness' })
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The process can serve: the database answers a ping within a second. */
  @Get('ready')
  @ApiOperation({ operationId: 'getReadiness' })
  @HealthCheck()
  ready() {
    return this.health.check([() => this.database.pingCheck('database', { timeout: 1000 })]);
  }
}
