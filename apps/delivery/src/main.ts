import { startService } from '@app/platform';
import { loadDeliveryConfig } from './config/delivery.config.js';
import { DeliveryModule } from './delivery.module.js';

startService('delivery', () => loadDeliveryConfig(), (config) => DeliveryModule.register(config));
