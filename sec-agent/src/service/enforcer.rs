//! The agent's [`Enforcer`]: detection bans go into the desired state ([`Store`], which
//! writes the kernel map at once and journals behind it), and the banned source's open
//! connections are destroyed through sock_diag.

use std::{net::IpAddr, sync::Arc, time::Duration};

use anyhow::Result;
use sec_agent_common::BanReason;

use super::state::{BanRequest, Durability, Overlap, Store};
use crate::{
    inspect::{decide::Enforcer, detect::Finding},
    kernel::sockdiag,
    net::Target,
};

/// Bans through the store, closes connections through sock_diag.
pub struct KernelEnforcer {
    store: Arc<Store>,
    /// Whether the sock_diag failure was logged already (it repeats on every ban).
    sockdiag_warned: bool,
}

impl KernelEnforcer {
    /// An enforcer on `store`.
    pub fn new(store: Arc<Store>) -> Self {
        KernelEnforcer {
            store,
            sockdiag_warned: false,
        }
    }
}

impl Enforcer for KernelEnforcer {
    fn allowlisted(&mut self, addr: IpAddr) -> Result<bool> {
        self.store.allowlisted(addr)
    }

    fn ban(&mut self, source: IpAddr, ttl: Duration, finding: &Finding) -> Result<()> {
        let note = format!("{}/{}", finding.detection.name(), finding.class);
        self.store.ban(BanRequest {
            target: Target::Addr(source),
            ttl: Some(ttl),
            reason: BanReason::Detection(finding.detection.code()),
            note: Some(&note),
            // The decide stage looked the source up in the allowlist already.
            overlap: Overlap::Force,
            durability: Durability::KernelFirst,
        })
    }

    fn close_connections(&mut self, source: IpAddr) -> Result<usize> {
        sockdiag::destroy_connections(source).inspect_err(|e| {
            if !self.sockdiag_warned {
                self.sockdiag_warned = true;
                tracing::warn!(error = %format!("{e:#}"), "cannot destroy connections of banned sources");
            }
        })
    }
}
