import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { exposureConfig } from '../config/exposure.config.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsListener } from './metrics-listener.js';
import { MetricsService } from './metrics.service.js';
import { RegistrationMetrics } from './registration-metrics.js';

/**
 * Global so any feature can count its outcomes without importing it everywhere. Exposure (main port
 * public, token or off; the separate METRICS_PORT listener): docs/operations.md, "Metrics". The
 * registration counter is a domain event subscriber (RegistrationMetrics).
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(exposureConfig)],
  controllers: [MetricsController],
  providers: [MetricsService, MetricsListener, RegistrationMetrics],
  exports: [MetricsService, MetricsListener],
})
export class MetricsModule {}
