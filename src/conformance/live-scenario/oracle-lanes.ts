/**
 * The shadow models and the property lanes of a live scenario run. The server role's `fixed` model
 * runs in shadow as the oracle (../server-model-oracle.ts; ../kv-store-oracle.ts for the key-value
 * protocols): a reply that no possible world allows is a finding (`conformance:server-model`) with
 * what was expected and what came. The scenario's own server model runs beside it to explain the
 * live server (a live server with the seed's flaw is explained by the seed's model). The
 * scenario's invariants and history properties are judged in every world of each shadow model,
 * and the run's own findings (a deadlock, a stall, a conformance failure) are placed in the trace.
 */
import type { ModelVariant, Observation } from '../../models/types.js';
import type { Finding } from '../../sim/finding.js';
import type { FindingKind, TraceEvent } from '../../sim/trace.js';
import { KvStoreOracle } from '../kv-store-oracle.js';
import { ServerModelOracle, OracleLimitError, type ServerModelSpec, type ServerNodeState, type WorldHooks } from '../server-model-oracle.js';
import { serverMappingFor } from '../server-mapping-for.js';
import { mergeFindings } from './findings.js';
import { LiveRunState } from './run-state.js';
import { conformanceFindingId, type LaneExt, type PlacedFinding } from './types.js';

export abstract class OracleLanes extends LiveRunState {
  protected serverSpec(variant: ModelVariant): ServerModelSpec | undefined {
    const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
    const role = variant.roles[node.role];
    if (role === undefined) return undefined;
    return { role, input: role.input({ self: node.id, nodesByRole: this.nodesByRole, params: node.params }), variantName: variant.name };
  }

  protected startOracles(): void {
    if (this.o.codec === null) {
      const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
      const data = (node.params.initial ?? {}) as Record<string, string>;
      this.kv = new KvStoreOracle(data);
      return;
    }
    const clock = (): number => this.now();
    const fixedSpec = this.serverSpec(this.o.oracleVariant);
    const mapping = serverMappingFor(this.o.protocol, {}, fixedSpec);
    if (mapping === undefined) return;
    // Timers fire live within a tolerance scaled like the rest (model ms).
    const tolerance = { earlyMs: Math.round(100 / this.o.timeScale), lateMs: Math.round(300 / this.o.timeScale) };
    this.oracle = new ServerModelOracle(mapping, clock, tolerance, this.hooks());
    if (this.o.variant.name !== this.o.oracleVariant.name) {
      const own = serverMappingFor(this.o.protocol, {}, this.serverSpec(this.o.variant));
      if (own !== undefined) this.explain = new ServerModelOracle(own, clock, tolerance, this.hooks());
    }
  }

  /** Runs `fn` on each shadow model, catching a limit (the model then stops judging). */
  protected shadows(fn: (oracle: ServerModelOracle, role: 'judge' | 'explain') => void): void {
    if (this.oracle !== undefined && this.judging) {
      try {
        fn(this.oracle, 'judge');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.notes.push(`the oracle stopped judging: ${error.message}`);
        this.judging = false;
      }
    }
    if (this.explain !== undefined && this.unexplained === null) {
      try {
        fn(this.explain, 'explain');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.unexplained = `the ${this.explain.name} gave up: ${error.message}`;
      }
    }
  }

  /**
   * The scenario's properties and invariants are judged in every world of each shadow model (the
   * server's console lines, which properties read, differ between worlds); the world that stands
   * for the live server at the end gives the findings. `judge` is the fixed model (the oracle),
   * `explain` the scenario's own server model: a live server with the seed's flaw is explained by
   * the seed's model, whose console lines then show the seed's failure.
   */
  protected hooks(): WorldHooks {
    return {
      initial: this.initialExt(),
      onPrints: (ext, prints, server) => {
        let e = ext as LaneExt;
        for (const params of prints) e = this.evaluate(e, { kind: 'print', node: this.serverId, params }, server);
        return this.evaluate(e, null, server);
      },
      position: () => this.trace.length,
    };
  }

  /** The lanes still judging, as (ext mapper) functions. */
  protected eachLane(fn: (ext: LaneExt, server: ServerNodeState) => LaneExt): void {
    if (this.o.codec === null) {
      this.plainExt = fn(this.plainExt, { value: 'serving', context: this.kv?.context() ?? {}, tags: ['server'] });
      return;
    }
    this.oracle?.mapExt((ext, server) => fn(ext as LaneExt, server));
    if (this.explain !== undefined && this.unexplained === null) this.explain.mapExt((ext, server) => fn(ext as LaneExt, server));
  }

  /** One observation (or none: invariants only) judged in one world. */
  protected evaluate(ext: LaneExt, obs: Observation | null, server: ServerNodeState): LaneExt {
    const view = this.viewWith(server);
    let monitors = ext.monitors;
    let violations = ext.violations;
    const broken = (id: string): boolean => violations.some((v) => v.id === id);
    const violate = (id: string, summary: string): void => {
      violations = [...violations, { id, summary, diagnosis: this.o.variant.diagnose?.(view, { kind: 'invariant', id }) ?? null, pos: this.trace.length, timeMs: this.now() }];
    };
    if (obs !== null) {
      const props = this.o.variant.properties;
      for (let i = 0; i < props.length; i++) {
        const prop = props[i]!;
        const id = `invariant:${prop.id}`;
        if (!this.enabled(prop.id) || broken(id)) continue;
        const out = prop.observe(monitors[i], obs, view);
        if ('violation' in out) violate(id, `invariant ${prop.id} (${prop.description}) broken: ${out.violation}`);
        else if (out.state !== monitors[i]) {
          if (monitors === ext.monitors) monitors = [...monitors];
          monitors[i] = out.state;
        }
      }
    }
    for (const inv of this.o.variant.invariants) {
      const id = `invariant:${inv.id}`;
      if (!this.enabled(inv.id) || broken(id)) continue;
      const reason = inv.check(view);
      if (reason !== null) violate(id, `invariant ${inv.id} (${inv.description}) broken: ${reason}`);
    }
    return monitors === ext.monitors && violations === ext.violations ? ext : { monitors, violations };
  }

  protected conformanceFinding(summary: string): void {
    if (this.runFindings.some((f) => f.id === conformanceFindingId)) return;
    this.addFinding('invariant', conformanceFindingId, summary, false);
  }

  protected checkInvariants(): void {
    if (this.stopped) return;
    this.eachLane((ext, server) => this.evaluate(ext, null, server));
  }

  protected observe(obs: Observation): void {
    if (this.stopped) return;
    this.eachLane((ext, server) => this.evaluate(ext, obs, server));
  }

  /** A finding of the run itself (not of a property): a deadlock, a stall, a conformance failure. */
  protected addFinding(kind: FindingKind, id: string, summary: string, stops = true): void {
    const view = this.view();
    this.runFindings.push({ kind, id, summary, diagnosis: kind === 'invariant' ? null : (this.o.variant.diagnose?.(view, { kind, id }) ?? null), pos: this.trace.length, timeMs: this.now(), step: this.step, nodes: this.diagnoseNodes(view) });
    if (stops && (this.o.stopAtFirstFinding ?? true)) this.stop('finding');
  }

  /**
   * The run's findings: its own, and the property violations of the world that stands for the
   * live server (the scenario's own model if it explained every reply and the fixed model did
   * not, else the fixed model's),
   * each with the trace up to it, the world's console lines put in place.
   */
  protected finish(): { findings: Finding[]; trace: TraceEvent[] } {
    // The scenario's own model stands for the live server only when the fixed model does not: a
    // run the fixed model explains shows nothing a correct server would not do.
    const source = this.o.codec === null ? undefined : this.explain !== undefined && this.unexplained === null && !this.judging ? this.explain : this.oracle;
    const outcome = source?.outcomes()[0];
    const ext = outcome !== undefined ? (outcome.ext as LaneExt) : this.plainExt;
    // Earlier server processes (before a restart), each from the lane chosen the same way.
    const earlier = this.carried.map((c) => (c.explain !== undefined && !c.judging ? c.explain : c.judge)).filter((o) => o !== undefined);
    const history = [...earlier.flatMap((o) => o.history), ...(outcome?.history ?? [])];
    const violations = [...earlier.flatMap((o) => (o.ext as LaneExt).violations), ...ext.violations];
    const placed: PlacedFinding[] = [
      ...this.runFindings,
      ...violations.map((v) => ({ kind: 'invariant' as FindingKind, id: v.id, summary: v.summary, diagnosis: v.diagnosis, pos: v.pos, timeMs: v.timeMs, step: this.step, nodes: this.diagnoseNodes(this.view()) })),
    ].sort((a, b) => a.pos - b.pos);
    return mergeFindings(this.trace, history, placed, this.serverId, this.o.seed);
  }
}
