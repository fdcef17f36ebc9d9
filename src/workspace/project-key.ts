/**
 * Claude Code keys an agent's transcripts by the folder it runs in: the SDK's `projectKey` is
 * the cwd with every character that is not an ASCII letter or digit turned into `-`, and a key
 * longer than 200 characters is cut there and suffixed with a base-36 hash of the whole path
 * (the SDK's own rule, so the same folder gives the same key here as in the agent process).
 * A conversation is only found again from the same folder: whoever moves a session to another
 * folder re-keys its transcripts with this.
 */

/** Keys longer than this are cut and suffixed with a hash, as the SDK does. */
const MAX_KEY_LENGTH = 200;

/**
 * The SDK's `projectKey` of a working directory.
 * @example
 * projectKeyOf('/data/workspaces/ses_1'); // '-data-workspaces-ses-1'
 */
export function projectKeyOf(cwd: string): string {
  const key = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (key.length <= MAX_KEY_LENGTH) return key;
  return `${key.slice(0, MAX_KEY_LENGTH)}-${Math.abs(stringHash(cwd)).toString(36)}`;
}

/** The 32-bit string hash the SDK suffixes long keys with (`h = 31·h + code`, wrapping). */
function stringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = ((hash << 5) - hash + text.charCodeAt(i)) | 0;
  return hash;
}
