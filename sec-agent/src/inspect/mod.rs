//! The inspection stages, in the order a request takes them: decode, reassemble, parse,
//! normalize, detect, decide. Pure user-space code: no BPF, no root, no network, so each
//! stage (and `sec-agent inspect`, which runs them on files) is tested on its own.

pub mod decide;
pub mod decode;
pub mod detect;
pub mod normalize;
pub mod parse;
pub mod reassemble;
