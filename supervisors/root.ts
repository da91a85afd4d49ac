import { isDownMessage, supervisorSpec, type DownMessage, type ExitReason, type Node, type Pid, type SupervisorSpec } from '../runtime/index.js';

/** The node's root, started: its pid, and its exit reason once it exits. */
export interface StartedRoot {
  pid: Pid;
  /** Resolves with the root supervisor's exit reason if it ever exits. */
  exited: Promise<ExitReason>;
}

/**
 * Starts `tree` as the node's root supervisor (named `root`); answers the supervisor's start
 * error if it does not start. The root exits only when a subtree gave up past its restart
 * budget (or the node stops): whoever runs the node hears it, with the reason, instead of the
 * process just ending.
 */
export async function startRoot(node: Node, tree: SupervisorSpec): Promise<StartedRoot | { error: unknown }> {
  const started = await node.spawn(supervisorSpec(tree), { name: 'root' });
  if (!('ok' in started)) return { error: (started as { error: unknown }).error };
  const watcher = node.inbox();
  const ref = watcher.monitor(started.ok);
  const exited = watcher.receive<DownMessage>((m): m is DownMessage => isDownMessage(m) && m.ref === ref, Infinity).then((m) => m.reason);
  exited.catch(() => undefined);
  return { pid: started.ok, exited };
}
