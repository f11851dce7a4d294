//! Staking: the validator set (stake, self bond, delegations, status, commission, fees and
//! rewards earned, missed blocks, slashed) and,
//! with an unlocked wallet, delegating to one of them.

import { get } from '../chain/api';
import { addrLink, amount, facts, h, pct, section, table } from '../ui';
import { delegateForm } from '../wallet/forms';
import type { Page } from './page';

interface ValidatorView {
  address: string;
  self_bond: string;
  delegated: string;
  stake: string;
  status: string;
  in_active_set: boolean;
  jailed_until_height: number;
  fees_earned: string;
  slashed: string;
  commission_bps: number;
  rewards_earned: string;
  missed_blocks: number;
  downtime_jails: number;
}
interface Validators {
  epoch: number;
  next_epoch_height: number;
  active_validators_max: number;
  validators: ValidatorView[];
  validators_total: number;
}

export const staking: Page = {
  route: 'staking',
  nav: 'Staking',
  title: () => 'Staking',
  async render(root, _args, ctx) {
    const summary = h('div');
    const list = h('div');
    root.append(h('h1', null, 'Staking'), summary, section('Validators', list), section('Delegate', delegateForm(ctx)));
    const refresh = async () => {
      const v = await get<Validators>('/v1/validators?limit=200');
      summary.replaceChildren(
        facts([
          ['Epoch', String(v.epoch)],
          ['Next epoch at height', String(v.next_epoch_height)],
          ['Active set size (max)', String(v.active_validators_max)],
          ['Validators', String(v.validators_total)],
        ]),
      );
      list.replaceChildren(
        table(
          ['Validator', 'Status', 'Active', 'Stake', 'Self bond', 'Delegated', 'Commission', 'Fees earned', 'Rewards earned', 'Missed this epoch', 'Slashed'],
          v.validators.map((x) => [
            addrLink(x.address),
            x.jailed_until_height > 0 ? `${x.status} (jailed until ${x.jailed_until_height})` : x.status,
            x.in_active_set ? 'yes' : 'no',
            amount(x.stake),
            amount(x.self_bond),
            amount(x.delegated),
            pct(x.commission_bps),
            amount(x.fees_earned),
            amount(x.rewards_earned),
            x.downtime_jails > 0 ? `${x.missed_blocks} (jailed ${x.downtime_jails}× for downtime)` : String(x.missed_blocks),
            amount(x.slashed),
          ]),
        ),
      );
    };
    await refresh();
    return { onHead: () => void refresh().catch(() => {}) };
  },
};
