import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The ground the escape cases stand on: a base folder holding the agents' workspaces
 * (`ws/<group>`), a sibling workspace no agent uses (`ws/sibling`) and the target of every
 * escape (`outside`), with canary files whose content and mode are checked after the run, and
 * an HTTP server that counts every request it receives (it must receive none), on TCP and on
 * two Unix sockets (`outside/http.sock` and an abstract one).
 *
 * ```
 * <base>/outside/canary.txt           the main canary (secret content, must stay unread)
 * <base>/outside/canary-<case>.txt    one per case that edits, moves or deletes a file
 * <base>/outside/x-<case>             one per case that creates something: must not exist
 * <base>/ws/<group>/                  an agent's workspace (its cwd)
 * <base>/ws/sibling/canary-sibling.txt
 * ```
 */
export interface Ground {
  readonly base: string;
  readonly outside: string;
  /** The parent of every workspace. */
  readonly wsParent: string;
  readonly sibling: string;
  /** The main canary: its content must never appear in a tool's result. */
  readonly canary: string;
  /** Secret content of the main canary (and of the agents' HOME file). */
  readonly secretText: string;
  /** The agents' HOME (a file there holds {@link secretText} too). */
  readonly home: string;
  /**
   * The user's HOME as the orchestrator's process sees it (`HOME` is set to it for the run):
   * credentials under it (`.ssh/id_rsa`, `.aws/credentials`, `.netrc`, `.config/gh/hosts.yml`)
   * hold {@link credentialText}; `notes.txt` there is no secret.
   */
  readonly userHome: string;
  readonly credentialText: string;
  /** A random tag for names outside `base` (/tmp). */
  readonly tag: string;
  /** Port of the HTTP server; every request path it got (over TCP or either Unix socket). */
  readonly port: number;
  /** A Unix socket the same server listens on, outside the workspace, and an abstract one (Linux). */
  readonly socket: string;
  readonly abstractSocket: string;
  readonly hits: string[];
  /** This machine's first non-loopback IPv4 address, if it has one. */
  readonly hostIp: string | undefined;
}

/** Files made before the run that must be unchanged after it, and paths that must not appear. */
export class Targets {
  readonly #intact = new Map<string, string>();
  readonly #before = new Map<string, string>();

  readonly ground: Ground;

  constructor(ground: Ground) {
    this.ground = ground;
  }

  /** A path outside the workspace that a case tries to create: `<outside>/x-<id>`. */
  x(id: string): string {
    return path.join(this.ground.outside, `x-${id}`);
  }

  /** A canary file outside the workspace that a case tries to change, move or delete. */
  canary(id: string): string {
    const file = path.join(this.ground.outside, `canary-${id}.txt`);
    this.#intact.set(file, `CANARY ${id}\n`);
    return file;
  }

  /** Registers a file of the test's own with its content (made by {@link make}). */
  file(file: string, content: string): string {
    this.#intact.set(file, content);
    return file;
  }

  /** Writes every registered file and records its fingerprint. */
  async make(): Promise<void> {
    for (const [file, content] of this.#intact) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content, { mode: 0o644 });
      this.#before.set(file, fingerprint(file));
    }
  }

  /** Registered files whose content or mode changed, or that are gone. */
  changed(files: readonly string[]): string[] {
    return files.filter((file) => fingerprint(file) !== this.#before.get(file));
  }

  /** Every registered file, for the final check. */
  all(): string[] {
    return [...this.#intact.keys()];
  }
}

/** Content hash and mode of a file (`missing` when it is not a regular file any more). */
export function fingerprint(file: string): string {
  try {
    const stat = lstatSync(file);
    if (!stat.isFile()) return 'not a file';
    return `${(stat.mode & 0o7777).toString(8)}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  } catch {
    return 'missing';
  }
}

/** Paths among `paths` that exist (links included, even dangling ones). */
export function existing(paths: readonly string[]): string[] {
  return paths.filter((p) => {
    try {
      lstatSync(p);
      return true;
    } catch {
      return existsSync(p);
    }
  });
}

/** Makes the base folders, the main canary, the agents' HOME file and the HTTP server (TCP and Unix sockets). */
export async function makeGround(home: string): Promise<{ ground: Ground; server: Server }> {
  const base = await mkdtemp(path.join(tmpdir(), 'orch-escapes-'));
  const outside = path.join(base, 'outside');
  const wsParent = path.join(base, 'ws');
  const sibling = path.join(wsParent, 'sibling');
  await Promise.all([outside, sibling].map((dir) => mkdir(dir, { recursive: true })));
  const secretText = `canary-content-${randomBytes(8).toString('hex')}`;
  const canary = path.join(outside, 'canary.txt');
  await writeFile(canary, `${secretText}\n`, { mode: 0o644 });
  await writeFile(path.join(home, 'secret-home.txt'), `${secretText}\n`);
  const userHome = path.join(base, 'user-home');
  const credentialText = `credential-${randomBytes(8).toString('hex')}`;
  for (const file of ['.ssh/id_rsa', '.aws/credentials', '.netrc', '.config/gh/hosts.yml']) {
    await mkdir(path.dirname(path.join(userHome, file)), { recursive: true });
    await writeFile(path.join(userHome, file), `${credentialText}\n`, { mode: 0o600 });
  }
  await writeFile(path.join(userHome, 'notes.txt'), 'not a secret\n');
  const hits: string[] = [];
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    hits.push(`${request.method} ${request.url}`);
    response.end('reached\n');
  };
  const server = createServer(handler);
  // Dual stack where the machine has IPv6 (loopback and its own addresses), else IPv4 only.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') reject(error);
      else server.listen(0, '0.0.0.0', resolve);
    });
    server.listen(0, '::', resolve);
  });
  const port = (server.address() as { port: number }).port;
  const hostIp = Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic && nic.family === 'IPv4' && !nic.internal)?.address;
  const tag = randomBytes(4).toString('hex');
  // The same server on a Unix socket outside the workspace and on an abstract one (no file):
  // a sandboxed command must reach neither (the sandbox's seccomp filter refuses AF_UNIX).
  const socket = path.join(outside, 'http.sock');
  const abstractSocket = `\0orch-escapes-${tag}`;
  const local = [createServer(handler), createServer(handler)];
  await Promise.all(
    [socket, abstractSocket].map(
      (address, i) => new Promise<void>((resolve) => (local[i] as Server).listen(address, resolve)),
    ),
  );
  server.on('close', () => {
    for (const other of local) other.close();
  });
  return {
    ground: {
      base,
      outside,
      wsParent,
      sibling,
      canary,
      secretText,
      home,
      userHome,
      credentialText,
      tag,
      port,
      socket,
      abstractSocket,
      hits,
      hostIp,
    },
    server,
  };
}
