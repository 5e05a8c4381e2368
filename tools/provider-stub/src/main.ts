import { loadProviderStubConfig } from './config/provider-stub.config.js';
import { startProviderStub } from './provider-stub.js';

const line = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, app: 'provider-stub', time: new Date().toISOString() })}\n`);
};

async function bootstrap(): Promise<void> {
  const config = loadProviderStubConfig();
  const stub = await startProviderStub({ ...config, log: line });
  line({ event: 'app.ready', pid: process.pid, port: stub.port, orderNumbers: config.orderNumbers, faults: config.faults });
  const stop = (): void => {
    void stub.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
