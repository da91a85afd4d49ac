/** Signed items for the AO-Sec tests: messages, challenges, evidence, offers, misbehaving assignments. */
import { randomBytes } from 'node:crypto';
import { createDataItem, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { secItem } from '../../../units/sec/index.js';
import { createRunSigner, nextHashChain } from '../../../units/su/assignment-core.js';

/** A signed message for `processId`, not sent anywhere. */
export function message(signer: Wallet, processId: string, tags: Tag[] = [], data = '') {
  return createDataItem(
    {
      data,
      target: processId,
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Message' },
        ...tags,
      ],
    },
    signer,
  );
}

export const liveness = (signer: Wallet, processId: string, msg: Uint8Array) =>
  secItem(signer, { type: 'Sec-Challenge', kind: 'Liveness', processId, items: [msg] });

export const nonPublication = (signer: Wallet, processId: string, assignment: Uint8Array) =>
  secItem(signer, { type: 'Sec-Challenge', kind: 'Non-Publication', processId, items: [assignment] });

export const doubleAssignment = (signer: Wallet, processId: string, a: Uint8Array, b: Uint8Array) =>
  secItem(signer, { type: 'Sec-Evidence', kind: 'Double-Assignment', processId, items: [a, b] });

export const publication = (signer: Wallet, processId: string, assignment: Uint8Array, msg: Uint8Array) =>
  secItem(signer, { type: 'Sec-Evidence', kind: 'Publication', processId, items: [assignment, msg] });

/** A stake request (`POST /sec/stake`) signed by `signer` (any Action, so tests can send bad ones). */
export const stakeRequest = (signer: Wallet, action: string, quantity?: string) =>
  createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Type', value: 'Sec-Stake' },
        { name: 'Action', value: action },
        ...(quantity !== undefined ? [{ name: 'Quantity', value: quantity }] : []),
      ],
    },
    signer,
  );

/** An offer to host `processId`, signed by the SU's wallet. */
export const offer = (su: Wallet, processId: string, tags: Tag[] = [], url = 'http://127.0.0.1:1/su') =>
  message(su, processId, [{ name: 'Action', value: 'Host-Offer' }, { name: 'Scheduler-Url', value: url }, ...tags]);

/**
 * An assignment signed with `wallet`'s key outside any sequencer: what a misbehaving SU (or a
 * forger holding another key) produces. `prev` is the assignment before it in the chain.
 */
export function rogueAssignment(wallet: Wallet, o: { processId: string; messageId: string; slot: number; prev: { id: string; hashChain: string } }) {
  const [a] = createRunSigner(wallet.key).signRun({
    processId: o.processId,
    prev: { slot: o.slot - 1, id: o.prev.id, hashChain: o.prev.hashChain },
    items: [{ messageId: o.messageId, slot: o.slot, timestamp: Date.now(), blockHeight: 0 }],
  });
  return a!;
}

export { nextHashChain };

/**
 * The process's own hosting policy (an aos handler): an offer without a Fee gets "more" (quote
 * one), a Fee up to 10 is accepted, anything else rejected. It answers the offering SU.
 */
export const OFFER_HANDLER = `
Handlers.add("host-offer", Handlers.utils.hasMatchingTag("Action", "Host-Offer"), function (msg)
  local fee = tonumber(msg.Fee or "")
  local decision, why = "reject", "too expensive"
  if fee == nil then decision, why = "more", "quote a Fee"
  elseif fee <= 10 then decision, why = "accept", "welcome" end
  ao.send({ Target = msg.From, Action = "Host-Offer-Response", Decision = decision, Data = why })
end)
`;
