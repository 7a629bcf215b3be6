import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { ProblemDetailsFilter } from './problem/problem-details.filter.js';
import { RouteRegistry } from './problem/route-registry.js';
import { ProblemValidationPipe } from './problem/problem-validation.pipe.js';

/**
 * The global request pipeline, registered as providers so a testing module runs exactly what
 * production runs: the problem+json filter and the ValidationPipe.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    RouteRegistry,
    { provide: APP_FILTER, inject: [RouteRegistry], useFactory: (routes: RouteRegistry) => new ProblemDetailsFilter(routes) },
    { provide: APP_PIPE, useFactory: () => new ProblemValidationPipe() },
  ],
  exports: [RouteRegistry],
})
export class CommonModule {}
