import { BatchController } from './batch.controller.js';
import { OverviewController } from './overview.controller.js';

/** Controllers of `GET /api/me/overview` and `POST /api/batch`, registered by the gateway module. */
export const OVERVIEW_CONTROLLERS = [OverviewController, BatchController];
