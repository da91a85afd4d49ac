/**
 * A response body read up to a limit: another operator's node (or a gateway) is not trusted to
 * answer with a sane amount, and `Response.text()` would hold whatever it sends.
 */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

export async function boundedText(r: Response, maxBytes: number): Promise<string> {
  const declared = Number(r.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await r.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge(`the answer is ${declared} bytes, more than the ${maxBytes} taken`);
  }
  if (!r.body) return '';
  const reader = r.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(`the answer is more than the ${maxBytes} bytes taken`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
