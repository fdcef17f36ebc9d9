import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every file and folder under `dir`, as sorted relative paths: compared before and after a
 * hostile case, it shows that nothing was created or removed (a folder ending in `/`).
 * SQLite's own journal files are left out (they come and go with every write).
 */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      const relative = path.relative(dir, full);
      if (/\.db-(wal|shm|journal)$/.test(entry.name)) continue;
      if (entry.isDirectory()) {
        out.push(`${relative}/`);
        await walk(full);
      } else out.push(relative);
    }
  };
  await walk(dir);
  return out.sort();
}
