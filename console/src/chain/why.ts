//! Why a task waits, in words: the same sentences as `WaitReason::describe`
//! (crates/types/src/market_why.rs), from the `reason`-tagged JSON of `/v1/jobs/{id}/why`.

export type WaitReason = { reason: string } & Record<string, unknown>;

const FAIL: Record<string, string> = {
  no_quorum:
    'failed: no quorum of equal verdicts within the replica cap (the program may be nondeterministic, or providers disagreed); the unspent escrow was refunded',
  too_many_expirations: 'failed: too many assigned providers stayed silent; the unspent escrow was refunded — post it again',
  deadline_passed: 'failed: the deadline passed first; the unspent escrow was refunded',
  cancelled: 'failed: the job was cancelled; the unspent escrow was refunded',
};

export function describe(r: WaitReason): string {
  const n = (k: string) => String(r[k] ?? '?');
  switch (r.reason) {
    case 'bid_below_index':
      return `bid ${n('bid_per_mfuel')} per Mfuel is below the price index ${n('index_per_mfuel')}; it runs when the index falls (or post a higher bid)`;
    case 'no_active_provider':
      return 'no active, bonded provider';
    case 'no_provider_with_enough_memory':
      return 'no provider offers enough memory per slot for this task';
    case 'no_provider_with_labels':
      return 'no provider with enough memory carries every required label';
    case 'all_asks_above_bid':
      return 'every provider that fits asks more than the bid';
    case 'too_few_distinct_providers':
      return `needs ${n('needed')} more distinct providers, ${n('eligible')} eligible (a task's replicas run on different providers, never the requester)`;
    case 'all_eligible_busy':
      return 'every eligible provider is busy; waiting for a slot';
    case 'too_few_independent_providers':
      return `the verification policy needs ${n('needed')} independent providers (distinct, not the requester) with a free slot at once and ${n('eligible')} are eligible: it waits rather than run on fewer`;
    case 'no_provider_of_task_engine_class':
      return "no eligible provider of the engine class this task's earlier replicas ran on (a task's replicas never mix engine classes)";
    case 'too_few_in_one_engine_class':
      return `the verification policy needs ${n('needed')} independent providers of one engine class at once and the largest class has ${n('eligible')}: it waits rather than mix engine classes`;
    case 'matching_next_block':
      return 'capacity fits: matched at the end of the next block';
    case 'waiting_for_commits':
      return 'running: waiting for providers to commit';
    case 'waiting_for_reveals':
      return 'running: waiting for providers to reveal';
    case 'verifying':
      return 'all verdicts are in: verified at the end of this block';
    case 'job_closed':
      return 'the job is closed: no new replicas';
    case 'waiting_for_maps':
      return `the reduce step runs on the network once every map task has ended: ${n('maps_open')} still open`;
    case 'failed': {
      const why = FAIL[String(r.fail)] ?? `failed: ${String(r.fail)}`;
      const unmet = r.unmet as WaitReason | null | undefined;
      return unmet ? `${why} — it waited because ${describe(unmet)}` : why;
    }
    default:
      return r.reason.replace(/_/g, ' ');
  }
}
