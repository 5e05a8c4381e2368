import { DASHBOARD_JS } from './dashboard.script.js';

describe('dashboard script', () => {
  // The script is JavaScript inside a template literal: an escape that the literal eats (a `\n` in a
  // string) breaks the whole page at load. Parsing it here fails fast, before a browser test.
  it('parses as JavaScript', () => {
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
  });
});
