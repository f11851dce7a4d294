//! The bank: every movement of a balance or of the burned total goes through here.
//!
//! Money is created only by genesis ([`open_account`]) and by [`mint`] (which counts it in
//! `minted`), and destroyed only by burning: a bond, an escrow or a delegation leaves a balance
//! by [`debit`] and comes back by [`credit`] (or goes to `burned` by [`burn`], or to the
//! treasury by [`to_treasury`]), fees leave by [`charge_fee`] (which also consumes the nonce, as
//! paying for a transaction and spending its nonce are one step), and only [`treasury_pay`]
//! takes from the treasury. Keeping them in one place is what lets `conservation::check_supply` hold
//! after every block: a new kind of movement is written here or nowhere.

use crate::overlay::{Overlay, StateReader};
use yun_types::{Address, Amount, TxRejection};

/// Adds to a balance. Cannot overflow: every balance is part of the fixed supply. A zero
/// credit writes nothing.
pub fn credit<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, to: &Address, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut account = state.account(to);
    account.balance = account
        .balance
        .checked_add(amount)
        .expect("a balance never exceeds the supply");
    state.set_account(to, account);
}

/// Takes from a balance (into a bond, escrow, delegation or another balance); on
/// `InsufficientBalance` nothing is written. The account is written even for zero, as every
/// debit always has been (the written value is the same either way).
pub fn debit<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    from: &Address,
    amount: Amount,
) -> Result<(), TxRejection> {
    let mut account = state.account(from);
    account.balance = account
        .balance
        .checked_sub(amount)
        .map_err(|_| TxRejection::InsufficientBalance)?;
    state.set_account(from, account);
    Ok(())
}

/// Moves `amount` from one balance to another; on `InsufficientBalance` nothing is written.
pub fn transfer<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    from: &Address,
    to: &Address,
    amount: Amount,
) -> Result<(), TxRejection> {
    debit(state, from, amount)?;
    credit(state, to, amount);
    Ok(())
}

/// Takes a transaction's declared fee: its nonce must be the payer's next, then the fee is
/// taken and the nonce consumed, in one write. What it did not owe comes back by
/// [`refund_fee`] after its action; the burned share (`fee_burn_bps`) of what it paid is
/// burned at the end of the block and the rest pooled for the validators. On `BadNonce` or
/// `InsufficientBalance` nothing is written.
pub fn charge_fee<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    payer: &Address,
    nonce: u64,
    fee: Amount,
) -> Result<(), TxRejection> {
    let mut account = state.account(payer);
    if nonce != account.nonce {
        return Err(TxRejection::BadNonce);
    }
    account.balance = account
        .balance
        .checked_sub(fee)
        .map_err(|_| TxRejection::InsufficientBalance)?;
    account.nonce = account
        .nonce
        .checked_add(1)
        .expect("invariant: a nonce counts committed transactions, far fewer than u64::MAX");
    state.set_account(payer, account);
    Ok(())
}

/// Returns the part of a declared fee a transaction did not owe (see `exec::apply_tx`).
pub fn refund_fee<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    payer: &Address,
    amount: Amount,
) {
    credit(state, payer, amount);
}

/// Moves `amount` (already taken from a balance, bond, escrow or stake) to the burned total.
pub fn burn<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut supply = state.supply();
    supply.burned = supply
        .burned
        .checked_add(amount)
        .expect("burned stays within the supply");
    state.set_supply(&supply);
}

/// Issues `amount` new units to `to`'s balance and counts them in `minted`: the one mint
/// after genesis (block rewards). The caller bounds how much it mints.
pub fn mint<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, to: &Address, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut supply = state.supply();
    supply.minted = supply
        .minted
        .checked_add(amount)
        .expect("invariant: issuance parameters cap minting far below u128::MAX");
    state.set_supply(&supply);
    credit(state, to, amount);
}

/// Issues `amount` new units straight into the treasury, counted in `minted`.
pub fn mint_to_treasury<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut supply = state.supply();
    supply.minted = supply
        .minted
        .checked_add(amount)
        .expect("invariant: issuance parameters cap minting far below u128::MAX");
    supply.treasury = supply
        .treasury
        .checked_add(amount)
        .expect("the treasury is part of the supply");
    state.set_supply(&supply);
}

/// Moves `amount` (already taken from a balance, bond, escrow or stake) into the treasury.
pub fn to_treasury<R: StateReader + ?Sized>(state: &mut Overlay<'_, R>, amount: Amount) {
    if amount.is_zero() {
        return;
    }
    let mut supply = state.supply();
    supply.treasury = supply
        .treasury
        .checked_add(amount)
        .expect("the treasury is part of the supply");
    state.set_supply(&supply);
}

/// Pays `amount` from the treasury to `to`; `None` (and nothing written) when the treasury
/// holds less.
#[must_use]
pub fn treasury_pay<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    to: &Address,
    amount: Amount,
) -> Option<()> {
    let mut supply = state.supply();
    supply.treasury = supply.treasury.checked_sub(amount).ok()?;
    state.set_supply(&supply);
    credit(state, to, amount);
    Some(())
}

/// Sets an opening balance: the only mint, used by genesis (which adds it to the supply's
/// total and refuses an account listed twice). Written even for a zero balance, so such an
/// account exists from genesis on.
pub fn open_account<R: StateReader + ?Sized>(
    state: &mut Overlay<'_, R>,
    who: &Address,
    balance: Amount,
) {
    let mut account = state.account(who);
    account.balance = balance;
    state.set_account(who, account);
}
