import { StatusSequence } from './status-sequence.js';

describe('StatusSequence (what an order event stream sends)', () => {
  it('never goes backwards: an announcement older than the status read is dropped', () => {
    // Subscribed first, then read version 3 (delivering); announcements 2 (queued) and 3 were queued up meanwhile.
    const sequence = new StatusSequence();
    expect(sequence.next(3, 'delivering')).toBe('delivering');
    expect(sequence.nextFromMessage('2|queued')).toBeUndefined();
    expect(sequence.nextFromMessage('3|delivering')).toBeUndefined();
    expect(sequence.nextFromMessage('4|delivered')).toBe('delivered');
  });

  it('sends a status once per change, and a later return to an earlier status when it is newer', () => {
    const sequence = new StatusSequence();
    const sent = ['1|delivering', '2|queued', '2|queued', '3|delivering', '4|delivering', '5|delivered'].map((m) => sequence.nextFromMessage(m));
    expect(sent).toEqual(['delivering', 'queued', undefined, 'delivering', undefined, 'delivered']);
  });

  it('drops malformed announcements', () => {
    const sequence = new StatusSequence();
    expect(sequence.nextFromMessage('delivered')).toBeUndefined();
    expect(sequence.nextFromMessage('x|delivered')).toBeUndefined();
    expect(sequence.nextFromMessage('1|queued')).toBe('queued');
  });
});
