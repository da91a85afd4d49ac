/**
 * The MU's scheduler on a network: a process this node's SU hosts is scheduled here as before;
 * any other process the gateway knows is scheduled by the SU its `Scheduler` tag names, found
 * through that SU's Scheduler-Location record and reached over its HTTP API; a spawn goes to the
 * SU its own `Scheduler` tag names. What is neither (a wallet, an id nobody published) is still
 * not a process: the push job records it as `skipped`.
 *
 * Answers keep the SU's meaning for the push job: a remote 4xx is a refusal (the job fails with
 * the SU's reason), an SU or gateway out of reach is transient (the job retries with backoff).
 */
import { parseDataItem, tagValue } from '../ans104/index.js';
import type { MuScheduler } from '../mu/ports.js';
import { SchedulerUnavailable, type ScheduleReply, type SequencerRequest } from '../su/index.js';
import { GatewayUnavailable } from './gateway-client.js';
import { RemoteRefused, RemoteUnavailable, type RemoteSu } from './remote-su.js';
import type { SchedulerLocator } from './scheduler-locator.js';

/** What may be posted to another SU: a spawn, a message, an assignment. */
type Posted = Extract<SequencerRequest, { op: 'spawn' | 'message' | 'assign' }>;

export function networkScheduler(local: MuScheduler, locator: SchedulerLocator, remote: RemoteSu, now: () => number = Date.now): MuScheduler {
  /** The SU address of a request's process, when another SU schedules it. */
  const elsewhere = async (processId: string, request: Posted): Promise<string | undefined> => {
    if (request.op === 'spawn') {
      const scheduler = tagValue(parseDataItem(request.raw).tags, 'Scheduler');
      return scheduler !== undefined && scheduler !== local.address ? scheduler : undefined;
    }
    if (await local.processTags(processId)) return undefined;
    const found = await locator.process(processId);
    const scheduler = found && tagValue(found.tags, 'Scheduler');
    return scheduler !== undefined && scheduler !== local.address ? scheduler : undefined;
  };

  const scheduleThere = async (address: string, processId: string, request: Posted): Promise<ScheduleReply> => {
    const location = await locator.locate(address);
    // Not published yet (a node just starting), or never: waited for, up to the job's retries.
    if (!location) return { error: `SU ${address} has no Scheduler-Location record on ${locator.gateway.url}`, transient: true };
    try {
      const posted =
        request.op === 'assign' ? await remote.assign(location.url, processId, request.id, request.exclude) : await remote.post(location.url, request.raw);
      // Its slot and assignment, so that the job records them as for a local one (a spawn's is slot 0).
      const entry = request.op === 'spawn' ? (await remote.read(location.url, processId, 0, 0, 1))[0] : await remote.entry(location.url, processId, posted.id);
      if (!entry) throw new RemoteUnavailable(`${location.url} does not show slot 0 of ${processId} yet`);
      return {
        ok: {
          processId,
          slot: entry.slot,
          assignmentId: entry.assignmentId,
          messageId: request.id,
          timestamp: Number(posted.timestamp) || now(),
          existing: false,
          kind: request.op === 'assign' ? 'assign' : request.op === 'spawn' ? 'process' : 'message',
        },
      };
    } catch (e) {
      if (e instanceof RemoteRefused) return { error: `SU ${location.url} refused it: ${e.message}` };
      if (e instanceof RemoteUnavailable) {
        locator.forget(address);
        return { error: e.message, transient: true };
      }
      throw e;
    }
  };

  return {
    address: local.address,
    processTags: async (processId) => (await local.processTags(processId)) ?? (await remoteHead(processId))?.tags,
    processOwner: async (processId) => (await local.processOwner(processId)) ?? (await remoteHead(processId))?.owner,
    reaches: async (address) => address === local.address || (await locator.locate(address)) !== undefined,
    async schedule(processId, request) {
      // A log handed over to this SU (AO-Sec) is this node's business only.
      if (request.op === 'adopt') return local.schedule(processId, request);
      let address: string | undefined;
      try {
        address = await elsewhere(processId, request);
      } catch (e) {
        if (e instanceof GatewayUnavailable) return { error: e.message, transient: true };
        throw e;
      }
      if (address === undefined) return local.schedule(processId, request);
      try {
        return await scheduleThere(address, processId, request);
      } catch (e) {
        if (e instanceof GatewayUnavailable) return { error: e.message, transient: true };
        throw e;
      }
    },
  };

  /** A gateway out of reach is the SU out of reach to the push job: it waits and tries again. */
  async function remoteHead(processId: string) {
    try {
      return await locator.process(processId);
    } catch (e) {
      if (e instanceof GatewayUnavailable) throw new SchedulerUnavailable(e.message);
      throw e;
    }
  }
}
