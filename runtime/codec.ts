import { addExtension, Packr } from 'msgpackr';
import { CodecError } from './errors.js';
import { Pid } from './pid.js';

/**
 * The bus codec: msgpack (msgpackr). Binary data stays binary; pids keep their type; Errors
 * keep name and message. Values msgpack would silently mangle (functions, symbols, Maps, class
 * instances) are refused with a CodecError, so an unsendable message fails where it is sent.
 */
addExtension({
  Class: Pid,
  type: 0x50,
  write: (p: Pid) => [p.node, p.creation, p.serial],
  read: ([node, creation, serial]: [string, number, number]) => new Pid(node, creation, serial),
});

const packr = new Packr({ useRecords: false, moreTypes: true });

export function encode(value: unknown): Uint8Array {
  assertSendable(value, 'message');
  try {
    return packr.pack(value);
  } catch (e) {
    throw new CodecError(`cannot encode message: ${(e as Error).message}`);
  }
}

export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (e) {
    throw new CodecError(`malformed frame: ${(e as Error).message}`);
  }
}

/** Encode and decode: what a message looks like after crossing the bus. */
export function roundTrip<T>(value: T): T {
  return decode(encode(value)) as T;
}

/** Whether `value` can cross the bus as it is (plain data, pids, bytes, Errors). */
export function isSendable(value: unknown): boolean {
  try {
    assertSendable(value, 'value');
    return true;
  } catch {
    return false;
  }
}

const PLAIN_PROTOS = new Set<unknown>([Object.prototype, null]);

function assertSendable(value: unknown, path: string, depth = 0): void {
  if (depth > 64) throw new CodecError(`${path}: nested too deeply (cycle?)`);
  switch (typeof value) {
    case 'function':
      throw new CodecError(`${path}: a function cannot be sent`);
    case 'symbol':
      throw new CodecError(`${path}: a symbol cannot be sent`);
    case 'object':
      break;
    default:
      return;
  }
  if (value === null || value instanceof Pid || value instanceof Uint8Array || value instanceof Date) return;
  if (value instanceof Error) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertSendable(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (value instanceof Map) {
    // msgpack maps decode as plain objects: a Map would arrive as something else.
    throw new CodecError(`${path}: a Map cannot be sent (send a plain object or an array of entries)`);
  }
  if (value instanceof Set) {
    for (const v of value) assertSendable(v, `${path}[]`, depth + 1);
    return;
  }
  if (!PLAIN_PROTOS.has(Object.getPrototypeOf(value))) {
    const name = (value as object).constructor?.name ?? 'unknown';
    throw new CodecError(`${path}: an instance of ${name} cannot be sent (send plain data)`);
  }
  for (const k of Object.keys(value)) assertSendable((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
}
