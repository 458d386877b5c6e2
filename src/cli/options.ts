/**
 * Option parsers that turn bad values into clear usage errors (exit 2).
 */
import { InvalidArgumentError } from 'commander';

export function parseIntOption(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} expects a whole number, got ${JSON.stringify(value)}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} is too large: ${value}`);
    return n;
  };
}
