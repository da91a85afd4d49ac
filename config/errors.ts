/** A configuration that does not validate; the message lists every bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
