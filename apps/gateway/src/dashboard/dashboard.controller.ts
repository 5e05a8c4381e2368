import { Controller, Get, Header } from '@nestjs/common';
import { DASHBOARD_HTML } from './dashboard.page.js';
import { DASHBOARD_JS } from './dashboard.script.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'";

/**
 * The operator dashboard: one static page and its script, no build step. The page is public (it
 * holds no data); every admin API call it makes carries the token the operator enters.
 */
@Controller('admin')
export class DashboardController {
  @Get(['', 'index.html'])
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  @Header('x-content-type-options', 'nosniff')
  @Header('cache-control', 'no-store')
  page(): string {
    return DASHBOARD_HTML;
  }

  @Get('dashboard.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  @Header('cache-control', 'no-store')
  script(): string {
    return DASHBOARD_JS;
  }
}
