/** Why a byte string is not a usable ANS-104 data item, or why fields cannot be signed into one. */
export type InvalidDataItemReason =
  | 'not-bytes'
  | 'truncated'
  | 'unknown-signature-type'
  | 'unsupported-signature-type'
  | 'too-large'
  | 'bad-presence-byte'
  | 'too-many-tags'
  | 'tags-too-large'
  | 'tag-too-long'
  | 'bad-tag-encoding'
  | 'tag-count-mismatch'
  | 'bad-tag'
  | 'bad-target'
  | 'bad-anchor'
  | 'bad-data';

export class InvalidDataItem extends Error {
  override readonly name = 'InvalidDataItem';

  constructor(
    readonly reason: InvalidDataItemReason,
    message: string,
  ) {
    super(message);
  }
}
