/** The web dashboard as the server ships it: the built page and its assets, served at `/`. */
export type { DashboardFile } from './assets.ts';
export { acceptsGzip, defaultDashboardDir, isAssetName, readDashboardFile } from './assets.ts';
export type { DashboardOptions } from './routes.ts';
export { registerDashboard } from './routes.ts';
