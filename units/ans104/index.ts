export { InvalidDataItem, type InvalidDataItemReason } from './errors.js';
export { assembleDataItem, type ItemParts } from './assemble.js';
export { addressFromOwner, Ed25519Signer, RsaSigner, SignatureType, type Ed25519Jwk, type RsaJwk, type WalletKey } from './keys.js';
export { ITEM_LIMITS, SUPPORTED_SIGNATURE_TYPES, supportedSignatureTypes } from './limits.js';
export { type Tag } from './tags.js';
export {
  generateWallet,
  InvalidWallet,
  loadOrCreateWallet,
  loadWallet,
  walletFromKey,
  type LoadOrCreateOptions,
  type LoadOrCreateResult,
  type Wallet,
  type WalletKind,
} from './wallet.js';
export {
  checkItemSize,
  createDataItem,
  ownerAddress,
  parseDataItem,
  signDataItem,
  tagValue,
  verifyDataItem,
  type DataItemFields,
  type ParsedDataItem,
  type SignedDataItem,
} from './data-item.js';
export { deepHash, deepHashBlob, DeepHashList, dataItemPrefix, dataItemSignatureData, type DeepHashChunk, type SignatureDataParts } from './deep-hash.js';
export { SignerUnavailable, SignPool, type SignPoolOptions } from './sign-pool.js';
export { BUNDLE_TAGS, bundleItems, InvalidBundle, isBundle, unbundle } from './bundle.js';
