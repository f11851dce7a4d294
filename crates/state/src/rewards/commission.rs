//! `SetCommission`: a validator's share of its stake's block rewards, at most
//! `commission_max_bps`; a validator with delegators may raise it by at most
//! `commission_raise_max_bps` once per epoch (lowering is never limited).

use crate::env::BlockEnv;
use crate::overlay::{Overlay, StateReader};
use crate::staking::epoch_of_height;
use yun_types::{Address, ChainParams, TxRejection};

pub(crate) fn set_commission<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    env: &BlockEnv,
    params: &ChainParams,
    sender: &Address,
    commission_bps: u16,
) -> Result<(), TxRejection> {
    let mut v = state
        .validator(sender)
        .ok_or(TxRejection::UnknownValidator)?;
    if commission_bps > params.rewards.commission_max_bps {
        return Err(TxRejection::CommissionAboveMax);
    }
    let epoch = epoch_of_height(&params.staking, env.height);
    // The limit protects delegators, who bonded at the old rate; with none, any rate is fine.
    if commission_bps > v.commission_bps && !v.delegated.is_zero() {
        if commission_bps - v.commission_bps > params.rewards.commission_raise_max_bps {
            return Err(TxRejection::CommissionRaiseTooLarge);
        }
        if v.commission_raised_epoch == epoch {
            return Err(TxRejection::CommissionRaiseTooSoon);
        }
    }
    if commission_bps > v.commission_bps {
        v.commission_raised_epoch = epoch;
    }
    v.commission_bps = commission_bps;
    state.set_validator(&v);
    Ok(())
}
