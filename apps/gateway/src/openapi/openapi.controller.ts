import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header } from '@nestjs/common';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { buildOpenApiDocument } from './openapi.document.js';
import { DOCS_CSP, DOCS_HTML, DOCS_INIT_JS } from './docs.page.js';

/** Reads a file of swagger-ui-dist once, on first use. */
function asset(file: string): () => string {
  let text: string | undefined;
  return () => (text ??= readFileSync(join(getAbsoluteFSPath(), file), 'utf8'));
}
const swaggerCss = asset('swagger-ui.css');
const swaggerJs = asset('swagger-ui-bundle.js');

/**
 * `GET /openapi.json` (the document, built once from the operation entries) and `GET /docs` (Swagger
 * UI). Public, like the dashboard page: they describe the API and hold no data and no secret.
 */
@Controller()
export class OpenApiController {
  private document?: Record<string, unknown>;

  @Get('openapi.json')
  @Header('cache-control', 'no-cache')
  openApi(): Record<string, unknown> {
    return (this.document ??= buildOpenApiDocument());
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CSP)
  @Header('x-content-type-options', 'nosniff')
  docs(): string {
    return DOCS_HTML;
  }

  @Get('docs/init.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  init(): string {
    return DOCS_INIT_JS;
  }

  @Get('docs/swagger-ui.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  css(): string {
    return swaggerCss();
  }

  @Get('docs/swagger-ui-bundle.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  @Header('cache-control', 'public, max-age=3600')
  bundle(): string {
    return swaggerJs();
  }
}
