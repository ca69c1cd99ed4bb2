//! The C interface of host functions: vfio-pci functions, whose CLP answers
//! and DMA limit come from the host's VFIO driver, and emulated functions
//! that replay a host from a profile file.
//!
//! QEMU keeps one [`ZpciRsHostBridge`] per PCI host bridge: it holds the
//! function groups (QEMU's `zpci_groups` and `next_sim_grp`) and which
//! containers have a DMA count and how many functions use each (QEMU's
//! `zpci_dma_limit`). The glue mirrors what each answer says into QEMU's
//! own structures: a group to create, a DMA count to start or join; the
//! counter that RPCIT decrements stays in QEMU.
//!
//! Messages for the operator are handed, one at a time, to a
//! [`ZpciRsWarnFn`] callback, after the bridge's state is updated.

use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::catch_unwind;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::clp::{ZpciRsFunctionGroup, ZpciRsPciFunction};
use crate::ioctl::VfioFd;
use crate::{arg, free_handle, guard, out, status, ZpciRsStatus};
use zpci_core::clp::{FunctionGroup, PciFunction};
use zpci_core::describe::{self, Described, Value};
use zpci_core::vfio::host::{self, DmaCount, FunctionRequest, HostAnswer, HostBridge};
use zpci_core::vfio::info::VfioInfoSource;
use zpci_core::vfio::profile::HostProfile;

/// The host-side state of one PCI host bridge (opaque).
pub struct ZpciRsHostBridge {
    state: Mutex<HostBridge>,
}

impl ZpciRsHostBridge {
    /// Locks the state; one an internal error poisoned gets `Panic`.
    fn lock(&self) -> Result<MutexGuard<'_, HostBridge>, ZpciRsStatus> {
        self.state.lock().map_err(|_| ZpciRsStatus::Panic)
    }
}

/// A host profile loaded from a file (opaque).
pub struct ZpciRsHostProfile {
    profile: HostProfile,
    name: String,
}

/// What QEMU knows about a function it plugs.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsFunctionRequest {
    /// Function id.
    pub fid: u32,
    /// User-defined id.
    pub uid: u16,
    /// 1 when the function runs interpreted (after QEMU's fallback), else 0.
    pub interpreted: u8,
    /// 1 when relaxed translation may be offered (the `relaxed-translation`
    /// property; 0 for emulated functions), else 0.
    pub relaxed_translation: u8,
}

/// What a plug does to the DMA counts.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZpciRsDmaCountAction {
    /// No count: no DMA limit for this function.
    None = 0,
    /// Start a count for container `dma_count_id` with `dma_count_avail`
    /// mappings (`S390PCIDMACount`, one user; `max_dma_limit` = avail).
    Start = 1,
    /// Use container `dma_count_id`'s existing count, which now has
    /// `dma_count_users` users.
    Join = 2,
}

/// The answers for one plugged function, in host byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsHostAnswer {
    /// Query PCI Function values; `fid` and `uid` are the request's, BARs
    /// are zero (they are read from configuration space at query time).
    pub function: ZpciRsPciFunction,
    /// Query PCI Function Group values of group `function.pfgid`.
    pub group: ZpciRsFunctionGroup,
    /// What to do with the DMA counts.
    pub dma_count: ZpciRsDmaCountAction,
    /// The container's key (its fd; negative for a replayed function).
    pub dma_count_id: i32,
    /// For `Start`: DMA mappings available.
    pub dma_count_avail: u32,
    /// For `Start` and `Join`: the count's users, this function included.
    pub dma_count_users: u32,
    /// The host function handle, when `host_fh_present`.
    pub host_fh: u32,
    /// 1 when this function created its group (`s390_group_create`), else 0.
    pub group_created: u8,
    /// The host group id the group was made for (`S390PCIGroup.host_id`).
    pub group_host_id: u8,
    /// The id the next simulated group would get (`next_sim_grp`).
    pub next_simulated_group: u8,
    /// The host's function type (`pbdev->pft`), 0 when unknown.
    pub host_pft: u8,
    /// 1 when the guest may use relaxed translation (`pbdev->rtr_avail`).
    pub relaxed_translation: u8,
    /// 1 when `host_fh` holds the host function handle, else 0.
    pub host_fh_present: u8,
}

/// Receives one message for the operator, a NUL-terminated string valid
/// only during the call. Called on the caller's thread, never after the
/// call that was given it returns.
pub type ZpciRsWarnFn = Option<unsafe extern "C" fn(opaque: *mut c_void, message: *const c_char)>;

impl ZpciRsHostAnswer {
    fn from_host(p: &HostAnswer) -> Self {
        let a = &p.answers;
        let (dma_count, id, avail, users) = match p.dma_count {
            DmaCount::None => (ZpciRsDmaCountAction::None, 0, 0, 0),
            DmaCount::Start { id, avail } => (ZpciRsDmaCountAction::Start, id, avail, 1),
            DmaCount::Join { id, users } => (ZpciRsDmaCountAction::Join, id, 0, users),
        };
        Self {
            function: ZpciRsPciFunction::from(&a.function),
            group: ZpciRsFunctionGroup::from(&a.group),
            dma_count,
            dma_count_id: id,
            dma_count_avail: avail,
            dma_count_users: users,
            host_fh: a.host_fh.unwrap_or(0),
            group_created: u8::from(a.group_created),
            group_host_id: p.group_host_id,
            next_simulated_group: p.next_simulated,
            host_pft: a.host_pft,
            relaxed_translation: u8::from(a.relaxed_translation),
            host_fh_present: u8::from(a.host_fh.is_some()),
        }
    }
}

impl From<&ZpciRsFunctionRequest> for FunctionRequest {
    fn from(r: &ZpciRsFunctionRequest) -> Self {
        Self {
            fid: r.fid,
            uid: r.uid,
            interpreted: r.interpreted != 0,
            relaxed_translation: r.relaxed_translation != 0,
        }
    }
}

/// Hands each message to `warn`.
fn report(warnings: &[String], warn: ZpciRsWarnFn, opaque: *mut c_void) {
    let Some(warn) = warn else { return };
    for w in warnings {
        let text = CString::new(w.replace('\0', " ")).unwrap_or_default();
        // SAFETY: `warn` is a function of the declared type by the caller's
        // contract, given `opaque` as the caller asked; `text` outlives the
        // call.
        unsafe { warn(opaque, text.as_ptr()) };
    }
}

/// Runs `plug` on the bridge and the request, writes the answer, then
/// reports the messages.
///
/// # Safety
/// As for the exports that call it: `bridge`, `request` and `answer` are
/// null or valid for their access.
unsafe fn plug_with(
    bridge: *const ZpciRsHostBridge,
    request: *const ZpciRsFunctionRequest,
    warn: ZpciRsWarnFn,
    opaque: *mut c_void,
    answer: *mut ZpciRsHostAnswer,
    plug: impl FnOnce(&mut HostBridge, &FunctionRequest) -> HostAnswer + std::panic::UnwindSafe,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or a live handle by the caller's contract; only
        // shared references are made (the state is behind a mutex).
        let bridge = unsafe { arg(bridge)? };
        // SAFETY: null or valid for one read by the caller's contract.
        let request = FunctionRequest::from(unsafe { arg(request)? });
        // SAFETY: null or valid for one write by the caller's contract.
        let answer = unsafe { out(answer)? };
        let plugged = plug(&mut *bridge.lock()?, &request);
        answer.write(ZpciRsHostAnswer::from_host(&plugged));
        report(&plugged.warnings, warn, opaque);
        Ok(())
    })
}

/// A new host bridge state: only the default function group, no DMA
/// counts. Null only on an internal error. Free it with
/// `zpci_rs_host_bridge_free`.
#[no_mangle]
pub extern "C" fn zpci_rs_host_bridge_new() -> *mut ZpciRsHostBridge {
    guard(|| {
        Box::into_raw(Box::new(ZpciRsHostBridge {
            state: Mutex::new(HostBridge::new()),
        }))
    })
}

/// Frees a host bridge state; null is allowed and does nothing.
///
/// # Safety
/// `bridge` is null or was returned by `zpci_rs_host_bridge_new` and not
/// freed yet; it is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_free(bridge: *mut ZpciRsHostBridge) {
    // SAFETY: forwarded from this function's contract.
    unsafe { free_handle(bridge) };
}

/// Plugs a vfio-pci function: reads `VFIO_DEVICE_GET_INFO` from
/// `device_fd` and, when `container_fd` is not negative,
/// `VFIO_IOMMU_GET_INFO` from that type1 container, then writes the
/// function's answers into `answer` and adds its group and DMA count to
/// `bridge`. What the host does not say, or says wrongly, gets QEMU's
/// defaults and a message to `warn` (may be null).
///
/// # Safety
/// `bridge` is null or a live handle from `zpci_rs_host_bridge_new`;
/// `request` is null or points to one valid `ZpciRsFunctionRequest`;
/// `answer` is null or valid for one write of a `ZpciRsHostAnswer`;
/// `device_fd` and `container_fd` are open VFIO device and container
/// descriptors (or negative for the container) that stay open during the
/// call; `warn`, when not null, may be called with `opaque`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_plug_vfio(
    bridge: *const ZpciRsHostBridge,
    device_fd: c_int,
    container_fd: c_int,
    request: *const ZpciRsFunctionRequest,
    warn: ZpciRsWarnFn,
    opaque: *mut c_void,
    answer: *mut ZpciRsHostAnswer,
) -> ZpciRsStatus {
    let device = VfioFd::new(device_fd);
    let container = VfioFd::new(container_fd);
    // SAFETY: forwarded from this function's contract.
    unsafe {
        plug_with(bridge, request, warn, opaque, answer, move |b, r| {
            let c =
                (container_fd >= 0).then_some((&container as &dyn VfioInfoSource, container_fd));
            b.plug_vfio(&device, c, r)
        })
    }
}

/// Plugs an emulated function that replays `profile`: its answers are
/// those a vfio-pci function with the profile's VFIO answers would get,
/// alone in a container of its own (a DMA count is started when the
/// profile has `DMA_AVAIL`).
///
/// # Safety
/// As `zpci_rs_host_bridge_plug_vfio`, and `profile` is null or a live
/// handle from `zpci_rs_host_profile_load`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_plug_profile(
    bridge: *const ZpciRsHostBridge,
    profile: *const ZpciRsHostProfile,
    request: *const ZpciRsFunctionRequest,
    warn: ZpciRsWarnFn,
    opaque: *mut c_void,
    answer: *mut ZpciRsHostAnswer,
) -> ZpciRsStatus {
    // SAFETY: null or a live handle by the caller's contract; only read.
    let Ok(profile) = (unsafe { arg(profile) }) else {
        return ZpciRsStatus::NullArgument;
    };
    // SAFETY: forwarded from this function's contract.
    unsafe {
        plug_with(bridge, request, warn, opaque, answer, move |b, r| {
            b.plug_replay(&profile.profile, &profile.name, r)
        })
    }
}

/// One user of container `id`'s DMA count is gone
/// (`s390_pci_end_dma_count`); `users_left` receives the users that
/// remain, 0 when the count ended (or `id` had none).
///
/// # Safety
/// `bridge` is null or a live handle; `users_left` is null or valid for
/// one write of a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_dma_count_end(
    bridge: *const ZpciRsHostBridge,
    id: i32,
    users_left: *mut u32,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or a live handle by the caller's contract.
        let bridge = unsafe { arg(bridge)? };
        // SAFETY: null or valid for one write by the caller's contract.
        let users_left = unsafe { out(users_left)? };
        users_left.write(bridge.lock()?.end_dma_count(id));
        Ok(())
    })
}

/// Copies `message` into the caller's buffer, cut to fit at a character
/// boundary, NUL-terminated.
///
/// # Safety
/// `buf` is null or valid for writes of `len` bytes.
unsafe fn write_message(buf: *mut c_char, len: usize, message: &str) {
    if buf.is_null() || len == 0 {
        return;
    }
    let mut n = message.len().min(len - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    let bytes = message.as_bytes().get(..n).unwrap_or_default();
    // SAFETY: `buf` is non-null and valid for `len` bytes by the contract,
    // and n + 1 <= len.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), n + 1) };
    if let Some((last, head)) = out.split_last_mut() {
        head.copy_from_slice(bytes);
        *last = 0;
    }
}

/// Loads the host profile in the file `path`. On failure returns null and
/// writes into `err` (up to `err_len` bytes, NUL-terminated) a message
/// naming the file and what is wrong with it. Free the profile with
/// `zpci_rs_host_profile_free`.
///
/// # Safety
/// `path` is null or a NUL-terminated string; `err` is null or valid for
/// writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_profile_load(
    path: *const c_char,
    err: *mut c_char,
    err_len: usize,
) -> *mut ZpciRsHostProfile {
    let result = catch_unwind(|| {
        if path.is_null() {
            return Err("host profile: no file name given".to_owned());
        }
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        let path = Path::new(OsStr::from_bytes(
            unsafe { CStr::from_ptr(path) }.to_bytes(),
        ));
        let profile = HostProfile::load(path).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(ZpciRsHostProfile {
            profile,
            name: path.display().to_string(),
        })))
    })
    .unwrap_or_else(|_| Err("host profile: internal error in zpci-rs".to_owned()));
    match result {
        Ok(profile) => profile,
        Err(message) => {
            // SAFETY: forwarded from this function's contract.
            unsafe { write_message(err, err_len, &message) };
            std::ptr::null_mut()
        }
    }
}

/// Frees a host profile; null is allowed and does nothing.
///
/// # Safety
/// `profile` is null or was returned by `zpci_rs_host_profile_load` and
/// not freed yet; it is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_profile_free(profile: *mut ZpciRsHostProfile) {
    // SAFETY: forwarded from this function's contract.
    unsafe { free_handle(profile) };
}

/// Reads the host function handle of the vfio-pci device `device_fd` (its
/// zPCI base capability, version 2 or later), as `s390_pci_get_host_fh`:
/// `present` receives 1 and `fh` the handle, or `present` 0 when it cannot
/// be read.
///
/// # Safety
/// `fh` and `present` are null or valid for one write each; `device_fd` is
/// an open VFIO device descriptor (or anything the kernel refuses).
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_vfio_host_fh(
    device_fd: c_int,
    fh: *mut u32,
    present: *mut u8,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one write by the caller's contract.
        let fh = unsafe { out(fh)? };
        // SAFETY: as above.
        let present = unsafe { out(present)? };
        let got = host::host_fh(&VfioFd::new(device_fd));
        fh.write(got.unwrap_or(0));
        present.write(u8::from(got.is_some()));
        Ok(())
    })
}

/// Reads the DMA mappings still available in the type1 container
/// `container_fd`, as `s390_pci_update_dma_avail`: `present` receives 1
/// and `avail` the count, or `present` 0 when the container sets no limit
/// or cannot be read.
///
/// # Safety
/// `avail` and `present` are null or valid for one write each;
/// `container_fd` is an open VFIO container descriptor (or anything the
/// kernel refuses).
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_vfio_dma_avail(
    container_fd: c_int,
    avail: *mut u32,
    present: *mut u8,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid for one write by the caller's contract.
        let avail = unsafe { out(avail)? };
        // SAFETY: as above.
        let present = unsafe { out(present)? };
        let got = host::dma_avail(&VfioFd::new(container_fd));
        avail.write(got.unwrap_or(0));
        present.write(u8::from(got.is_some()));
        Ok(())
    })
}

/// Which CLP answer a described value belongs to.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZpciRsDescribedBlock {
    /// Query PCI Function.
    Function = 0,
    /// Query PCI Function Group.
    Group = 1,
}

/// One value a guest is shown, and where it came from. The strings are
/// NUL-terminated and live as long as the description that holds them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ZpciRsDescribedValue {
    /// The answer it is in.
    pub block: ZpciRsDescribedBlock,
    /// Its name: `fid`, `uid`, `sdma`, ..., `msia`.
    pub name: *const c_char,
    /// The value, when `hex` is null.
    pub number: u64,
    /// Null for a number; else the value's bytes as lowercase hex (empty
    /// when there are none, as a utility string the guest is not given).
    pub hex: *const c_char,
    /// Where the value came from, in words.
    pub provenance: *const c_char,
}

/// The values of one function's CLP answers, described (opaque).
pub struct ZpciRsDescription {
    /// Owns the strings `values` points to; a `CString`'s bytes stay put
    /// when the vector moves.
    _strings: Vec<CString>,
    values: Vec<ZpciRsDescribedValue>,
}

fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl ZpciRsDescription {
    fn new(blocks: &[(ZpciRsDescribedBlock, Vec<Described>)]) -> Self {
        let mut strings = Vec::new();
        let mut pending = Vec::new();
        for (block, described) in blocks {
            for d in described {
                let (number, hex) = match &d.value {
                    Value::Number(n) => (*n, None),
                    Value::Hex(h) => (0, Some(c_text(h))),
                };
                let name = c_text(d.name);
                let provenance = c_text(&d.provenance);
                let value = ZpciRsDescribedValue {
                    block: *block,
                    name: name.as_ptr(),
                    number,
                    hex: hex.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
                    provenance: provenance.as_ptr(),
                };
                strings.push(name);
                strings.push(provenance);
                strings.extend(hex);
                pending.push(value);
            }
        }
        Self {
            _strings: strings,
            values: pending,
        }
    }
}

/// Describes the CLP answers function `fid` is `presented` (its Query
/// PCI Function values, as QEMU answers them) with its group (`group`,
/// the Query PCI Function Group values of `presented.pfgid`): each value
/// with where it came from. What zpci-rs built for a vfio-pci function or
/// a replayed profile is credited to the host capability or policy that
/// decided it; anything else is QEMU's default. `*out` receives the
/// description, to be freed with `zpci_rs_description_free`.
///
/// # Safety
/// `bridge` is null or a live handle; `presented` and `group` are null or
/// point to one valid struct each; `out` is null or valid for one write of
/// a pointer.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_describe(
    bridge: *const ZpciRsHostBridge,
    fid: u32,
    presented: *const ZpciRsPciFunction,
    group: *const ZpciRsFunctionGroup,
    out: *mut *mut ZpciRsDescription,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or a live handle by the caller's contract.
        let bridge = unsafe { arg(bridge)? };
        // SAFETY: null or valid for one read by the caller's contract.
        let function = PciFunction::from(unsafe { arg(presented)? });
        // SAFETY: as above.
        let grp = FunctionGroup::from(unsafe { arg(group)? });
        // SAFETY: null or valid for one write by the caller's contract.
        let out = unsafe { crate::out(out)? };
        let description = {
            let state = bridge.lock()?;
            ZpciRsDescription::new(&[
                (
                    ZpciRsDescribedBlock::Function,
                    describe::function(&function, state.attribution(fid)),
                ),
                (
                    ZpciRsDescribedBlock::Group,
                    describe::group(&grp, state.group_attribution(function.pfgid)),
                ),
            ])
        };
        out.write(Box::into_raw(Box::new(description)));
        Ok(())
    })
}

/// The values of `description`: `*len` receives their number, and the
/// result points to the first (null, with `*len` 0, when `description` is
/// null). They stay valid until the description is freed.
///
/// # Safety
/// `description` is null or a live description; `len` is null or valid
/// for one write of a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_description_values(
    description: *const ZpciRsDescription,
    len: *mut usize,
) -> *const ZpciRsDescribedValue {
    // SAFETY: null or live by the caller's contract; only read.
    let (values, n) = unsafe { arg(description) }.map_or((std::ptr::null(), 0), |d| {
        (d.values.as_ptr(), d.values.len())
    });
    // SAFETY: null or valid for one write by the caller's contract.
    if let Ok(len) = unsafe { out(len) } {
        len.write(n);
    }
    values
}

/// Frees a description; null is allowed and does nothing.
///
/// # Safety
/// `description` is null or came from `zpci_rs_host_bridge_describe` and
/// was not freed yet; neither it nor its values are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_description_free(description: *mut ZpciRsDescription) {
    // SAFETY: forwarded from this function's contract.
    unsafe { free_handle(description) };
}

/// QEMU unplugged function `fid`: the bridge forgets what its answers
/// were built from (its group and DMA count are kept, as QEMU keeps them).
///
/// # Safety
/// `bridge` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_host_bridge_unplug(
    bridge: *const ZpciRsHostBridge,
    fid: u32,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or a live handle by the caller's contract.
        let bridge = unsafe { arg(bridge)? };
        bridge.lock()?.unplug(fid);
        Ok(())
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use zpci_core::defaults;
    use zpci_core::vfio::caps::{cap_id, Endian};
    use zpci_core::vfio::fixtures::{self as fx, Info};

    thread_local! {
        static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    unsafe extern "C" fn collect(opaque: *mut c_void, message: *const c_char) {
        assert_eq!(opaque as usize, 0x1234);
        let m = unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned();
        SEEN.with(|s| s.borrow_mut().push(m));
    }

    fn seen() -> Vec<String> {
        SEEN.with(|s| s.take())
    }

    fn request(fid: u32) -> ZpciRsFunctionRequest {
        ZpciRsFunctionRequest {
            fid,
            uid: 4,
            interpreted: 0,
            relaxed_translation: 0,
        }
    }

    fn write_profile(name: &str, p: &HostProfile) -> CString {
        let dir = std::env::temp_dir().join(format!("zpci-rs-ffi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, p.to_bytes().unwrap()).unwrap();
        CString::new(path.to_str().unwrap()).unwrap()
    }

    fn sample_profile() -> HostProfile {
        let e = Endian::Little;
        HostProfile::new(
            e,
            Info::device(e)
                .cap(fx::base(e, &fx::sample_base()))
                .cap(fx::group(e, &fx::sample_group()))
                .cap(fx::string(e, cap_id::ZPCI_PFIP, 4, &[9, 8, 7, 6]))
                .build(),
            Some(Info::iommu(e).cap(fx::dma_avail(e, 0x10)).build()),
        )
    }

    #[test]
    fn profiles_plug_through_the_c_interface() {
        let path = write_profile("ok.zpcihost", &sample_profile());
        let mut err = [0 as c_char; 256];
        let p = unsafe { zpci_rs_host_profile_load(path.as_ptr(), err.as_mut_ptr(), err.len()) };
        std::fs::remove_file(path.to_str().unwrap()).unwrap();
        assert!(!p.is_null());
        let b = zpci_rs_host_bridge_new();
        let mut a = std::mem::MaybeUninit::<ZpciRsHostAnswer>::uninit();
        let rc = unsafe {
            zpci_rs_host_bridge_plug_profile(
                b,
                p,
                &request(3),
                Some(collect),
                0x1234 as *mut c_void,
                a.as_mut_ptr(),
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let a = unsafe { a.assume_init() };
        assert_eq!(a.function.fid, 3);
        assert_eq!(a.function.pfgid, 0xf0);
        assert_eq!(a.function.pfip, [9, 8, 7, 6]);
        assert_eq!(a.function.edma, 0x1_0000_ffff);
        assert_eq!(a.group.noi, 2040);
        assert_eq!(a.group.maxstbl, 128);
        assert_eq!(
            (a.group_created, a.group_host_id, a.next_simulated_group),
            (1, 2, 0xf1)
        );
        assert_eq!(a.dma_count, ZpciRsDmaCountAction::Start);
        assert_eq!(
            (a.dma_count_id, a.dma_count_avail, a.dma_count_users),
            (-1, 0x10, 1)
        );
        assert_eq!((a.host_fh_present, a.host_fh), (1, 0x8000_0c07));
        assert_eq!((a.host_pft, a.relaxed_translation), (0x0a, 0));
        assert_eq!(seen(), Vec::<String>::new());

        let mut left = 7;
        assert_eq!(
            unsafe { zpci_rs_host_bridge_dma_count_end(b, -1, &raw mut left) },
            ZpciRsStatus::Ok
        );
        assert_eq!(left, 0);
        unsafe {
            zpci_rs_host_bridge_free(b);
            zpci_rs_host_profile_free(p);
            zpci_rs_host_bridge_free(std::ptr::null_mut());
            zpci_rs_host_profile_free(std::ptr::null_mut());
        }
    }

    fn described(d: *const ZpciRsDescription) -> Vec<(u32, String, String, String)> {
        let mut n = 99;
        let v = unsafe { zpci_rs_description_values(d, &raw mut n) };
        (0..n)
            .map(|i| {
                let v = unsafe { &*v.add(i) };
                let text =
                    |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
                let value = if v.hex.is_null() {
                    format!("{:#x}", v.number)
                } else {
                    text(v.hex)
                };
                (v.block as u32, text(v.name), value, text(v.provenance))
            })
            .collect()
    }

    #[test]
    fn descriptions_credit_the_profile_until_unplug() {
        let path = write_profile("describe.zpcihost", &sample_profile());
        let mut err = [0 as c_char; 256];
        let p = unsafe { zpci_rs_host_profile_load(path.as_ptr(), err.as_mut_ptr(), err.len()) };
        assert!(!p.is_null());
        let b = zpci_rs_host_bridge_new();
        let mut a = std::mem::MaybeUninit::<ZpciRsHostAnswer>::uninit();
        let rc = unsafe {
            zpci_rs_host_bridge_plug_profile(
                b,
                p,
                &request(3),
                None,
                std::ptr::null_mut(),
                a.as_mut_ptr(),
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let a = unsafe { a.assume_init() };
        let mut d = std::ptr::null_mut();
        let rc = unsafe {
            zpci_rs_host_bridge_describe(
                b,
                3,
                &raw const a.function,
                &raw const a.group,
                &raw mut d,
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let v = described(d);
        unsafe { zpci_rs_description_free(d) };
        let find = |name: &str| v.iter().find(|x| x.1 == name).unwrap().clone();
        assert_eq!(v.len(), 11 + 9);
        assert_eq!(
            find("fid"),
            (0, "fid".into(), "0x3".into(), "device property".into())
        );
        assert_eq!(find("edma").2, "0x10000ffff");
        assert_eq!(find("edma").3, "edma shrunk to the DMA limit");
        let name = path.to_str().unwrap();
        assert_eq!(find("pfip").2, "09080706");
        assert_eq!(
            find("pfip").3,
            format!("host zPCI function path capability (id 4) v1, replayed from {name}")
        );
        assert_eq!(find("noi").0, 1);
        assert_eq!(find("noi").2, "0x7f8");
        assert!(find("noi")
            .3
            .starts_with("host zPCI group capability (id 2)"));
        assert_eq!(find("dtsm").3, "QEMU's designation type mask");

        // QEMU presents another edma than built: called out
        let mut changed = a.function;
        changed.edma = 0x1000;
        let rc = unsafe {
            zpci_rs_host_bridge_describe(b, 3, &raw const changed, &raw const a.group, &raw mut d)
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let v = described(d);
        unsafe { zpci_rs_description_free(d) };
        let edma = v.iter().find(|x| x.1 == "edma").unwrap();
        assert_eq!(edma.3, "changed after zpci-rs answered");

        // after the unplug, fid 3 is an emulated function's: defaults
        assert_eq!(
            unsafe { zpci_rs_host_bridge_unplug(b, 3) },
            ZpciRsStatus::Ok
        );
        let rc = unsafe {
            zpci_rs_host_bridge_describe(
                b,
                3,
                &raw const a.function,
                &raw const a.group,
                &raw mut d,
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let v = described(d);
        unsafe { zpci_rs_description_free(d) };
        let sdma = v.iter().find(|x| x.1 == "sdma").unwrap();
        assert_eq!(sdma.3, "default");
        // the group it made is still the profile's
        let noi = v.iter().find(|x| x.1 == "noi").unwrap();
        assert!(noi.3.ends_with(&format!("replayed from {name}")));

        // null arguments
        let mut n = 5;
        assert!(unsafe { zpci_rs_description_values(std::ptr::null(), &raw mut n) }.is_null());
        assert_eq!(n, 0);
        use std::ptr::null;
        assert_eq!(
            unsafe {
                zpci_rs_host_bridge_describe(
                    null(),
                    3,
                    &raw const a.function,
                    &raw const a.group,
                    &raw mut d,
                )
            },
            ZpciRsStatus::NullArgument
        );
        assert_eq!(
            unsafe { zpci_rs_host_bridge_describe(b, 3, null(), &raw const a.group, &raw mut d) },
            ZpciRsStatus::NullArgument
        );
        assert_eq!(
            unsafe {
                zpci_rs_host_bridge_describe(b, 3, &raw const a.function, null(), &raw mut d)
            },
            ZpciRsStatus::NullArgument
        );
        assert_eq!(
            unsafe {
                zpci_rs_host_bridge_describe(
                    b,
                    3,
                    &raw const a.function,
                    &raw const a.group,
                    std::ptr::null_mut(),
                )
            },
            ZpciRsStatus::NullArgument
        );
        assert_eq!(
            unsafe { zpci_rs_host_bridge_unplug(null(), 3) },
            ZpciRsStatus::NullArgument
        );
        unsafe {
            zpci_rs_description_free(std::ptr::null_mut());
            zpci_rs_host_bridge_free(b);
            zpci_rs_host_profile_free(p);
        }
        std::fs::remove_file(name).unwrap();
    }

    #[test]
    fn a_bad_profile_is_refused_with_its_name() {
        let path = write_profile("bad.zpcihost", &sample_profile());
        std::fs::write(path.to_str().unwrap(), b"ZPCIHOST\x00\x09").unwrap();
        let mut err = [0x55 as c_char; 200];
        let p = unsafe { zpci_rs_host_profile_load(path.as_ptr(), err.as_mut_ptr(), err.len()) };
        assert!(p.is_null());
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_str().unwrap();
        assert_eq!(
            msg,
            format!(
                "host profile {}: format version 9 is not supported (this zpci-rs reads version 1)",
                path.to_str().unwrap()
            )
        );
        // cut short, NUL-terminated
        let mut small = [0x55 as c_char; 10];
        let p = unsafe { zpci_rs_host_profile_load(path.as_ptr(), small.as_mut_ptr(), 10) };
        assert!(p.is_null());
        assert_eq!(
            unsafe { CStr::from_ptr(small.as_ptr()) }.to_str().unwrap(),
            "host prof"
        );
        // no buffer, no name
        let p = unsafe { zpci_rs_host_profile_load(path.as_ptr(), std::ptr::null_mut(), 0) };
        assert!(p.is_null());
        let p = unsafe { zpci_rs_host_profile_load(std::ptr::null(), small.as_mut_ptr(), 10) };
        assert!(p.is_null());
        std::fs::remove_file(path.to_str().unwrap()).unwrap();
    }

    #[test]
    fn messages_are_cut_at_character_boundaries() {
        let mut buf = [0x55 as c_char; 4];
        unsafe { write_message(buf.as_mut_ptr(), 4, "ab\u{e9}z") };
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"ab");
        unsafe { write_message(buf.as_mut_ptr(), 1, "abc") };
        assert_eq!(buf[0], 0);
    }

    #[test]
    fn vfio_plugs_with_bad_fds_get_defaults_and_messages() {
        let b = zpci_rs_host_bridge_new();
        let mut a = std::mem::MaybeUninit::<ZpciRsHostAnswer>::uninit();
        let rc = unsafe {
            zpci_rs_host_bridge_plug_vfio(
                b,
                -1,
                -1,
                &request(9),
                Some(collect),
                0x1234 as *mut c_void,
                a.as_mut_ptr(),
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        let a = unsafe { a.assume_init() };
        assert_eq!(
            a.function,
            ZpciRsPciFunction::from(&defaults::pci_function(9, 4))
        );
        assert_eq!(a.dma_count, ZpciRsDmaCountAction::None);
        assert_eq!(
            seen(),
            [
                "VFIO_DEVICE_GET_INFO on fd -1 failed: Bad file descriptor (os error 9): default \
              function values used"
            ]
        );
        // no callback: the messages are dropped
        let mut a2 = std::mem::MaybeUninit::<ZpciRsHostAnswer>::uninit();
        let rc = unsafe {
            zpci_rs_host_bridge_plug_vfio(
                b,
                -1,
                -1,
                &request(9),
                None,
                std::ptr::null_mut(),
                a2.as_mut_ptr(),
            )
        };
        assert_eq!(rc, ZpciRsStatus::Ok);
        unsafe { zpci_rs_host_bridge_free(b) };
    }

    #[test]
    fn null_arguments_are_refused() {
        let b = zpci_rs_host_bridge_new();
        let mut a = std::mem::MaybeUninit::<ZpciRsHostAnswer>::uninit();
        let r = request(1);
        let null = ZpciRsStatus::NullArgument;
        unsafe {
            assert_eq!(
                zpci_rs_host_bridge_plug_vfio(
                    std::ptr::null(),
                    -1,
                    -1,
                    &raw const r,
                    None,
                    std::ptr::null_mut(),
                    a.as_mut_ptr()
                ),
                null
            );
            assert_eq!(
                zpci_rs_host_bridge_plug_vfio(
                    b,
                    -1,
                    -1,
                    std::ptr::null(),
                    None,
                    std::ptr::null_mut(),
                    a.as_mut_ptr()
                ),
                null
            );
            assert_eq!(
                zpci_rs_host_bridge_plug_vfio(
                    b,
                    -1,
                    -1,
                    &raw const r,
                    None,
                    std::ptr::null_mut(),
                    std::ptr::null_mut()
                ),
                null
            );
            assert_eq!(
                zpci_rs_host_bridge_plug_profile(
                    b,
                    std::ptr::null(),
                    &raw const r,
                    None,
                    std::ptr::null_mut(),
                    a.as_mut_ptr()
                ),
                null
            );
            let mut left = 0;
            assert_eq!(
                zpci_rs_host_bridge_dma_count_end(std::ptr::null(), 1, &raw mut left),
                null
            );
            assert_eq!(
                zpci_rs_host_bridge_dma_count_end(b, 1, std::ptr::null_mut()),
                null
            );
            let (mut v, mut present) = (0u32, 0u8);
            assert_eq!(
                zpci_rs_vfio_host_fh(-1, std::ptr::null_mut(), &raw mut present),
                null
            );
            assert_eq!(
                zpci_rs_vfio_dma_avail(-1, &raw mut v, std::ptr::null_mut()),
                null
            );
            assert_eq!(
                zpci_rs_vfio_host_fh(-1, &raw mut v, &raw mut present),
                ZpciRsStatus::Ok
            );
            assert_eq!(present, 0);
            present = 9;
            assert_eq!(
                zpci_rs_vfio_dma_avail(-1, &raw mut v, &raw mut present),
                ZpciRsStatus::Ok
            );
            assert_eq!((present, v), (0, 0));
            zpci_rs_host_bridge_free(b);
        }
    }
}
