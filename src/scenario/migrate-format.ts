/**
 * Rewriting a file written for an older format in the current one (`protosim migrate`), as text:
 * `kind:` and `version:` are inserted as the first keys of the top-level mapping, and every other
 * byte — comments, blank lines, quoting, flow style — stays as it was. The YAML Document API finds
 * where the first key is (and rewrites the rare file whose top level is not a block mapping); the
 * result is parsed again and must hold the same data plus the two keys.
 */
import { isMap, type Document } from 'yaml';
import { fileFormats, inferFileKind, isFileKind, readFormatHeader, shellWord, yamlFileKinds, type YamlFileKind } from './file-format.js';
import { parseYamlMapping, ScenarioError } from './load.js';

export type YamlMigration =
  /** the file declares a kind and the current version of its format */
  | { status: 'current'; kind: YamlFileKind; version: number }
  /** `text` is the file in the current format */
  | { status: 'migrated'; kind: YamlFileKind; version: number; text: string; added: ('kind' | 'version')[] };

const notAMapping = 'expected a mapping: a protosim scenario, suite, client suite, adapter, target file or grading manifest';

/**
 * The current form of a YAML file's text. `kindIfUnsaid` is the kind of a file that neither
 * declares nor shows one (`migrate --kind`). Throws ScenarioError (with positions) for a file that
 * is not YAML, an unknown kind, a version newer than this protosim's, or a file whose kind nothing
 * tells.
 */
export function migrateYamlText(text: string, shownAs: string, kindIfUnsaid?: YamlFileKind): YamlMigration {
  const { data, doc, locate } = parseYamlMapping(text, shownAs, notAMapping);
  const hasKind = Object.hasOwn(data, 'kind');
  const hasVersion = Object.hasOwn(data, 'version');
  let kind: YamlFileKind;
  if (hasKind) {
    // A declared kind is checked as it is (unknown kinds, versions from the future are errors).
    const declared = data.kind;
    const known = isFileKind(declared) && (yamlFileKinds as readonly string[]).includes(declared);
    kind = known ? (declared as YamlFileKind) : 'scenario';
    if (!known) throwIssues(readFormatHeader(data, locate, shownAs, kind));
  } else {
    const inferred = kindIfUnsaid ?? inferFileKind(data);
    if (inferred === null) {
      throw new ScenarioError([
        {
          file: shownAs,
          ...locate([]),
          path: '',
          message: `cannot tell what kind of file this is from its fields (${Object.keys(data).slice(0, 6).join(', ') || 'none'}); give it with \`protosim migrate --kind KIND ${shellWord(shownAs)}\` (${yamlFileKinds.join(', ')})`,
        },
      ]);
    }
    kind = inferred;
  }
  const version = fileFormats[kind].version;
  // What the file will say: its own values where it has them (checked), the current ones otherwise.
  throwIssues(readFormatHeader({ ...data, kind, version: hasVersion ? data.version : version }, locate, shownAs, kind));
  if (hasKind && hasVersion) return { status: 'current', kind, version: data.version as number };
  const added: ('kind' | 'version')[] = [...(hasKind ? [] : (['kind'] as const)), ...(hasVersion ? [] : (['version'] as const))];
  const lines = added.map((k) => (k === 'kind' ? `kind: ${kind}` : `version: ${version}`));
  const migrated = insertFirstKeys(text, doc, lines) ?? viaDocument(doc, kind, version);
  sameDataPlusHeader(text, migrated, shownAs, kind);
  return { status: 'migrated', kind, version: hasVersion ? (data.version as number) : version, text: migrated, added };
}

function throwIssues(read: ReturnType<typeof readFormatHeader>): void {
  if ('issues' in read) throw new ScenarioError(read.issues);
}

/**
 * `lines` inserted before the first key of a block mapping, at its indentation, so nothing else
 * moves; when the file declares one of the two keys already as its first key, after that key's
 * line. Null when the top level is not a block mapping this can edit as text.
 */
function insertFirstKeys(text: string, doc: Document, lines: string[]): string | null {
  const map = doc.contents;
  if (!isMap(map) || map.flow === true || map.items.length === 0) return null;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const keyStart = (i: number): number | null => {
    const key = map.items[i]?.key as { range?: [number, number, number] } | undefined;
    return key?.range?.[0] ?? null;
  };
  const firstKey = (map.items[0]!.key as { value?: unknown } | null)?.value;
  // kind: already first (version missing): the new line goes after it, before the second key.
  const at = firstKey === 'kind' && map.items.length > 1 ? keyStart(1) : firstKey === 'kind' ? null : keyStart(0);
  if (at === null) return null;
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const indent = text.slice(lineStart, at);
  if (!/^[ \t]*$/.test(indent)) return null;
  return text.slice(0, lineStart) + lines.map((l) => `${indent}${l}${eol}`).join('') + text.slice(lineStart);
}

/** The fallback: the Document API puts the keys first and prints the document (comments kept). */
function viaDocument(doc: Document, kind: YamlFileKind, version: number): string {
  const map = doc.contents;
  if (!isMap(map)) throw new Error('migrate: the top level is not a mapping');
  const rest = map.items.filter((p) => {
    const key = (p.key as { value?: unknown } | null)?.value;
    return key !== 'kind' && key !== 'version';
  });
  map.items = [doc.createPair('kind', kind), doc.createPair('version', version), ...rest];
  return doc.toString({ lineWidth: 0 });
}

/** The migrated text must parse to the same data as before, plus kind and version; else this is a bug. */
function sameDataPlusHeader(before: string, after: string, shownAs: string, kind: YamlFileKind): void {
  const old = parseYamlMapping(before, shownAs, notAMapping).data;
  const now = parseYamlMapping(after, shownAs, notAMapping, kind);
  delete old.kind;
  delete old.version;
  if (!now.format?.declared || JSON.stringify(now.data) !== JSON.stringify(old)) {
    throw new Error(`migrate: rewriting ${shownAs} would change its content; it was left as it is`);
  }
}
