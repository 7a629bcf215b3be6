import { Module } from '@nestjs/common';
import { ErrorsController } from './errors.controller.js';

/** GET /errors and GET /errors/{code}: the pages every problem `type` URL points to. */
@Module({
  controllers: [ErrorsController],
})
export class ErrorsModule {}
