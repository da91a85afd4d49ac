/** The machines alone: transitions, guards, and a persisted snapshot restored mid-challenge. */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { hostingMachine } from '../../../units/sec/hosting-machine.js';

const input = { processId: 'P', host: { address: 'SU1', since: 0 } };

describe('hosting machine', () => {
  it('liveness answered → hosted; a late or foreign event changes nothing', () => {
    const a = createActor(hostingMachine, { input }).start();
    a.send({ type: 'LIVENESS', at: 1, challengeId: 'c1', messageId: 'm', deadline: 100 });
    expect(a.getSnapshot().value).toEqual({ challenged: 'liveness' });
    expect(a.getSnapshot().can({ type: 'LIVENESS', at: 2, challengeId: 'c2', messageId: 'm', deadline: 100 })).toBe(false);
    a.send({ type: 'EXPIRED', challengeId: 'c1', now: 99, head: 3 }); // early: the guard holds it
    a.send({ type: 'ANSWERED', challengeId: 'other', slot: 4, assignmentId: 'x' });
    expect(a.getSnapshot().value).toEqual({ challenged: 'liveness' });
    a.send({ type: 'ANSWERED', challengeId: 'c1', slot: 4, assignmentId: 'x' });
    expect(a.getSnapshot().value).toBe('hosted');
    expect(a.getSnapshot().context.challenge).toBeUndefined();
  });

  it('liveness expired → unhosted at the head; offers: more, then accept → hosted by the new SU', () => {
    const a = createActor(hostingMachine, { input }).start();
    a.send({ type: 'LIVENESS', at: 1, challengeId: 'c1', messageId: 'm', deadline: 100 });
    a.send({ type: 'EXPIRED', challengeId: 'c1', now: 100, head: 3 });
    expect(a.getSnapshot().value).toBe('unhosted');
    expect(a.getSnapshot().context.unhostedAt).toBe(3);
    a.send({ type: 'OFFER', at: 5, offerId: 'o1', address: 'SU2', decision: 'more' });
    expect(a.getSnapshot().value).toBe('unhosted');
    a.send({ type: 'OFFER_ACCEPTED', at: 6, offerId: 'o2', address: 'SU2', nextSlot: 4 });
    expect(a.getSnapshot().value).toBe('hosted');
    expect(a.getSnapshot().context.host).toMatchObject({ address: 'SU2', offerId: 'o2' });
    expect(a.getSnapshot().context.history.map((h) => h.event)).toEqual(['liveness challenge', 'unhosted', 'offer: more', 'offer: accept']);
  });

  it('non-publication: only message n answers; expiry unhosts at n-1', () => {
    const a = createActor(hostingMachine, { input }).start();
    a.send({ type: 'PUBLICATION', at: 1, challengeId: 'c1', slot: 7, messageId: 'm7', deadline: 100 });
    a.send({ type: 'PUBLISHED', challengeId: 'c1', messageId: 'm6', by: 'x' });
    expect(a.getSnapshot().value).toEqual({ challenged: 'publication' });
    a.send({ type: 'EXPIRED', challengeId: 'c1', now: 150, head: 9 });
    expect(a.getSnapshot().value).toBe('unhosted');
    expect(a.getSnapshot().context.unhostedAt).toBe(6);
  });

  it('double assignment unhosts from hosted or challenged, keeping the first submitted', () => {
    const a = createActor(hostingMachine, { input }).start();
    a.send({ type: 'LIVENESS', at: 1, challengeId: 'c1', messageId: 'm', deadline: 100 });
    a.send({ type: 'DOUBLE_ASSIGNMENT', at: 2, evidenceId: 'e', slot: 2, kept: { assignmentId: 'a1', messageId: 'm1' }, other: { assignmentId: 'a2', messageId: 'm2' } });
    expect(a.getSnapshot().value).toBe('unhosted');
    expect(a.getSnapshot().context.kept).toEqual({ slot: 2, assignmentId: 'a1', messageId: 'm1' });
    expect(a.getSnapshot().context.unhostedAt).toBe(2);
    expect(a.getSnapshot().children.challenge).toBeUndefined();
  });

  it('a persisted snapshot (JSON) restores mid-challenge, with its invoked challenge machine', () => {
    const a = createActor(hostingMachine, { input }).start();
    a.send({ type: 'LIVENESS', at: 1, challengeId: 'c1', messageId: 'm', deadline: 100 });
    const saved = JSON.parse(JSON.stringify(a.getPersistedSnapshot()));
    a.stop();
    const b = createActor(hostingMachine, { input, snapshot: saved }).start();
    expect(b.getSnapshot().value).toEqual({ challenged: 'liveness' });
    b.send({ type: 'EXPIRED', challengeId: 'c1', now: 100, head: 0 });
    expect(b.getSnapshot().value).toBe('unhosted');
  });
});
