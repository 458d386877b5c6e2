/**
 * The one message of register-exit (seed 003, docs/protocols.md section 4): the Go struct
 * `Message{To, From, Content string; Register, Exit bool}`. `From` is called `sender` here because
 * hosts add `from` (the sending node) to every delivered event; the wire codec maps it back.
 * A `Message` with every field empty is the fixed variant's keepalive (gob-compatible).
 */
import { validateShape, type MessageShapes } from '../validate-shape.js';

export type RouteMessage = {
  type: 'MESSAGE';
  to: string;
  /** the Go struct's `From`, filled in by the client */
  sender: string;
  content: string;
  register: boolean;
  exit: boolean;
};

/** The sender name the server uses for its error replies. */
export const errorSender = 'Error';
export const notConnectedText = 'That user is not connected to this server';

export function routeMessage(fields: Partial<Omit<RouteMessage, 'type'>>): RouteMessage {
  return { type: 'MESSAGE', to: '', sender: '', content: '', register: false, exit: false, ...fields };
}

/** True for the fixed variant's keepalive: a message with no fields set. */
export function isKeepalive(m: RouteMessage): boolean {
  return m.to === '' && m.sender === '' && m.content === '' && !m.register && !m.exit;
}

const shapes: MessageShapes = {
  MESSAGE: { to: 'string', sender: 'string', content: 'string', register: 'boolean', exit: 'boolean' },
};

export function validateRouteMessage(msg: unknown): string | null {
  return validateShape(msg, shapes);
}
