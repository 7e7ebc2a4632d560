//! The running agent around the pipeline: start and stop, control socket and the verbs it
//! serves, desired state and its journal, the reporter (events, metrics, per-source
//! memory, repeat folding), the kernel enforcer, systemd.

pub mod control;
pub mod daemon;
pub mod enforcer;
pub mod events;
pub mod folding;
pub mod metrics;
pub mod report;
pub mod source_log;
pub mod state;
pub mod systemd;
pub mod verbs;
