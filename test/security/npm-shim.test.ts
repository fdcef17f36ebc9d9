import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFolders, buildAgentEnv, NPM_ROOT_CACHE, writeNpmShim } from '../../src/security/index.ts';
import { findNpm, shellQuote } from '../../src/security/npm-shim.ts';

const run = promisify(execFile);

let dir: string;
/** A stand-in npm that logs every call and answers `root -g` with a folder named oddly. */
let fakeBin: string;
let calls: string;
const ROOT = "/opt/odd 'root'/lib/node_modules";

async function callsMade(): Promise<string[]> {
  return (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** Runs the shim with the environment's PATH left out: it must not need it to find npm. */
async function shim(bin: string, args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(path.join(bin, 'npm'), args, { env: { PATH: '/usr/bin:/bin' } });
    return { stdout, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; code: number };
    return { stdout: failed.stdout, code: failed.code };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "orch npm 'shim' "));
  fakeBin = path.join(dir, 'fake bin');
  calls = path.join(dir, 'calls.log');
  await mkdir(fakeBin);
  await writeFile(
    path.join(fakeBin, 'npm'),
    `#!/bin/sh
printf '%s\\n' "$*" >> ${shellQuote(calls)}
if [ "$1" = root ]; then printf '%s\\n' ${shellQuote(ROOT)}; exit 0; fi
if [ "$1" = fail ]; then echo failing; exit 3; fi
for arg in "$@"; do printf '[%s]' "$arg"; done
`,
  );
  await chmod(path.join(fakeBin, 'npm'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the npm shim on the agents\u2019 PATH', () => {
  it('answers `npm root -g` from the real npm once, then from its cache', async () => {
    const bin = path.join(dir, 'data', 'bin');
    expect(await writeNpmShim(bin, `/nowhere:relative/dir:${fakeBin}:/usr/bin`)).toBe(path.join(bin, 'npm'));
    expect((await stat(path.join(bin, 'npm'))).mode & 0o777).toBe(0o755);
    await rm(calls, { force: true });
    expect(await shim(bin, ['root', '-g'])).toEqual({ stdout: `${ROOT}\n`, code: 0 });
    expect(await shim(bin, ['root', '-g'])).toEqual({ stdout: `${ROOT}\n`, code: 0 });
    expect(await callsMade()).toEqual(['root -g']);
    expect(await readFile(path.join(bin, NPM_ROOT_CACHE), 'utf8')).toBe(`${ROOT}\n`);
    // A new start with the same npm keeps the answer; with another npm, it is forgotten.
    await writeNpmShim(bin, fakeBin);
    expect(await readFile(path.join(bin, NPM_ROOT_CACHE), 'utf8')).toBe(`${ROOT}\n`);
    const otherBin = path.join(dir, 'other bin');
    await mkdir(otherBin);
    await writeFile(path.join(otherBin, 'npm'), await readFile(path.join(fakeBin, 'npm'), 'utf8'), { mode: 0o755 });
    await writeNpmShim(bin, otherBin);
    await expect(stat(path.join(bin, NPM_ROOT_CACHE))).rejects.toThrow();
    expect(await shim(bin, ['root', '-g'])).toEqual({ stdout: `${ROOT}\n`, code: 0 });
    expect(await callsMade()).toEqual(['root -g', 'root -g']);
  });

  it('hands every other command to the real npm unchanged: arguments, output and exit code', async () => {
    const bin = path.join(dir, 'passing', 'bin');
    await writeNpmShim(bin, fakeBin);
    await rm(calls, { force: true });
    const odd = ['install', 'a b', "it's", '$HOME', '--save-dev', '', '-g'];
    expect(await shim(bin, odd)).toEqual({ stdout: odd.map((arg) => `[${arg}]`).join(''), code: 0 });
    expect(await shim(bin, ['root'])).toEqual({ stdout: `${ROOT}\n`, code: 0 });
    expect(await shim(bin, ['root', '-g', '--json'])).toEqual({ stdout: `${ROOT}\n`, code: 0 });
    expect(await shim(bin, ['fail'])).toEqual({ stdout: 'failing\n', code: 3 });
    // None of them is `root -g` alone: nothing cached, every call reached npm.
    expect(await callsMade()).toHaveLength(4);
    await expect(stat(path.join(bin, NPM_ROOT_CACHE))).rejects.toThrow();
  });

  it('keeps no answer when the real npm fails, and passes its failure on', async () => {
    const broken = path.join(dir, 'broken bin');
    await mkdir(broken);
    await writeFile(path.join(broken, 'npm'), '#!/bin/sh\necho "npm is broken" >&2\nexit 7\n');
    await chmod(path.join(broken, 'npm'), 0o755);
    const bin = path.join(dir, 'broken', 'bin');
    await writeNpmShim(bin, broken);
    expect((await shim(bin, ['root', '-g'])).code).toBe(7);
    await expect(stat(path.join(bin, NPM_ROOT_CACHE))).rejects.toThrow();
  });

  it('is not written without an npm, and never finds itself as the real one', async () => {
    const bin = path.join(dir, 'none', 'bin');
    await writeNpmShim(bin, fakeBin);
    expect(await writeNpmShim(bin, `${bin}:/nowhere`)).toBeUndefined();
    await expect(stat(path.join(bin, 'npm'))).rejects.toThrow();
    expect(await findNpm(`${bin}:${fakeBin}`, bin)).toBe(path.join(fakeBin, 'npm'));
    expect(await findNpm(undefined, bin)).toBeUndefined();
  });

  it("comes first on the agents' PATH, and only when the host has a PATH", () => {
    const folders = agentFolders('/data');
    expect(buildAgentEnv({ apiKey: 'k', ...folders, host: { PATH: '/usr/bin:/bin' } }).PATH).toBe(
      `/data/bin${path.delimiter}/usr/bin:/bin`,
    );
    expect(buildAgentEnv({ apiKey: 'k', ...folders, host: {} }).PATH).toBeUndefined();
  });
});
