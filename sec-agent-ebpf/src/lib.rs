//! Empty library target: it lets `sec-agent` declare this crate as a build dependency, so
//! cargo reruns the eBPF build whenever this crate or `sec-agent-common` changes.
#![no_std]
