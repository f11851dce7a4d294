//! The compute precompile's ABI, read by alloy's `sol!` from the Solidity interface contracts
//! import (`examples/contracts/IYunCompute.sol`), so the two can never differ.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol!("../../examples/contracts/IYunCompute.sol");
