/** Security: safe names and paths confined to their roots. */

export { checkSafeName, isSafeName, SAFE_NAME_PATTERN, SAFE_NAME_RULE, safeNameProblem } from './names.ts';
export { assertBelow, childPath, isWithin } from './paths.ts';
