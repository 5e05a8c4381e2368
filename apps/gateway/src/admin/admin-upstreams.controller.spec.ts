import type { Upstream } from '../upstream/upstream.client.js';
import { AdminUpstreamsController } from './admin-upstreams.controller.js';

const upstream = (snapshot?: Upstream['snapshot']): Upstream => ({ call: jest.fn(), anyInstanceAnswers: jest.fn(), close: jest.fn(), snapshot });

describe('AdminUpstreamsController', () => {
  it('lists every instance per service in the contract shape, with ejectedUntil as ISO time', () => {
    jest.useFakeTimers({ now: Date.parse('2026-05-01T10:00:00.000Z') });
    try {
      const query = upstream(() => [
        { endpoint: '127.0.0.1:4001', state: 'healthy', successRate: 0.98765, requests: 120, p99Ms: 15, ejections: 0 },
        { endpoint: '127.0.0.1:4002', state: 'ejected', successRate: 0, requests: 5, p99Ms: 300, ejections: 2, ejectedForMs: 10_000 },
      ]);
      const controller = new AdminUpstreamsController(query, upstream());
      expect(controller.list()).toEqual({
        query: [
          { address: '127.0.0.1:4001', state: 'healthy', successRate: 0.988, requests: 120, p99Ms: 15, ejections: 0 },
          { address: '127.0.0.1:4002', state: 'ejected', successRate: 0, requests: 5, p99Ms: 300, ejections: 2, ejectedUntil: '2026-05-01T10:00:10.000Z' },
        ],
        delivery: [],
      });
    } finally {
      jest.useRealTimers();
    }
  });
});
