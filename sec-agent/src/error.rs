//! Errors caused by what the operator typed (exit code 2), as opposed to failures of the
//! system (exit code 1).

/// Bad input: an unparsable address, a refused change, a full map. The maps are unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Builds an [`anyhow::Error`] carrying an [`InputError`].
pub fn input_error(msg: impl Into<String>) -> anyhow::Error {
    InputError(msg.into()).into()
}

/// Exit code for an error: 2 for [`InputError`] anywhere in the chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<InputError>()) {
        2
    } else {
        1
    }
}
