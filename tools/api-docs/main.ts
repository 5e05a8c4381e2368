// `npm run docs:api`: writes docs/errors.md and docs/examples/rampart-api.d.ts from the code.
// Input: the error codes, ERROR_STATUS, the catalogue and the OpenAPI operation entries. Output:
// the two files, overwritten. Idempotent; the specs fail while either file is out of date.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { renderErrorCatalogue } from '../../apps/gateway/src/errors/error-catalogue.js';
import { CLIENT_TYPES, ERRORS_DOC, generateClientTypes, ROOT } from './api-docs.js';

async function main(): Promise<void> {
  writeFileSync(ERRORS_DOC, renderErrorCatalogue());
  writeFileSync(CLIENT_TYPES, await generateClientTypes());
  process.stdout.write(`wrote ${relative(ROOT, ERRORS_DOC)} and ${relative(ROOT, CLIENT_TYPES)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
