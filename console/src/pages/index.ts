//! Every page, in navigation order. A feature that lands (governance, contracts) adds its page
//! here; nothing else in the shell changes.

import { account, blob, block, explorer, tx } from './explorer';
import { governance, proposal } from './governance';
import { job, jobs } from './jobs';
import { market } from './market';
import { overview } from './overview';
import type { Page } from './page';
import { staking } from './staking';
import { storage } from './storage';
import { wallet } from './wallet';

export const pages: Page[] = [overview, explorer, market, jobs, storage, staking, governance, wallet, block, tx, account, blob, job, proposal];
