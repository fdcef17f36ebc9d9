/** Workspaces: the session's folder, and isolated git worktrees for nodes that run in parallel. */

export { WorkspaceHistory } from './history.ts';
export type { Workspace } from './workspaces.ts';
export { WorkspaceManager } from './workspaces.ts';
