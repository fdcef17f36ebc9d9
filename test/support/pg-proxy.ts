import { connect, createServer, type Server, type Socket } from 'node:net';
import { TEST_DATABASE_URL } from './postgres.ts';

/** A loopback TCP proxy in front of PostgreSQL that can cut a connection right after a COMMIT. */
export interface CommitDropProxy {
  /** The target's URL with host and port replaced by the proxy's. */
  readonly url: string;
  /** How many connections the proxy has cut so far. */
  readonly drops: number;
  /**
   * Arms the proxy once: the next client packet holding a simple-query `COMMIT` is forwarded to
   * the server, and then both sockets are closed before the server's reply can come back. The
   * server commits (it reads the COMMIT before the end of the stream) while the client only sees
   * its connection die: a commit whose outcome the client cannot know.
   */
  dropAfterNextCommit(): void;
  close(): Promise<void>;
}

/** `Q`, int32 length (4 + "COMMIT\0"), "COMMIT\0": the simple-query message `pg` sends for `query('COMMIT')`. */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

/**
 * Starts a {@link CommitDropProxy} on 127.0.0.1 (a free port) forwarding to the host and port
 * of `target`. Bytes pass through untouched (no TLS: the test server is plain loopback).
 */
export async function startCommitDropProxy(target = TEST_DATABASE_URL): Promise<CommitDropProxy> {
  const upstreamUrl = new URL(target);
  const upstreamPort = Number(upstreamUrl.port || 5432);
  const upstreamHost = upstreamUrl.hostname || '127.0.0.1';
  const sockets = new Set<Socket>();
  let armed = false;
  let drops = 0;

  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    let tail = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      // The message may straddle two reads: look at the end of the previous one too, but never
      // at a whole message already forwarded (hence one byte short of its length).
      const seen = Buffer.concat([tail, chunk]);
      tail = seen.subarray(Math.max(0, seen.length - (COMMIT_MESSAGE.length - 1)));
      if (!armed || !seen.includes(COMMIT_MESSAGE)) {
        upstream.write(chunk);
        return;
      }
      armed = false;
      drops++;
      // end() sends the COMMIT and then FIN, so the server reads and runs it; the client side
      // dies at once, and whatever the server answers is thrown away.
      upstream.end(chunk);
      client.destroy();
      upstream.removeAllListeners('data');
      upstream.on('data', () => {});
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => {
      if (!upstream.writableEnded) upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);

  return {
    url: url.toString(),
    get drops() {
      return drops;
    },
    dropAfterNextCommit() {
      armed = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
