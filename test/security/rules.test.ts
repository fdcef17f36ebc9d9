import { describe, expect, it } from 'vitest';
import {
  globToRegExp,
  parsePermissionRule,
  parseRule,
  pathGlobToRegExp,
  primaryArgument,
  ruleMatches,
  splitShellCommand,
} from '../../src/security/index.ts';

const cwd = '/work/ws';
const bash = (command: string) => ({ command, description: 'x' });
const problem = (rule: string) => {
  const parsed = parseRule(rule);
  return 'problem' in parsed ? parsed.problem : undefined;
};

describe('parseRule: the syntax Claude Code reads, checked before it runs', () => {
  it('parses bare tools, MCP names and parenthesized content', () => {
    expect(parsePermissionRule('Read')).toEqual({ source: 'Read', tool: 'Read', content: undefined });
    expect(parsePermissionRule('Bash(git *)')).toMatchObject({ tool: 'Bash', content: 'git *' });
    expect(parsePermissionRule('mcp__github__*')).toMatchObject({ tool: 'mcp__github__*' });
    expect(parsePermissionRule('mcp__github')).toMatchObject({ tool: 'mcp__github' });
    // Parentheses inside the content are literal, as in Claude Code.
    expect(parsePermissionRule('Bash(echo (a))')).toMatchObject({ content: 'echo (a)' });
  });

  it('rejects what Claude Code would skip, with the rule in the message', () => {
    expect(problem('Bash(git *')).toMatch(/malformed rule "Bash\(git \*"/);
    expect(problem('Bash()')).toMatch(/empty parentheses/);
    expect(problem('WebFetch(example.com)')).toMatch(/domain:example\.com/);
    expect(problem('Bash(:*)')).toMatch(/prefix before ":\*" is empty/);
    expect(problem('')).toMatch(/empty/);
    expect(problem(' Read')).toMatch(/white space/);
  });

  it('rejects unknown built-in tools and path patterns Claude Code would ignore', () => {
    expect(problem('Bsh')).toMatch(/unknown tool "Bsh"/);
    expect(problem('bash(ls)')).toMatch(/did you mean "Bash"/);
    expect(problem('Write(src/**)')).toMatch(/write "Edit\(src\/\*\*\)"/);
    expect(problem('NotebookEdit(x.ipynb)')).toMatch(/Edit\(x\.ipynb\)/);
    expect(problem('Edit(src/**)')).toBeUndefined();
    expect(problem('WebFetch(domain:*.example.com)')).toBeUndefined();
  });
});

describe('globs', () => {
  it('globToRegExp: anchored, * crosses everything', () => {
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('git *').test('git push origin')).toBe(true);
    expect(globToRegExp('x?z').test('xyz')).toBe(true);
  });

  it('pathGlobToRegExp: ** crosses folders, * does not', () => {
    expect(pathGlobToRegExp('src/**').test('src/a/b.ts')).toBe(true);
    expect(pathGlobToRegExp('src/**').test('src')).toBe(true);
    expect(pathGlobToRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(pathGlobToRegExp('**/secret/**').test('secret/a')).toBe(true);
  });
});

describe('primaryArgument', () => {
  it('picks the argument each known tool is matched by', () => {
    expect(primaryArgument('Bash', bash('ls'))).toBe('ls');
    expect(primaryArgument('Write', { file_path: 'a.txt', content: 'x' })).toBe('a.txt');
    expect(primaryArgument('NotebookEdit', { notebook_path: 'n.ipynb' })).toBe('n.ipynb');
    expect(primaryArgument('WebFetch', { url: 'https://x.dev', prompt: 'p' })).toBe('https://x.dev');
    expect(primaryArgument('Grep', { pattern: 'x', path: 'src' })).toBe('src');
    expect(primaryArgument('Read', {})).toBeUndefined();
    expect(primaryArgument('Read', null)).toBeUndefined();
  });
});

describe('splitShellCommand', () => {
  it('splits at control operators outside quotes', () => {
    expect(splitShellCommand('git add . && git commit -m "a && b"; ls | wc -l')).toEqual([
      'git add .',
      'git commit -m "a && b"',
      'ls',
      'wc -l',
    ]);
    expect(splitShellCommand("echo 'x; rm -rf /' || true\nsleep 1 &")).toEqual([
      "echo 'x; rm -rf /'",
      'true',
      'sleep 1',
    ]);
  });

  it('keeps fd redirections such as 2>&1 and &> inside a part', () => {
    expect(splitShellCommand('make 2>&1 | tee log')).toEqual(['make 2>&1', 'tee log']);
    expect(splitShellCommand('make &> log')).toEqual(['make &> log']);
  });

  it('gives up on command substitution, outside single quotes only', () => {
    expect(splitShellCommand('echo $(rm -rf x)')).toBeUndefined();
    expect(splitShellCommand('echo `id`')).toBeUndefined();
    expect(splitShellCommand('diff <(ls a) <(ls b)')).toBeUndefined();
    expect(splitShellCommand('echo "$(id)"')).toBeUndefined();
    expect(splitShellCommand("echo '$(id)'")).toEqual(["echo '$(id)'"]);
  });
});

describe('ruleMatches: the conservative reading for grants, revocations and asks', () => {
  it('matches Bash globs per simple command: every part for a grant, some part for a revocation', () => {
    expect(ruleMatches('Bash(git *)', 'Bash', bash('git status'), cwd, 'every')).toBe(true);
    expect(ruleMatches('Bash(git *)', 'Bash', bash('git status && rm -rf ~'), cwd, 'every')).toBe(false);
    expect(ruleMatches('Bash(rm *)', 'Bash', bash('ls && rm -rf /'), cwd, 'some')).toBe(true);
    expect(ruleMatches('Bash(rm *)', 'Bash', bash('ls && echo rm'), cwd, 'some')).toBe(false);
  });

  it('treats substitution as unverifiable: never granted, always caught', () => {
    expect(ruleMatches('Bash(echo *)', 'Bash', bash('echo $(id)'), cwd, 'every')).toBe(false);
    expect(ruleMatches('Bash(rm *)', 'Bash', bash('echo $(id)'), cwd, 'some')).toBe(true);
  });

  it("reads Claude Code's prefix form name:*", () => {
    expect(ruleMatches('Bash(npm run:*)', 'Bash', bash('npm run test'), cwd, 'every')).toBe(true);
    expect(ruleMatches('Bash(npm run:*)', 'Bash', bash('npm run'), cwd, 'every')).toBe(true);
    expect(ruleMatches('Bash(npm run:*)', 'Bash', bash('npm running'), cwd, 'every')).toBe(false);
  });

  it('matches Edit rules for every tool that edits files, relative to the working directory', () => {
    expect(ruleMatches('Edit(docs/**)', 'Write', { file_path: '/work/ws/docs/a.md' }, cwd, 'every')).toBe(true);
    expect(ruleMatches('Edit(docs/**)', 'Edit', { file_path: 'docs/a.md' }, cwd, 'every')).toBe(true);
    expect(ruleMatches('Edit(docs/**)', 'Write', { file_path: '/work/ws/src/a.md' }, cwd, 'every')).toBe(false);
    expect(ruleMatches('Edit(//etc/**)', 'Write', { file_path: '/etc/passwd' }, cwd, 'some')).toBe(true);
    expect(ruleMatches('Read(src/**)', 'Grep', { pattern: 'x', path: 'src' }, cwd, 'every')).toBe(true);
    expect(ruleMatches('Edit', 'Write', { file_path: 'a' }, cwd, 'every')).toBe(false);
  });

  it('matches WebFetch domains and MCP servers', () => {
    const fetch = (url: string) => ({ url, prompt: 'p' });
    expect(ruleMatches('WebFetch(domain:example.com)', 'WebFetch', fetch('https://example.com/a'), cwd, 'every')).toBe(
      true,
    );
    expect(
      ruleMatches('WebFetch(domain:example.com)', 'WebFetch', fetch('https://evil.com/example.com'), cwd, 'every'),
    ).toBe(false);
    expect(
      ruleMatches('WebFetch(domain:*.example.com)', 'WebFetch', fetch('https://api.example.com'), cwd, 'every'),
    ).toBe(true);
    expect(ruleMatches('mcp__github', 'mcp__github__create_issue', {}, cwd, 'every')).toBe(true);
    expect(ruleMatches('mcp__github__*', 'mcp__gitlab__create_issue', {}, cwd, 'every')).toBe(false);
    expect(ruleMatches('Agent', 'Task', {}, cwd, 'every')).toBe(true);
  });
});
