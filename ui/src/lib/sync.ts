// Team sync, the parts without React: what the header's sync pill says, how a refused change is
// put in words, which commands change something the server should hear about, and the
// scheduler that runs one round at a time in the background.
import type { RefusedDetail, SyncOutcome, SyncStatus } from '../api/generated';
import { relativeTime } from './format';

/** Every how often a round runs while a server is set. */
export const SYNC_INTERVAL_MS = 30_000;
/** How long after a change made here its round starts (changes made in a burst go together). */
export const SYNC_AFTER_CHANGE_MS = 2_000;

/** Commands whose success leaves something for the server: a round follows shortly after.
 * Drafts, samples and settings stay on this machine. */
export const SYNCED_COMMANDS: ReadonlySet<string> = new Set([
  'create_prompt',
  'update_prompt',
  'rename_prompt',
  'commit_version',
  'request_review',
  'comment_review',
  'decide_review',
  'release_version',
  'release_bundle',
  'rollback_label',
  // Release policies, test suites, ratings, incidents and postmortems sync too.
  'set_policy',
  'create_suite',
  'add_cases',
  'import_cases',
  'update_case',
  'remove_case',
  'rate_output',
  'open_incident',
  'update_incident',
  'add_incident_note',
  'incident_rollback',
  'save_postmortem',
  'add_regression_cases',
]);

export type PillKind = 'none' | 'syncing' | 'synced' | 'pending' | 'offline' | 'failed' | 'conflict';

export interface PillView {
  kind: PillKind;
  /** What the pill shows. */
  text: string;
  /** More, on hover: when it last synced, or the error. */
  title: string;
}

/** How the latest round went, as far as the pill cares. */
export interface LastRound {
  ok: boolean;
  kind: string | null;
  message: string | null;
}

export function lastRoundOf(outcome: SyncOutcome): LastRound {
  return { ok: outcome.ok, kind: outcome.kind, message: outcome.message };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function lastSynced(status: SyncStatus, now: number): string {
  return status.last_synced_at
    ? `Last synced ${relativeTime(status.last_synced_at, now)} (${status.last_synced_at}).`
    : 'Not synced yet.';
}

/** The pill, from the status, whether a round is running, the latest round's outcome (null
 * before the first one in this window) and the refused changes already looked at. */
export function pillView(
  status: SyncStatus,
  syncing: boolean,
  last: LastRound | null,
  seen: ReadonlySet<string> = new Set(),
  now: number = Date.now(),
): PillView {
  if (!status.remote) {
    return {
      kind: 'none',
      text: 'Not synced',
      title: 'No team server is set: your work stays on this computer. Click to set one up.',
    };
  }
  const waiting =
    status.pending > 0 ? ` ${plural(status.pending, 'change')} made here ${status.pending === 1 ? 'waits' : 'wait'} to be sent.` : '';
  if (syncing) {
    return { kind: 'syncing', text: 'Syncing…', title: `Syncing with ${status.remote}.${waiting}` };
  }
  const unseen = status.refused.filter((r) => !seen.has(r.event_id)).length;
  if (unseen > 0) {
    return {
      kind: 'conflict',
      text: `Conflict (${unseen})`,
      title: `The server refused ${plural(unseen, 'change')} made here. Click to see what happened.`,
    };
  }
  // The latest round in this window, else what the registry remembers of the last one.
  const failed = last ? (last.ok ? null : { kind: last.kind, message: last.message ?? '' }) : status.last_error ? { kind: null, message: status.last_error } : null;
  if (failed) {
    const offline = failed.kind === 'offline' || (failed.kind === null && /cannot be reached/.test(failed.message));
    return {
      kind: offline ? 'offline' : 'failed',
      text: offline ? 'Offline' : 'Sync failed',
      title: `${failed.message}${waiting} ${lastSynced(status, now)}`.trim(),
    };
  }
  if (status.pending > 0) {
    return {
      kind: 'pending',
      text: `${status.pending} pending`,
      title: `${plural(status.pending, 'change')} made here ${status.pending === 1 ? 'waits' : 'wait'} to be sent to ${status.remote}. ${lastSynced(status, now)}`,
    };
  }
  return { kind: 'synced', text: 'Synced', title: `In step with ${status.remote}. ${lastSynced(status, now)}` };
}

/** What a refused change tried, in words: "Your move of staging of support/greeting to v3". */
export function describeRefused(r: RefusedDetail): string {
  const on = r.subject ? ` of ${r.subject}` : '';
  switch (r.kind) {
    case 'label.move': {
      if (!r.label) return `Your label move${on}`;
      const how = r.move_kind === 'release' ? 'release' : r.move_kind === 'rollback' ? 'rollback' : 'move';
      const to = r.to_version !== null ? ` to v${r.to_version}` : '';
      return `Your ${how} of ${r.label}${on}${to}`;
    }
    case 'version.create':
      return `Your new version${on}`;
    case 'prompt.create':
      return `Creating the prompt ${r.subject}`;
    case 'prompt.update':
      return `Your change to the description or tags${on}`;
    case 'review.request':
      return `Your review request${r.subject ? ` for ${r.subject}` : ''}`;
    case 'review.event':
      return `Your review comment or decision${r.subject ? ` on ${r.subject}` : ''}`;
    case 'policy.set':
      return `Your change to the release policy${r.subject ? ` of ${r.subject}` : ''}`;
    case 'key.register':
      return 'Registering your signing key';
    default:
      return `${r.kind}${r.subject ? ` ${r.subject}` : ''}`;
  }
}

/** The server's message for people: content hashes shortened to their first characters. */
export function readableMessage(message: string): string {
  return message.replace(/\b[0-9a-f]{64}\b/g, (h) => `#${h.slice(0, 10)}`);
}

/** Runs `run` one round at a time: every `intervalMs` (skipped while a round runs), soon after
 * a change (`poke`, debounced), or now (`now`, which queues one more round when one is
 * running, so a change made during a round is not left behind). */
export class SyncScheduler<T> {
  private running: Promise<T | undefined> | null = null;
  private queued: Promise<T | undefined> | null = null;
  private soon: ReturnType<typeof setTimeout> | null = null;
  private every: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly intervalMs: number = SYNC_INTERVAL_MS,
    private readonly debounceMs: number = SYNC_AFTER_CHANGE_MS,
  ) {}

  /** Starts the periodic rounds and runs one now. */
  start(): Promise<T | undefined> {
    this.every = setInterval(() => void this.now(false), this.intervalMs);
    return this.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.every !== null) clearInterval(this.every);
    if (this.soon !== null) clearTimeout(this.soon);
    this.every = this.soon = null;
  }

  /** A change was made here: a round starts `debounceMs` after the last such call. */
  poke(): void {
    if (this.stopped) return;
    if (this.soon !== null) clearTimeout(this.soon);
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.now();
    }, this.debounceMs);
  }

  /** Whether a round is running. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs a round now, or (`queue`) once more after the running one; without `queue`, joins
   * the running one. Resolves with the round's result (undefined when it threw). */
  now(queue = true): Promise<T | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    // A round is queued behind the running one (or about to start): that one serves this call.
    if (this.queued) return this.queued;
    if (this.running) {
      if (!queue) return this.running;
      if (!this.queued) {
        this.queued = this.running.then(() => {
          this.queued = null;
          return this.stopped ? undefined : this.begin();
        });
      }
      return this.queued;
    }
    return this.begin();
  }

  private begin(): Promise<T | undefined> {
    const round: Promise<T | undefined> = this.run()
      .catch(() => undefined)
      .finally(() => {
        if (this.running === round) this.running = null;
      });
    this.running = round;
    return round;
  }
}
