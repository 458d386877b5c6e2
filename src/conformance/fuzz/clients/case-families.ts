/**
 * The two families of generated client cases, behind one interface for the search
 * (./run-client-fuzz.ts): how a protocol's cases are drawn (fair texts for the program's adapter),
 * rendered as client-suite steps, and measured as a shrink target. A protocol's record
 * (./client-protocol.ts) names its family; this mapping is the only place a family is chosen.
 */
import type fc from 'fast-check';
import type { Adapter } from '../../clients/adapter.js';
import type { ClientStepFile } from '../../clients/client-suite-schema.js';
import { clientCaseArbitrary, clientCaseSize, type ClientFuzzCase } from './client-case.js';
import type { ChatProtocolFuzz, ClientProtocolFuzz, TurnProtocolFuzz } from './client-protocol.js';
import { renderClientCase } from './client-render.js';
import type { SearchSize } from './fuzz-search.js';
import { turnCaseArbitrary, turnCaseSize, type TurnCase } from './turn-case.js';
import { renderTurnCase } from './turn-render.js';
import type { TextRules } from './typed-text.js';

/** A generated case of either family. */
export type GeneratedClientCase = ClientFuzzCase | TurnCase;

export interface FamilyContext {
  adapter: Adapter;
  /** the wire has no message boundaries of its own (protobuf's raw framing) */
  unframed: boolean;
  /** what a typed text may be through this adapter */
  text: TextRules;
}

interface CaseFamily<G extends ClientProtocolFuzz, C> {
  arbitrary(g: G, o: FamilyContext): fc.Arbitrary<C>;
  render(g: G, c: C, adapter: Adapter): ClientStepFile[];
  size(g: G, c: C): SearchSize;
}

const chat: CaseFamily<ChatProtocolFuzz, ClientFuzzCase> = {
  arbitrary: (g, o) => clientCaseArbitrary({ protocol: g, unframed: o.unframed, text: o.text }),
  render: (g, c, adapter) => renderClientCase(c, { protocol: g, joinedShown: !adapter.spec.notShown.includes('joined') }),
  size: (g, c) => clientCaseSize(c, g.maxUsers),
};

const turns: CaseFamily<TurnProtocolFuzz, TurnCase> = {
  arbitrary: (g, o) => turnCaseArbitrary({ separators: g.separators, text: o.text }),
  render: (_g, c) => renderTurnCase(c),
  size: (_g, c) => turnCaseSize(c),
};

const families = { chat, turns } as const;

/** The family of a protocol's record, its case type erased (the search only passes cases back to it). */
export function caseFamily(g: ClientProtocolFuzz): CaseFamily<ClientProtocolFuzz, GeneratedClientCase> {
  return families[g.family] as unknown as CaseFamily<ClientProtocolFuzz, GeneratedClientCase>;
}
