import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { DataEncryption } from '../common/crypto/data-encryption.js';
import { CryptoModule } from '../common/crypto/crypto.module.js';
import { ReturnToModule } from '../common/return-to/return-to.module.js';
import { connectionConfig } from '../config/connection.config.js';
import { MydexModule } from '../mydex/mydex.module.js';
import { SessionModule } from '../session/session.module.js';
import { ConnectionCallbackController } from './connection-callback.controller.js';
import { ConnectionCallbackGuard } from './connection-callback.guard.js';
import { Connection, ConnectionEvent } from './connection.entity.js';
import { ConnectionRepository } from './connection.repository.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';

/**
 * ConnectionModule: Mydex's First Time Connection callback (POST/PUT) and notifications, the member
 * key encrypted at rest, and the member-facing start/status/return endpoints.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Connection, ConnectionEvent]),
    ConfigModule.forFeature(connectionConfig),
    CryptoModule,
    SessionModule,
    MydexModule,
    ReturnToModule,
  ],
  controllers: [ConnectionCallbackController, ConnectionsController],
  providers: [
    ConnectionsService,
    ConnectionCallbackGuard,
    // A plain class (the operator command constructs it without Nest): built from the data source and the data key ring.
    {
      provide: ConnectionRepository,
      inject: [getDataSourceToken(), DataEncryption],
      useFactory: (dataSource: DataSource, encryption: DataEncryption) => new ConnectionRepository(dataSource, encryption),
    },
  ],
  exports: [ConnectionsService],
})
export class ConnectionModule {}
