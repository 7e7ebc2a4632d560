//! Loading the XDP object, attaching it through pinned bpf_links, and adopting what an
//! earlier agent left behind.
//!
//! Maps are pinned by name under the pin directory, so a new load reuses the existing maps
//! (and their bans) instead of creating empty ones. Each attachment is a bpf_link pinned at
//! `<pin dir>/links/<iface>`: it keeps the program attached when the agent dies, and a new
//! agent atomically swaps its freshly loaded program into that link (`BPF_LINK_UPDATE`)
//! rather than attaching a second time, so enforcement has no gap across restarts.

use std::{ffi::CString, fs, io, path::Path};

use anyhow::{Context as _, Result, bail};
use aya::{
    Ebpf, EbpfLoader,
    maps::MapInfo,
    programs::{
        ProgramError, Xdp, XdpMode,
        links::{FdLink, PinnedLink},
        xdp::XdpLink,
    },
};
use sec_agent_common::IfaceInfo;

use crate::{
    EBPF_OBJECT, XDP_PROGRAM,
    config::{self, Config},
    kernel::{bpffs::links_dir, maps::KernelMaps},
};

/// The mode an attachment runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// Native (driver) XDP.
    Native,
    /// Generic (skb) XDP.
    Skb,
}

impl AttachMode {
    /// Name used in logs and `status`.
    pub fn name(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Skb => "skb",
        }
    }

    /// Code stored in the `ifaces` map.
    pub fn code(self) -> u32 {
        match self {
            AttachMode::Native => 1,
            AttachMode::Skb => 2,
        }
    }

    /// Decodes an `ifaces` map code.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(AttachMode::Native),
            2 => Some(AttachMode::Skb),
            _ => None,
        }
    }

    fn aya(self) -> XdpMode {
        match self {
            AttachMode::Native => XdpMode::Driver,
            AttachMode::Skb => XdpMode::Skb,
        }
    }
}

/// One interface the program is attached to.
#[derive(Debug)]
pub struct Attachment {
    /// Interface name.
    pub iface: String,
    /// Interface index.
    pub ifindex: u32,
    /// Mode (for an adopted link: as recorded by the agent that created it).
    pub mode: Option<AttachMode>,
    /// Whether an existing pinned link was taken over.
    pub adopted: bool,
    /// Whether the link is pinned (false only on kernels without XDP bpf_link, < 5.9).
    pub pinned: bool,
}

/// The loaded XDP program and its maps.
pub struct Loaded {
    /// The aya object: owns the program (and the unpinned links on old kernels).
    pub ebpf: Ebpf,
    /// The pinned maps.
    pub maps: KernelMaps,
}

/// Loads the object with map capacities from `config`, reusing maps pinned in `pin_dir`.
///
/// # Errors
/// The verifier rejects the program, or maps cannot be created or pinned.
pub fn load(config: &Config, pin_dir: &Path) -> Result<Loaded> {
    raise_memlock_rlimit();
    let capacities = config.maps.capacities();
    for (name, wanted) in capacities {
        if let Ok(info) = MapInfo::from_pin(pin_dir.join(name))
            && info.max_entries() != wanted
        {
            tracing::warn!(
                map = name,
                pinned = info.max_entries(),
                configured = wanted,
                "keeping the existing pinned map and its size; remove the pin to resize"
            );
        }
    }
    let mut loader = EbpfLoader::new();
    loader.default_map_pin_directory(pin_dir);
    for (name, capacity) in capacities {
        loader.map_max_entries(name, capacity);
    }
    let mut ebpf = loader
        .load(EBPF_OBJECT)
        .context("loading the XDP object (maps and BTF)")?;
    let program: &mut Xdp = ebpf
        .program_mut(XDP_PROGRAM)
        .context("XDP program missing from the object")?
        .try_into()?;
    program
        .load()
        .context("the kernel refused the XDP program (verifier)")?;
    let maps = KernelMaps::open(pin_dir)?;
    Ok(Loaded { ebpf, maps })
}

impl Loaded {
    /// Attaches to `iface`, or takes over the link an earlier agent pinned for it.
    ///
    /// # Errors
    /// Unknown interface, no requested mode accepted, or another XDP program already
    /// attached by someone else.
    pub fn attach(&mut self, iface: &str, mode: config::XdpMode) -> Result<Attachment> {
        let ifindex = ifindex(iface)?;
        let pin = links_dir(self.maps.pin_dir()).join(iface);
        let recorded = self
            .maps
            .ifaces()?
            .into_iter()
            .find(|(i, _)| *i == ifindex)
            .and_then(|(_, info)| AttachMode::from_code(info.mode));
        let program: &mut Xdp = self
            .ebpf
            .program_mut(XDP_PROGRAM)
            .context("XDP program missing")?
            .try_into()?;
        if pin.exists() {
            match adopt(program, &pin) {
                Ok(()) => {
                    if let Some(rec) = recorded
                        && !mode_accepts(mode, rec)
                    {
                        tracing::warn!(
                            iface,
                            attached = rec.name(),
                            "keeping the existing attachment's mode; stop with a normal \
                             stop (no --keep-attached) to change it"
                        );
                    }
                    return Ok(Attachment {
                        iface: iface.to_string(),
                        ifindex,
                        mode: recorded,
                        adopted: true,
                        pinned: true,
                    });
                }
                Err(e) => {
                    tracing::warn!(iface, error = %format!("{e:#}"), "stale pinned link; attaching anew");
                    fs::remove_file(&pin)
                        .with_context(|| format!("removing stale link pin {}", pin.display()))?;
                }
            }
        }
        let (id, used) = attach_first_mode(program, ifindex, iface, mode)?;
        let link = program.take_link(id)?;
        let pinned = match FdLink::try_from(link) {
            Ok(fd_link) => {
                fd_link
                    .pin(&pin)
                    .with_context(|| format!("pinning the XDP link at {}", pin.display()))?;
                true
            }
            Err(_) => {
                // Legacy netlink attachment (kernel < 5.9): it lives as long as nothing
                // detaches it, but cannot be pinned or adopted.
                tracing::warn!(
                    iface,
                    "this kernel has no XDP bpf_link (needs Linux 5.9): the attachment is not \
                     pinned and a restarted agent re-attaches"
                );
                false
            }
        };
        self.maps.set_iface(
            ifindex,
            IfaceInfo {
                mode: used.code(),
                name: iface_name_bytes(iface),
                _pad: 0,
            },
        )?;
        Ok(Attachment {
            iface: iface.to_string(),
            ifindex,
            mode: Some(used),
            adopted: false,
            pinned,
        })
    }
}

/// Removes the pinned link of `iface` (detaching the program once no process holds the link)
/// and forgets the interface.
pub fn detach(maps: &mut KernelMaps, attachment: &Attachment) -> Result<()> {
    let pin = links_dir(maps.pin_dir()).join(&attachment.iface);
    match fs::remove_file(&pin) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", pin.display())),
    }
    maps.remove_iface(attachment.ifindex)
}

fn adopt(program: &mut Xdp, pin: &Path) -> Result<()> {
    let pinned = PinnedLink::from_pin(pin).context("opening pinned link")?;
    let link = XdpLink::try_from(FdLink::from(pinned)).context("pinned link is not XDP")?;
    program
        .attach_to_link(link)
        .context("swapping the new program into the pinned link")?;
    Ok(())
}

fn mode_accepts(wanted: config::XdpMode, actual: AttachMode) -> bool {
    match wanted {
        config::XdpMode::Auto => true,
        config::XdpMode::Native => actual == AttachMode::Native,
        config::XdpMode::Skb => actual == AttachMode::Skb,
    }
}

fn attach_first_mode(
    program: &mut Xdp,
    ifindex: u32,
    iface: &str,
    mode: config::XdpMode,
) -> Result<(aya::programs::xdp::XdpLinkId, AttachMode)> {
    let candidates: &[AttachMode] = match mode {
        config::XdpMode::Auto => &[AttachMode::Native, AttachMode::Skb],
        config::XdpMode::Native => &[AttachMode::Native],
        config::XdpMode::Skb => &[AttachMode::Skb],
    };
    let mut last_err = None;
    for &m in candidates {
        match program.attach_to_if_index(ifindex, m.aya()) {
            Ok(id) => return Ok((id, m)),
            Err(e) => {
                if busy(&e) {
                    bail!(
                        "{iface} already has an XDP program that this agent did not attach \
                         (see `ip link show {iface}`); detach it first"
                    );
                }
                tracing::info!(iface, mode = m.name(), error = %e, "XDP attach mode refused");
                last_err = Some(e);
            }
        }
    }
    Err(last_err.expect("at least one mode tried"))
        .with_context(|| format!("attaching XDP to {iface}"))
}

fn busy(e: &ProgramError) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>()
            && io.raw_os_error() == Some(libc::EBUSY)
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// Interface index of `iface`.
///
/// # Errors
/// No such interface in this network namespace.
pub fn ifindex(iface: &str) -> Result<u32> {
    let c = CString::new(iface).context("interface name contains NUL")?;
    // SAFETY: NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        bail!("no interface named {iface} in this network namespace");
    }
    Ok(index)
}

fn iface_name_bytes(iface: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = iface.len().min(15);
    out[..n].copy_from_slice(&iface.as_bytes()[..n]);
    out
}

/// The interface name recorded in an `ifaces` map entry.
pub fn recorded_name(info: &IfaceInfo) -> String {
    let len = info.name.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&info.name[..len]).into_owned()
}

/// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones use cgroups and
/// ignore it. Raising it is harmless either way.
fn raise_memlock_rlimit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid rlimit struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        tracing::debug!(
            "could not raise RLIMIT_MEMLOCK: {}",
            io::Error::last_os_error()
        );
    }
}
