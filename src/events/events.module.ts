import { Global, Module } from '@nestjs/common';
import { DomainEventPublisher } from './domain-event.publisher.js';

/**
 * The domain events' publisher, global so any feature can publish. EventEmitter2 itself comes from
 * `EventEmitterModule.forRoot()`, registered once in AppModule; subscribers use `@OnEvent`
 * (docs/extending.md, "Subscribe to an event").
 */
@Global()
@Module({
  providers: [DomainEventPublisher],
  exports: [DomainEventPublisher],
})
export class EventsModule {}
