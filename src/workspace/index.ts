/** Workspaces: the session's folder, and isolated git worktrees for nodes that run in parallel. */

export type { FileChange, FileChangeStatus, FileChanges, FileDiffLimits } from './file-diff.ts';
export { FILE_DIFF_DEFAULTS, PatchSplitter, parseChangedFiles } from './file-diff.ts';
export type { IncomingHistory } from './history.ts';
export { EMPTY_TREE, WorkspaceHistory, type WorkspaceHistoryOptions } from './history.ts';
export { projectKeyOf } from './project-key.ts';
export type { FinishOptions, Workspace } from './workspaces.ts';
export { WorkspaceManager } from './workspaces.ts';
