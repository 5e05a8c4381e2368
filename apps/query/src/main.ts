import { startService } from '@app/platform';
import { loadQueryConfig } from './config/query.config.js';
import { QueryModule } from './query.module.js';

startService('query', () => loadQueryConfig(), (config) => QueryModule.register(config));
