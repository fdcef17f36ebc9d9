#!/usr/bin/env node
// Screenshots of the dashboard's key pages for the README and docs/dashboard.md, taken in
// Debian's Chromium against a real `orchestrator serve` running the demo offline (the
// scripted model): the session page while the approval waits, then its timeline, an agent's
// transcript, its figures, a diff of two versions, the sessions list and analytics.
//
//   npm run screenshots            writes docs/images/dashboard-*.png (1280×800)
//   npm run screenshots -- DIR     writes them to DIR
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { apiCall, dashboardFront, launchChromium, openPage, startServe } from '../test/support/browser-kit.ts';
import { FEATURE_TEAM, REPO_ROOT, tempDir } from '../test/support/cli-kit.ts';

const out = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'docs', 'images'));
await mkdir(out, { recursive: true });
const tmp = await tempDir('screenshots');
const served = await startServe(path.join(tmp.dir, 'data'), {
  scenario: path.join(path.dirname(FEATURE_TEAM), 'scenario.yaml'),
});
const front = await dashboardFront(served);
const browser = await launchChromium();
try {
  await apiCall(served, 'POST', '/v1/workflows', { body: { source: await readFile(FEATURE_TEAM, 'utf8') } });
  const started = await apiCall<{ sessionId: string }>(served, 'POST', '/v1/sessions', {
    body: { workflow: 'feature-team', inputs: {} },
  });
  const { page } = await openPage(browser);
  const shot = async (name: string) => {
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(out, `dashboard-${name}.png`) });
    console.error(`[screenshots] ${path.join(out, `dashboard-${name}.png`)}`);
  };
  const session = `${front.url}/#/sessions/${started.sessionId}`;
  await page.goto(session);
  await page.getByTestId('approve').first().waitFor({ timeout: 240_000 });
  await page.getByTestId('node-fixup').click();
  await shot('graph');
  await page.getByTestId('approve').first().click();
  await page.locator('section.session[data-status="completed"]').waitFor({ timeout: 60_000 });
  for (const [tab, name] of [
    ['timeline', 'timeline'],
    ['figures', 'figures'],
  ] as const) {
    await page.goto(`${session}?tab=${tab}`);
    await shot(name);
  }
  await page.goto(`${session}?tab=agents`);
  await page.locator('[data-agent]', { hasText: 'review' }).first().click();
  await shot('transcript');
  await page.goto(`${session}?tab=versions`);
  await page.getByTestId('versions-table').waitFor();
  await page.getByLabel('From', { exact: true }).selectOption({ index: 0 });
  await page.getByTestId('show-diff').click();
  await page.getByTestId('diff').waitFor();
  await page.getByTestId('diff').scrollIntoViewIfNeeded();
  await shot('diff');
  await page.goto(`${front.url}/#/sessions`);
  await page.locator('tr[data-session]').first().waitFor();
  await shot('sessions');
  await page.goto(`${front.url}/#/analytics?by=agent-type`);
  await page.getByTestId('stats-table').waitFor();
  await shot('analytics');
} finally {
  await browser.close();
  await front.close();
  await served.stop();
  await tmp.cleanup();
}
