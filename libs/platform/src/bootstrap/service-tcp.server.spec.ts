import { ServerTCP } from '@nestjs/microservices';
import { Patterns } from '@app/contracts';
import { ServiceTcpServer } from './service-tcp.server.js';

describe('ServiceTcpServer', () => {
  const options = { host: '127.0.0.1', port: 0 };
  const ours = new ServiceTcpServer(options);
  // Nest's own route making (protected there; public in ours).
  const nests = new ServerTCP(options) as unknown as { getRouteFromPattern(pattern: string): string };

  it('routes every pattern exactly as Nest does', () => {
    const patterns = [
      ...Object.values(Patterns),
      'true', 'false', 'null', '42', '"quoted"', '{"cmd":"gift.get"}', '{"b":1,"a":"x"}', '[1,2]', 'not json {', 'gift get', '',
    ];
    for (const pattern of patterns) expect([pattern, ours.getRouteFromPattern(pattern)]).toEqual([pattern, nests.getRouteFromPattern(pattern)]);
  });

  it('routes a plain pattern without trying JSON.parse (which throws for it)', () => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(ours.getRouteFromPattern(Patterns.GetGift)).toBe(Patterns.GetGift);
      expect(parse).not.toHaveBeenCalled();
      nests.getRouteFromPattern(Patterns.GetGift);
      expect(parse).toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });
});
