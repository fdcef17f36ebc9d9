import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiCall,
  createKey,
  type DashboardFront,
  dashboardFront,
  launchChromium,
  openPage,
  type Served,
  startServe,
  unnamedControls,
} from '../support/browser-kit.ts';
import { FEATURE_TEAM, FEATURE_TEAM_NODES, tempDir } from '../support/cli-kit.ts';

// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against a real
// `orchestrator serve` running the README's demo with the scripted model (real Claude Code
// agents through the real SDK). One server and one browser for the file; the tests run in
// order (the last one creates API keys, which ends the server's keyless loopback mode).

const DEMO_SCENARIO = path.join(path.dirname(FEATURE_TEAM), 'scenario.yaml');

let tmp: Awaited<ReturnType<typeof tempDir>>;
let served: Served;
let front: DashboardFront;
let browser: Browser;
let demoSession: string | undefined;

beforeAll(async () => {
  tmp = await tempDir('web');
  // The demo's scenario with a planner that takes its time over its last turn, so a pause
  // clicked while it runs lands while it runs (on a quiet machine it finished first).
  const scenario = (await readFile(DEMO_SCENARIO, 'utf8')).replace(
    '      - "PLAN.md is written: the API, three edge cases and five tests."',
    '      - { content: [{ text: "PLAN.md is written: the API, three edge cases and five tests." }], delay_ms: 4000 }',
  );
  expect(scenario).toContain('delay_ms: 4000');
  const scenarioFile = path.join(tmp.dir, 'scenario.yaml');
  await writeFile(scenarioFile, scenario);
  // A session budget the demo stays far within, so the page has a limit to show with what is left.
  served = await startServe(path.join(tmp.dir, 'data'), {
    scenario: scenarioFile,
    env: { ORCHESTRATOR_BUDGET_SESSION_USD: '1000' },
  });
  front = await dashboardFront(served);
  browser = await launchChromium();
  // What the page is not about is set up through the API: the demo workflow is registered, its
  // planner with a node budget of its own (far above what it spends).
  const demo = (await readFile(FEATURE_TEAM, 'utf8')).replace(
    '    task: "Plan {{ inputs.feature }}',
    '    budget: { usd: 100, tokens: 50000000 }\n    task: "Plan {{ inputs.feature }}',
  );
  expect(demo).toContain('tokens: 50000000');
  await apiCall(served, 'POST', '/v1/workflows', { body: { source: demo } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await front?.close();
  await served?.stop();
  await tmp?.cleanup();
});

/** Polls until the value matches, for up to 30 s (the page is live; the run is real). */
function poll<T>(read: () => T | Promise<T>, timeout = 30_000) {
  return expect.poll(read, { timeout, interval: 100 });
}

/** The status the session page shows. */
const sessionStatus = (page: Page) => page.locator('section.session').getAttribute('data-status');

/** Waits for a graph node to show a state. */
async function nodeState(page: Page, nodeId: string, status: string, timeout = 90_000): Promise<void> {
  await page.locator(`[data-testid="node-${nodeId}"][data-status="${status}"]`).waitFor({ timeout });
}

describe('the dashboard against orchestrator serve', () => {
  it('serves the page at / and its assets, gzipped', async () => {
    expect(front.servedByServer, 'orchestrator serve serves the page itself').toBe(true);
    const response = await fetch(`${served.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${served.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('starts the demo from the page, pauses and resumes it, shows the node added at run time, answers the approval, opens a transcript', {
    timeout: 300_000,
  }, async () => {
    const { page, context, errors } = await openPage(browser);
    await page.goto(`${front.url}/`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();

    // Start the registered demo with its default input.
    await page.getByTestId('start-workflow').click();
    const dialog = page.getByRole('dialog', { name: 'Start a workflow' });
    await dialog.getByLabel('Workflow', { exact: true }).selectOption('feature-team');
    await poll(() => dialog.getByLabel(/^feature/).inputValue()).toBe('a CSV parser');
    await dialog.getByTestId('start-submit').click();
    await page.waitForURL(/#\/sessions\/ses_/);
    demoSession = decodeURIComponent(/#\/sessions\/([^?]+)/.exec(page.url())?.[1] ?? '');
    expect(demoSession).toMatch(/^ses_/);

    // The graph of the definition, live: the planner runs.
    await page.getByTestId('workflow-graph').waitFor();
    for (const id of ['plan', 'implement', 'tests', 'review', 'triage', 'ship']) {
      await page.getByTestId(`node-${id}`).waitFor();
    }
    await nodeState(page, 'plan', 'running');
    // Laid out by ELK in its worker.
    await poll(() => page.getByTestId('workflow-graph').getAttribute('data-layout')).toBe('elk');

    // Pause while it runs: the running node is interrupted and nothing starts.
    await page.getByTestId('pause').click();
    await poll(() => sessionStatus(page), 30_000).toBe('paused');
    await poll(() => page.getByTestId('resume').isEnabled()).toBe(true);
    // The running agent is stopped: its node waits to run again.
    await poll(() => page.getByTestId('node-plan').getAttribute('data-status')).toBe('retry_wait');

    // Resume: the planner runs again and the run carries on.
    await page.getByTestId('resume').click();
    await poll(() => sessionStatus(page), 30_000).not.toBe('paused');
    await nodeState(page, 'plan', 'completed');
    await nodeState(page, 'review', 'completed', 150_000);

    // The lead adds a fix-up node at run time: it appears, marked, saying who added it.
    const fixup = page.locator('[data-testid="node-fixup"][data-added="true"]');
    await fixup.waitFor({ timeout: 90_000 });
    await poll(() => fixup.textContent()).toMatch('added by lead');

    // The approval waits for a human: answered from the page.
    const approve = page.getByTestId('approve').first();
    await approve.waitFor({ timeout: 120_000 });
    await page
      .getByText(/Ship a CSV parser\?/)
      .first()
      .waitFor();
    await approve.click();
    await poll(() => sessionStatus(page), 60_000).toBe('completed');
    for (const id of FEATURE_TEAM_NODES) {
      expect(await page.getByTestId(`node-${id}`).getAttribute('data-status'), id).toBe('completed');
    }

    // Every view, reached from the keyboard (arrow keys move between tabs), names its controls.
    await page.getByRole('tab', { name: 'Graph' }).focus();
    for (const name of ['Timeline', 'Agents', 'Figures', 'Questions', 'Versions', 'Audit']) {
      await page.keyboard.press('ArrowRight');
      await poll(() => page.getByRole('tab', { name }).getAttribute('aria-selected')).toBe('true');
      await page.getByRole('tabpanel').waitFor();
      expect(await unnamedControls(page), name).toEqual([]);
    }

    // The reviewer's transcript: its tool calls and its structured verdict.
    await page.getByRole('tab', { name: 'Agents' }).click();
    await page.locator('[data-agent]', { hasText: 'review' }).first().click();
    const transcript = page.getByTestId('transcript');
    await poll(() => transcript.textContent()).toMatch('reviewer on review');
    await poll(() => transcript.textContent()).toMatch('changes_requested');
    await transcript.locator('.entry-tool').first().waitFor();

    // The audit names the answer and the graph change.
    await page.getByRole('tab', { name: 'Audit' }).click();
    await poll(() => page.getByTestId('audit-table').textContent()).toMatch('add node fixup');
    await poll(() => page.getByTestId('audit-table').textContent()).toMatch('answer approval ship');

    expect(errors).toEqual([]);
    await context.close();
  });

  it("lists the session with its tokens and duration, finds it by the server's search, shows its budgets, and compares two of its versions with their files", {
    timeout: 120_000,
  }, async () => {
    expect(demoSession, 'the demo test ran first').toBeDefined();
    const sessionId = demoSession as string;
    const { page, context, errors } = await openPage(browser);
    await page.goto(`${front.url}/#/sessions`);
    const row = page.locator(`tr[data-session="${sessionId}"]`);
    await poll(() => row.getAttribute('data-status')).toMatch('completed');
    await poll(() => row.textContent()).toMatch('feature-team');
    await poll(() => row.textContent()).toMatch('$');
    // Tokens and duration come from the server's row (GET /v1/sessions), not from the page.
    const listed = (await apiCall(served, 'GET', `/v1/sessions?q=${sessionId}`)) as {
      sessions: Array<{ sessionId: string; tokens?: number; durationMs?: number }>;
    };
    const served_ = listed.sessions.find((s) => s.sessionId === sessionId);
    expect(served_?.tokens).toBeGreaterThan(0);
    expect(served_?.durationMs).toBeGreaterThan(0);
    await poll(() => row.locator('td').nth(4).textContent()).toMatch(/\d/);
    await poll(() => row.locator('td').nth(5).textContent()).toMatch(/\d/);

    // The search box asks the server (`q=`), by session id or workflow name.
    const search = page.getByLabel('Search', { exact: true });
    const asked = page.waitForRequest(
      (r) => r.url().includes('/v1/sessions?') && r.url().includes(`q=${sessionId.slice(-6)}`),
    );
    await search.fill(sessionId.slice(-6));
    await asked;
    await poll(() => page.locator('tr[data-session]').count()).toBe(1);
    await poll(() => page.locator('tr[data-session]').first().getAttribute('data-session')).toBe(sessionId);
    expect(page.url()).toContain(`q=${sessionId.slice(-6)}`);
    await search.fill('no-such-session-anywhere');
    await poll(() => page.getByTestId('sessions-table').textContent()).toMatch('No sessions match these filters');
    await search.fill('FEATURE-te');
    await poll(() => row.count()).toBe(1);

    await row.getByRole('link').click();

    // Budgets: the configured limits with what was spent and what is left.
    await page.getByRole('tab', { name: 'Figures' }).click();
    const limits = page.getByTestId('budget-limits');
    const sessionLimit = limits.locator(`tr[data-budget="session:${sessionId}"]`);
    await poll(() => sessionLimit.textContent()).toMatch('$1000.00');
    await poll(() => sessionLimit.textContent()).toMatch('within');
    const planLimit = limits.locator('tr[data-budget="node:plan"]');
    await poll(() => planLimit.textContent()).toMatch('$100.00');
    await poll(() => planLimit.textContent()).toMatch(/tokens/);
    const left = await planLimit.locator('td').nth(3).textContent();
    expect(left).toMatch(/\$9\d\.\d+/);

    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByRole('tab', { name: 'Versions' }).click();
    const versions = page.getByTestId('versions-table');
    await versions.waitFor();
    expect(await versions.locator('tbody tr').count()).toBeGreaterThanOrEqual(2);
    // The first version against the last: every node that changed state, the fix-up one added.
    await page.getByLabel('From', { exact: true }).selectOption({ index: 0 });
    const toOptions = await page.getByLabel('To', { exact: true }).locator('option').count();
    await page.getByLabel('To', { exact: true }).selectOption({ index: toOptions - 2 });
    await page.getByTestId('show-diff').click();
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    await poll(() => page.getByTestId('diff-nodes').textContent()).toMatch('fixup');
    await poll(() => page.getByTestId('diff-nodes').textContent()).toMatch('(not there: added)');
    // The files the agents wrote between the two, each with its diff.
    const files = page.getByTestId('diff-files');
    await files.waitFor();
    const csv = files.locator('[data-file="src/csv.ts"]');
    await poll(() => csv.locator('summary').textContent()).toMatch(/added|modified/);
    await poll(() => csv.locator('.unified-diff .add').count()).toBeGreaterThan(0);
    await poll(() => csv.locator('.unified-diff').textContent()).toMatch('+++ b/src/csv.ts');

    // A version taken from the page is in the audit, naming who took it.
    await page.getByTestId('take-version').click();
    await poll(async () => versions.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
    await page.getByRole('tab', { name: 'Audit' }).click();
    const taken = page.getByTestId('audit-table').locator('tr', { hasText: 'take version' });
    await poll(() => taken.first().textContent()).toMatch('api:local');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows analytics by workflow from the statistics', async () => {
    const { page, context, errors } = await openPage(browser);
    await page.goto(`${front.url}/#/analytics?by=workflow`);
    const table = page.getByTestId('stats-table');
    await poll(() => table.textContent()).toMatch('feature-team');
    await page.getByRole('button', { name: 'By agent type' }).click();
    await poll(() => table.textContent()).toMatch('reviewer');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('asks for an API key once keys exist, keeps it for the tab, and disables what its scopes do not allow', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const readKey = await createKey(dataDir, 'viewer', ['read']);
    const approveKey = await createKey(dataDir, 'approver', ['read', 'approve']);
    // The server reads keys again within a second.
    await poll(async () => (await fetch(`${served.url}/v1/sessions?limit=1`)).status, 10_000).toBe(401);

    const { page, context, errors } = await openPage(browser);
    await page.goto(`${front.url}/`);
    const keyField = page.getByLabel('Key', { exact: true });
    await keyField.waitFor();
    await keyField.fill('orch_000000000000_not-a-real-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await poll(() => page.getByRole('alert').first().textContent()).toMatch(/API key/);

    await keyField.fill(readKey);
    await page.getByRole('button', { name: 'Use this key' }).click();
    // Named by its name and scopes, as GET /v1/whoami says.
    const principal = page.getByTestId('principal');
    await poll(() => principal.textContent()).toMatch('Key viewer');
    await poll(() => page.getByTestId('principal-scopes').textContent()).toBe('read');
    // Disabled, not hidden, with the reason: the key, the scope and what the scope is for.
    const start = page.getByTestId('start-workflow');
    await start.waitFor();
    await poll(() => start.isDisabled()).toBe(true);
    await poll(() => start.getAttribute('title')).toMatch(/"viewer" lacks the "run" scope \(to start, pause/);
    expect(await start.getAttribute('data-reason')).toBe(await start.getAttribute('title'));

    // Kept for the tab: a reload keeps it; another tab (a new context) has none.
    await page.reload();
    await poll(() => principal.textContent()).toMatch('Key viewer');
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.goto(`${front.url}/#/sessions/${demoSession}`);
    await poll(() => page.getByTestId('cancel').isDisabled()).toBe(true);

    const other = await openPage(browser, { key: approveKey });
    await other.page.goto(`${front.url}/`);
    await poll(() => other.page.getByTestId('principal').textContent()).toMatch('Key approver');
    await poll(() => other.page.getByTestId('principal-scopes').textContent()).toBe('read, approve');
    await poll(() => other.page.getByTestId('start-workflow').isDisabled()).toBe(true);
    // On the session page: answering is allowed to it, taking a version is not (disabled, with why).
    await other.page.goto(`${front.url}/#/sessions/${demoSession}`);
    await other.page.getByRole('tab', { name: 'Versions' }).click();
    const take = other.page.getByTestId('take-version');
    await poll(() => take.isDisabled()).toBe(true);
    await poll(() => take.getAttribute('title')).toMatch(/"approver" lacks the "run" scope/);

    expect(errors).toEqual([]);
    await other.context.close();
    await context.close();
  });
});
