/**
 * How a node's effects are carried out, written once for every driver (the timed simulator, the
 * exhaustive explorer's untimed system, and live runs). A role machine's step returns effects as
 * data (STYLE 1); the kernel walks them in order and asks its host to do each one, with the common
 * rules decided here: nothing more happens once the run has stopped; a print may be progress
 * (the protocol's `isProgress` says), is observed, and a prompt lets the person type; a timer armed
 * again replaces the armed one of the same id.
 */
import type { Effect, ModelVariant, NodeId, PrintParams, ProtocolMessage } from '../../models/types.js';

/** What a driver does with each kind of effect, for its node type `N`. */
export interface EffectHost<N> {
  /** the run has stopped (a finding): later effects are not carried out */
  isStopped(): boolean;
  send(node: N, to: NodeId, msg: ProtocolMessage): void;
  /** a line shown to the node's person: record it, count progress, observe it */
  print(node: N, params: PrintParams, progress: boolean): void;
  /** the node shows its person a prompt: the person may type the next line */
  promptShown(node: N): void;
  close(node: N, peer: NodeId): void;
  /** arms timer `id` to fire `event` after `delayMs`, replacing an armed timer of the same id */
  armTimer(node: N, id: string, delayMs: number, event: { type: string; [k: string]: unknown }): void;
  cancelTimer(node: N, id: string): void;
}

/**
 * Carries out a step's effects, in order, through the host. Returns false when the run stopped before
 * an effect (the rest were not carried out), true when every effect was.
 */
export function carryOutEffects<N>(host: EffectHost<N>, node: N, nodeId: NodeId, variant: Pick<ModelVariant, 'isProgress'>, effects: readonly Effect[]): boolean {
  for (let k = 0; k < effects.length; k++) {
    if (host.isStopped()) return false;
    const effect = effects[k]!;
    switch (effect.type) {
      case 'send':
        host.send(node, effect.to, effect.msg);
        break;
      case 'print':
        host.print(node, effect.params, variant.isProgress(nodeId, effect));
        if (effect.params.kind === 'prompt') host.promptShown(node);
        break;
      case 'close':
        host.close(node, effect.peer);
        break;
      case 'timer.start':
        host.armTimer(node, effect.id, effect.delayMs, effect.event);
        break;
      case 'timer.cancel':
        host.cancelTimer(node, effect.id);
        break;
    }
  }
  return true;
}
