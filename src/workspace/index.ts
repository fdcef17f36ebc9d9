/** Workspaces: the session's folder, and isolated git worktrees for nodes that run in parallel. */
export type { Workspace } from './workspaces.ts';
export { WorkspaceManager } from './workspaces.ts';
export { changedFiles, commitWorkspace, restoreWorkspace } from './history.ts';
