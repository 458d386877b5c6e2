/**
 * One registry of protocols (issue 13, item 1): no file of src/ outside a protocol's own package
 * (src/models/<protocol>/) and the registry (src/models/registry.ts) decides anything on a literal
 * built-in protocol name: no `case 'offline-queue':`, no `protocol === 'kv'`, no record keyed by
 * protocol names, no list of protocol names. Such code reads the registry instead. Strings in help
 * texts and messages are fine (they are generated from the registry where they list protocols).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { builtinLiveProtocols, builtinPackages } from '../src/models/registry.js';

const root = resolve(__dirname, '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every name a built-in protocol goes by: the packages' and their live protocols' (`kv`). */
const protocolNames = new Set([...builtinPackages.map((p) => p.name), ...builtinLiveProtocols.map((l) => l.name)]);

/** Where protocol names may be decided on: a package's own folder and the registry. */
function exempt(file: string): boolean {
  const rel = relative(src, file).split(sep);
  return (rel[0] === 'models' && rel.length > 2) || (rel[0] === 'models' && rel[1] === 'registry.ts');
}

const nameOf = (node: ts.Node): string | null => (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && protocolNames.has(node.text) ? node.text : null;

/** The places in `text` that decide on a literal protocol name. */
export function dispatchOffences(path: string, text: string): string[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const at = (node: ts.Node, what: string): void => {
    out.push(`${path}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: ${what}`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCaseClause(node) && nameOf(node.expression) !== null) at(node, `case ${JSON.stringify(nameOf(node.expression))}`);
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      const equality = op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsToken;
      const name = nameOf(node.left) ?? nameOf(node.right);
      if (equality && name !== null) at(node, `compares with ${JSON.stringify(name)}`);
    }
    if (ts.isPropertyAssignment(node) || ts.isPropertySignature(node)) {
      const name = ts.isIdentifier(node.name) ? (protocolNames.has(node.name.text) ? node.name.text : null) : nameOf(node.name);
      if (name !== null) at(node, `a property keyed by ${JSON.stringify(name)}`);
    }
    if (ts.isArrayLiteralExpression(node)) {
      const names = node.elements.map(nameOf).filter((n): n is string => n !== null);
      if (names.length >= 2) at(node, `a list of protocol names (${names.join(', ')})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('one registry of protocols', () => {
  it('no src file outside src/models/<protocol>/ and the registry switches on a built-in protocol name', () => {
    const offences = files(src)
      .filter((f) => !exempt(f))
      .flatMap((f) => dispatchOffences(relative(root, f), readFileSync(f, 'utf8')));
    expect(offences).toEqual([]);
  });

  it('the scan itself catches each kind of dispatch (it can fail), and lets messages and data through', () => {
    const code = [
      "switch (protocol) { case 'ping-liveness': break; }",
      "if (protocol === 'kv') f();",
      "if ('offline-queue' !== p) f();",
      "const limits = { kv: 1, 'register-exit': 2 };",
      "const kvProtocols = new Set(['lock-alternation', 'status-handshake']);",
      // Not decisions: a message, a help text, one name as data.
      "throw new Error('framing applies to offline-queue only');",
      "const help = `${'ping-liveness'} serves`;",
      "const c = { protocol: 'lock-alternation', clients: 3 };",
    ].join('\n');
    expect(dispatchOffences('t.ts', code).map((o) => o.replace(/^t\.ts:\d+: /, ''))).toEqual([
      'case "ping-liveness"',
      'compares with "kv"',
      'compares with "offline-queue"',
      'a property keyed by "kv"',
      'a property keyed by "register-exit"',
      'a list of protocol names (lock-alternation, status-handshake)',
    ]);
  });
});
