//! The C interface of DMA translation: one [`ZpciRsIommu`] per PCI
//! function, holding its translation state and counters
//! ([`zpci_core::iommu::Translator`]).
//!
//! QEMU's glue (`hw/s390x/s390-pci-rs-iommu.c`) keeps what is QEMU's: the
//! function state checks before each instruction, the memory regions, the
//! error state and error events the answers carry, the FMB counter and the
//! DMA entry count of the VFIO container (`S390PCIDMACount.avail`), which
//! each call that maps or unmaps takes and gives back as a `uint32_t *`
//! (null: no limit).
//!
//! The library reaches QEMU through three callbacks given when the handle
//! is made ([`ZpciRsIommuCallbacks`]): reading guest memory, the bounds of
//! the RAM block holding an address, and delivering one IOMMU notifier
//! event. Only RPCIT calls them, with the handle locked.
//!
//! Concurrency: every call locks the handle, so calls from several threads
//! are serialized. A call on a handle from inside one of its own callbacks
//! is refused with [`ZpciRsStatus::Panic`] (an internal error of the
//! caller) instead of deadlocking. After an internal error (a panic caught
//! at the boundary while the handle was locked) the handle refuses every
//! call with [`ZpciRsStatus::Panic`] except `zpci_rs_iommu_deregister_ioat`,
//! which starts it again from nothing, as a function reset does.
//!
//! The translation `zpci_rs_iommu_translate` returns for a mapped page
//! covers the whole mapping the page belongs to
//! ([`zpci_core::iommu::Translator::translate`]).

use std::ffi::{c_int, c_void};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::{arg, free_handle, guard, status, ZpciRsStatus};
use zpci_core::iommu::{Access, DmaBudget, Event, EventSink, FunctionDma, GuestMemory};
use zpci_core::iommu::{GuestMemoryError, IoatAnswer, IoatError, IoatMode, IoatRequest};
use zpci_core::iommu::{RpcitOutcome, Stats, Translator};

/// Reads `len` bytes of guest memory at guest absolute address `gpa` into
/// `buf`. Returns 0 when every byte was read from guest RAM, anything else
/// otherwise. QEMU: `address_space_read` on `address_space_memory`.
pub type ZpciRsReadGuestFn =
    Option<unsafe extern "C" fn(opaque: *mut c_void, gpa: u64, buf: *mut u8, len: usize) -> c_int>;

/// Writes into `start` and `end` the bounds (`end` exclusive) of the block
/// of guest RAM holding guest absolute address `gpa`, and returns 0; returns
/// anything else when `gpa` is not RAM. One DMA mapping never spans two
/// blocks: this is the piece VFIO's `memory_get_xlat_addr` accepts.
pub type ZpciRsRamBlockFn = Option<
    unsafe extern "C" fn(opaque: *mut c_void, gpa: u64, start: *mut u64, end: *mut u64) -> c_int,
>;

/// Delivers one IOMMU notifier event; `event` is valid for the call only.
/// QEMU: `memory_region_notify_iommu` on the function's IOMMU region.
pub type ZpciRsNotifyFn =
    Option<unsafe extern "C" fn(opaque: *mut c_void, event: *const ZpciRsIommuEvent)>;

/// How the library reaches QEMU; every member must be set.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ZpciRsIommuCallbacks {
    /// Reads guest memory (the translation tables).
    pub read_guest: ZpciRsReadGuestFn,
    /// The RAM block of a guest address.
    pub ram_block: ZpciRsRamBlockFn,
    /// Delivers an IOMMU notifier event.
    pub notify: ZpciRsNotifyFn,
}

/// The callbacks, all present.
#[derive(Clone, Copy, Debug)]
struct Callbacks {
    read_guest: unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize) -> c_int,
    ram_block: unsafe extern "C" fn(*mut c_void, u64, *mut u64, *mut u64) -> c_int,
    notify: unsafe extern "C" fn(*mut c_void, *const ZpciRsIommuEvent),
}

impl Callbacks {
    fn from_table(table: &ZpciRsIommuCallbacks) -> Option<Self> {
        Some(Self {
            read_guest: table.read_guest?,
            ram_block: table.ram_block?,
            notify: table.notify?,
        })
    }
}

/// The kind of an IOMMU notifier event, with the values of QEMU's
/// `IOMMUNotifierFlag`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZpciRsIommuEventKind {
    /// `IOMMU_NOTIFIER_UNMAP`: every mapping in the range goes.
    Unmap = 1,
    /// `IOMMU_NOTIFIER_MAP`: a new mapping.
    Map = 2,
}

/// One IOMMU notifier event: the fields of QEMU's `IOMMUTLBEvent` (the
/// target address space is guest memory).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsIommuEvent {
    /// I/O address, a multiple of `addr_mask + 1`.
    pub iova: u64,
    /// Guest absolute address of a map; 0 for an unmap.
    pub translated_addr: u64,
    /// Size minus one; the size is a power of two, at least 4 KiB.
    pub addr_mask: u64,
    /// `IOMMUAccessFlags`: 1 read-only, 3 read-write; 0 for an unmap.
    pub perm: u32,
    /// Map or unmap.
    pub kind: ZpciRsIommuEventKind,
}

impl From<Event> for ZpciRsIommuEvent {
    fn from(event: Event) -> Self {
        match event {
            Event::Map {
                iova,
                gpa,
                size: _,
                perm,
            } => Self {
                iova,
                translated_addr: gpa,
                addr_mask: event.addr_mask(),
                perm: perm.access().iommu_flags(),
                kind: ZpciRsIommuEventKind::Map,
            },
            Event::Unmap { iova, size: _ } => Self {
                iova,
                translated_addr: 0,
                addr_mask: event.addr_mask(),
                perm: Access::None.iommu_flags(),
                kind: ZpciRsIommuEventKind::Unmap,
            },
        }
    }
}

/// The IOAT fields of a Modify PCI Function Controls FIB, as the guest gave
/// them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsIoatRequest {
    /// I/O translation anchor.
    pub iota: u64,
    /// PCI base address of the DMA range.
    pub pba: u64,
    /// PCI address limit of the DMA range.
    pub pal: u64,
}

/// What the function offers for DMA.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsFunctionDma {
    /// Start of the DMA aperture.
    pub sdma: u64,
    /// End of the DMA aperture, inclusive.
    pub edma: u64,
    /// 1 when relaxed translation (direct mapping) may be registered
    /// (QEMU's `rtr_avail`), else 0.
    pub relaxed_translation: u8,
}

/// What an IOAT registration or deregistration did.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZpciRsIoatResult {
    /// Registered with translation: QEMU adds the IOMMU region.
    Translated = 0,
    /// Registered with direct mapping: QEMU maps an alias of guest RAM at
    /// the aperture start.
    Direct = 1,
    /// Deregistered: QEMU removes the region.
    Deregistered = 2,
    /// Refused, CC 1 status 24: an IOAT is already registered.
    AlreadyRegistered = 3,
    /// Refused, CC 1 status 24: no IOAT is registered.
    NotRegistered = 4,
    /// Refused, operand exception: the DMA range is empty or leaves the
    /// aperture.
    Range = 5,
    /// Refused, operand exception: translation with a designation type
    /// other than a region-third table (QEMU reports "unsupported ioat dt
    /// %d t %d").
    UnsupportedDesignation = 6,
    /// Refused, operand exception: direct mapping without relaxed
    /// translation (QEMU reports "relaxed translation not allowed").
    RelaxedNotAvailable = 7,
}

/// The answer to an IOAT registration or deregistration, as QEMU 10.0.2's
/// `mpcifc_service_call` and `reg_ioat` give it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsIoatAnswer {
    /// The registered IOTA (0 unless registered).
    pub iota: u64,
    /// The registered DMA range base, page-aligned down (0 unless
    /// registered).
    pub pba: u64,
    /// The registered DMA range limit, extended to its page end (0 unless
    /// registered).
    pub pal: u64,
    /// Mappings dropped by a deregistration; their DMA entries went back.
    pub dropped_mappings: u64,
    /// What happened.
    pub result: ZpciRsIoatResult,
    /// 1 when the guest gets an operand exception (`PGM_OPERAND`).
    pub operand_exception: u8,
    /// The condition code: 0, or 1 with `status`.
    pub cc: u8,
    /// With CC 1, the status: 24 for a sequence error; 16 after an operand
    /// exception (what QEMU sets when `reg_ioat` fails, seen by a guest
    /// only where the exception returns, as under KVM).
    pub status: u8,
}

impl ZpciRsIoatAnswer {
    const fn done(result: ZpciRsIoatResult) -> Self {
        Self {
            iota: 0,
            pba: 0,
            pal: 0,
            dropped_mappings: 0,
            result,
            operand_exception: 0,
            cc: 0,
            status: 0,
        }
    }

    fn refused(e: &IoatError) -> Self {
        let result = match e {
            IoatError::AlreadyRegistered => ZpciRsIoatResult::AlreadyRegistered,
            IoatError::NotRegistered => ZpciRsIoatResult::NotRegistered,
            IoatError::Range { .. } => ZpciRsIoatResult::Range,
            IoatError::UnsupportedDesignation { .. } => ZpciRsIoatResult::UnsupportedDesignation,
            IoatError::RelaxedNotAvailable { .. } => ZpciRsIoatResult::RelaxedNotAvailable,
        };
        Self {
            operand_exception: u8::from(e.answer() == IoatAnswer::OperandException),
            cc: 1,
            status: e.status(),
            ..Self::done(result)
        }
    }
}

/// The answer to RPCIT, as QEMU 10.0.2's `rpcit_service_call` gives it
/// once the function is found enabled, and what the refresh did.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsRpcitAnswer {
    /// With `pec`: the failing PCI address for the error event.
    pub faddr: u64,
    /// Map events sent.
    pub map_events: u64,
    /// Unmap events sent.
    pub unmap_events: u64,
    /// Pages mapped.
    pub mapped_pages: u64,
    /// Pages of mappings torn down.
    pub unmapped_pages: u64,
    /// Pages left unmapped for want of DMA entries.
    pub refused_pages: u64,
    /// Not 0: the function enters the error state and QEMU raises the
    /// error event with this code (`s390_pci_generate_error_event`) at
    /// `faddr`. The FMB RPCIT counter is counted only when this is 0.
    pub pec: u16,
    /// The condition code: 0 or 1.
    pub cc: u8,
    /// With CC 1: 8 (function in error, with `pec`) or 16 (insufficient
    /// resources); 0 with CC 0.
    pub status: u8,
}

impl From<&RpcitOutcome> for ZpciRsRpcitAnswer {
    fn from(out: &RpcitOutcome) -> Self {
        let error = out.answer.error();
        Self {
            faddr: error.map_or(0, |e| e.faddr),
            map_events: out.stats.map_events,
            unmap_events: out.stats.unmap_events,
            mapped_pages: out.stats.mapped_pages,
            unmapped_pages: out.stats.unmapped_pages,
            refused_pages: out.stats.refused_pages,
            pec: error.map_or(0, |e| e.code.pec()),
            cc: out.answer.cc(),
            status: out.answer.status().unwrap_or(0),
        }
    }
}

/// The answer of the translate callback: the fields of QEMU's
/// `IOMMUTLBEntry` (the target address space is guest memory), and the
/// error event to raise.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZpciRsIommuTlbEntry {
    /// I/O address of the translated block.
    pub iova: u64,
    /// Guest absolute address of the block.
    pub translated_addr: u64,
    /// Mask of the address bits inside the block.
    pub addr_mask: u64,
    /// `IOMMUAccessFlags` of the block: 0 none, 1 read, 3 read-write.
    pub perm: u32,
    /// Not 0: the function enters the error state and QEMU raises the
    /// error event with this code at the translated address.
    pub pec: u16,
}

/// The DMA translation state of one PCI function (opaque).
pub struct ZpciRsIommu {
    state: Mutex<Translator>,
    /// The thread running an RPCIT on this handle (whose callbacks must not
    /// call back in), 0 for none. See [`this_thread`].
    rpcit_thread: AtomicUsize,
    callbacks: Callbacks,
    opaque: *mut c_void,
}

/// A number for the calling thread, distinct from every other running
/// thread's and never 0: the address of a thread-local byte.
fn this_thread() -> usize {
    thread_local! {
        static MARK: u8 = const { 0 };
    }
    MARK.with(|m| std::ptr::from_ref(m) as usize)
}

impl ZpciRsIommu {
    /// Locks the state; a call from inside this handle's own callback, or
    /// on a handle poisoned by an internal error, gets `Panic`.
    fn lock(&self) -> Result<MutexGuard<'_, Translator>, ZpciRsStatus> {
        match self.state.try_lock() {
            Ok(state) => Ok(state),
            Err(TryLockError::Poisoned(_)) => Err(ZpciRsStatus::Panic),
            Err(TryLockError::WouldBlock) => {
                if self.rpcit_thread.load(Ordering::Acquire) == this_thread() {
                    return Err(ZpciRsStatus::Panic);
                }
                self.state.lock().map_err(|_| ZpciRsStatus::Panic)
            }
        }
    }

    /// Locks the state. If an internal error poisoned it, starts it again
    /// from nothing ([`Translator::restart`], DMA entries to `budget`).
    fn lock_recovering(
        &self,
        budget: &mut DmaBudget,
    ) -> Result<(MutexGuard<'_, Translator>, Option<u64>), ZpciRsStatus> {
        let mut state = match self.state.try_lock() {
            Ok(state) => return Ok((state, None)),
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return self.lock().map(|state| (state, None)),
        };
        let dropped = state.restart(budget);
        self.rpcit_thread.store(0, Ordering::Release);
        self.state.clear_poison();
        Ok((state, Some(dropped)))
    }
}

/// Guest memory through the callbacks.
struct CallbackMemory<'a> {
    handle: &'a ZpciRsIommu,
}

impl GuestMemory for CallbackMemory<'_> {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        let h = self.handle;
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the
        // call; the callback's contract is to write at most `len` bytes
        // there, and `opaque` is the pointer QEMU gave for it.
        let rc = unsafe { (h.callbacks.read_guest)(h.opaque, gpa, buf.as_mut_ptr(), buf.len()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(GuestMemoryError::OutsideRam {
                gpa,
                len: buf.len(),
            })
        }
    }

    fn ram_block(&self, gpa: u64) -> Option<Range<u64>> {
        let h = self.handle;
        let (mut start, mut end) = (0u64, 0u64);
        // SAFETY: both out pointers are to locals valid for one write each;
        // `opaque` is the pointer QEMU gave for the callback.
        let rc = unsafe { (h.callbacks.ram_block)(h.opaque, gpa, &raw mut start, &raw mut end) };
        // A block that does not hold `gpa` is not believed.
        (rc == 0 && start <= gpa && gpa < end).then_some(start..end)
    }
}

/// Events through the notify callback.
struct CallbackSink<'a> {
    handle: &'a ZpciRsIommu,
}

impl EventSink for CallbackSink<'_> {
    fn notify(&mut self, event: Event) {
        let h = self.handle;
        let event = ZpciRsIommuEvent::from(event);
        // SAFETY: `event` lives for the call; `opaque` is the pointer QEMU
        // gave for the callback.
        unsafe { (h.callbacks.notify)(h.opaque, &raw const event) };
    }
}

/// The DMA budget of `dma_avail` (null: no limit).
///
/// # Safety
/// `dma_avail` is null or valid for one read.
unsafe fn read_dma_avail(dma_avail: *const u32) -> DmaBudget {
    if dma_avail.is_null() {
        DmaBudget::unlimited()
    } else {
        // SAFETY: non-null, valid for one read by the caller's contract.
        DmaBudget::limited(unsafe { dma_avail.read() })
    }
}

/// Writes what is left of `budget` back to `dma_avail` (null: nothing).
///
/// # Safety
/// `dma_avail` is null or valid for one write.
unsafe fn write_dma_avail(budget: DmaBudget, dma_avail: *mut u32) {
    if let (false, Some(avail)) = (dma_avail.is_null(), budget.avail()) {
        // SAFETY: non-null, valid for one write by the caller's contract.
        unsafe { dma_avail.write(avail) };
    }
}

/// Makes the DMA translation state of one PCI function: no IOAT
/// registered, nothing mapped. `callbacks` is copied; `opaque` is handed to
/// every callback. Returns null when `callbacks` is null, any of its
/// members is null, or on an internal error. Free it with
/// `zpci_rs_iommu_free`.
///
/// # Safety
/// `callbacks` is null or points to one valid `ZpciRsIommuCallbacks`.
/// Each callback, given `opaque`, must do what its type's documentation
/// says for as long as the handle lives: `read_guest` writes at most `len`
/// bytes to `buf`, `ram_block` writes only `*start` and `*end`, `notify`
/// only reads `*event`. None may call into this handle (such a call is
/// refused).
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_new(
    callbacks: *const ZpciRsIommuCallbacks,
    opaque: *mut c_void,
) -> *mut ZpciRsIommu {
    // SAFETY: null or valid for one read by the caller's contract.
    let Some(callbacks) = unsafe { arg(callbacks) }
        .ok()
        .and_then(Callbacks::from_table)
    else {
        return std::ptr::null_mut();
    };
    guard(|| {
        Box::into_raw(Box::new(ZpciRsIommu {
            state: Mutex::new(Translator::new()),
            rpcit_thread: AtomicUsize::new(0),
            callbacks,
            opaque,
        }))
    })
}

/// Frees a handle and everything it holds, without events (QEMU removes
/// the IOMMU region first); null is allowed and does nothing.
///
/// # Safety
/// `iommu` is null or was returned by `zpci_rs_iommu_new` and not freed
/// yet; no other call on it is running, and it is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_free(iommu: *mut ZpciRsIommu) {
    // SAFETY: forwarded from this function's contract.
    unsafe { free_handle(iommu) };
}

/// Registers an IOAT (Modify PCI Function Controls, register I/O address
/// translation parameters) with QEMU's `reg_ioat` checks, and writes the
/// answer to `answer`: [`ZpciRsIoatResult::Translated`] or
/// [`ZpciRsIoatResult::Direct`] with the registered values, or a refusal
/// with the guest's answer.
///
/// # Safety
/// `iommu` is null or a live handle from `zpci_rs_iommu_new`; `request`
/// and `dma` are null or point to one valid value each; `answer` is null
/// or valid for one write of a `ZpciRsIoatAnswer`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_register_ioat(
    iommu: *const ZpciRsIommu,
    request: *const ZpciRsIoatRequest,
    dma: *const ZpciRsFunctionDma,
    answer: *mut ZpciRsIoatAnswer,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid as the caller's contract says.
        let h = unsafe { arg(iommu)? };
        // SAFETY: null or valid as the caller's contract says.
        let request = unsafe { arg(request)? };
        // SAFETY: null or valid as the caller's contract says.
        let dma = unsafe { arg(dma)? };
        // SAFETY: null or valid as the caller's contract says.
        let answer = unsafe { crate::out(answer)? };
        let req = IoatRequest {
            iota: request.iota,
            pba: request.pba,
            pal: request.pal,
        };
        let function = FunctionDma {
            sdma: dma.sdma,
            edma: dma.edma,
            relaxed_translation: dma.relaxed_translation != 0,
        };
        let result = h.lock()?.register_ioat(req, &function);
        answer.write(match result {
            Ok(ioat) => {
                let result = match ioat.mode {
                    IoatMode::Translated => ZpciRsIoatResult::Translated,
                    IoatMode::Direct { .. } => ZpciRsIoatResult::Direct,
                };
                ZpciRsIoatAnswer {
                    iota: ioat.iota,
                    pba: ioat.pba,
                    pal: ioat.pal,
                    ..ZpciRsIoatAnswer::done(result)
                }
            }
            Err(e) => ZpciRsIoatAnswer::refused(&e),
        });
        Ok(())
    })
}

/// Deregisters the IOAT: the IOTLB is emptied without events (QEMU removes
/// the IOMMU region, on which VFIO unmaps the whole range) and the DMA
/// entries of the dropped mappings go back to `*dma_avail` (null: no
/// limit). Writes [`ZpciRsIoatResult::Deregistered`] or
/// [`ZpciRsIoatResult::NotRegistered`] to `answer`. On a handle an
/// internal error left unusable, this starts it again from nothing and
/// answers `Deregistered`.
///
/// # Safety
/// `iommu` is null or a live handle from `zpci_rs_iommu_new`; `dma_avail`
/// is null or valid for a read and a write; `answer` is null or valid for
/// one write of a `ZpciRsIoatAnswer`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_deregister_ioat(
    iommu: *const ZpciRsIommu,
    dma_avail: *mut u32,
    answer: *mut ZpciRsIoatAnswer,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid as the caller's contract says.
        let h = unsafe { arg(iommu)? };
        // SAFETY: null or valid as the caller's contract says.
        let answer = unsafe { crate::out(answer)? };
        // SAFETY: null or valid for one read by the caller's contract.
        let mut budget = unsafe { read_dma_avail(dma_avail) };
        let result = {
            let (mut state, recovered) = h.lock_recovering(&mut budget)?;
            match recovered {
                Some(n) => Ok(n),
                None => state.deregister_ioat(&mut budget),
            }
        };
        // SAFETY: null or valid for one write by the caller's contract.
        unsafe { write_dma_avail(budget, dma_avail) };
        answer.write(match result {
            Ok(n) => ZpciRsIoatAnswer {
                dropped_mappings: n,
                ..ZpciRsIoatAnswer::done(ZpciRsIoatResult::Deregistered)
            },
            Err(e) => ZpciRsIoatAnswer::refused(&e),
        });
        Ok(())
    })
}

/// RPCIT over `start .. start + len` (registers R2 and R2+1; the end wraps
/// as in QEMU): refreshes the IOTLB from the guest's tables, read through
/// `read_guest`, and sends what changed to `notify`. New mappings take DMA
/// entries from `*dma_avail` and removed ones give them back (null: no
/// limit). Writes the guest's answer to `answer`: CC 0; CC 1 status 16
/// when no DMA entry is left (or the work bound was reached); CC 1
/// status 8 with an error event code when the function enters the error
/// state.
///
/// The function state checks (CC 3, CC 1 status 40) come first and are the
/// caller's.
///
/// # Safety
/// `iommu` is null or a live handle from `zpci_rs_iommu_new`; `dma_avail`
/// is null or valid for a read and a write, and not touched by the
/// callbacks; `answer` is null or valid for one write of a
/// `ZpciRsRpcitAnswer`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_rpcit(
    iommu: *const ZpciRsIommu,
    start: u64,
    len: u64,
    dma_avail: *mut u32,
    answer: *mut ZpciRsRpcitAnswer,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid as the caller's contract says.
        let h = unsafe { arg(iommu)? };
        // SAFETY: null or valid as the caller's contract says.
        let answer = unsafe { crate::out(answer)? };
        // SAFETY: null or valid for one read by the caller's contract.
        let mut budget = unsafe { read_dma_avail(dma_avail) };
        let outcome = {
            let mut state = h.lock()?;
            h.rpcit_thread.store(this_thread(), Ordering::Release);
            let mem = CallbackMemory { handle: h };
            let mut sink = CallbackSink { handle: h };
            let outcome = state.rpcit(&mem, start, len, &mut budget, &mut sink);
            h.rpcit_thread.store(0, Ordering::Release);
            outcome
        };
        // SAFETY: null or valid for one write by the caller's contract.
        unsafe { write_dma_avail(budget, dma_avail) };
        answer.write(ZpciRsRpcitAnswer::from(&outcome));
        Ok(())
    })
}

/// The translate callback of the function's IOMMU region (QEMU's
/// `s390_translate_iommu`) for a function in the enabled or blocked state
/// with an IOAT registered (the caller checks both): translates `addr` for
/// an access with `IOMMUAccessFlags` `flags` (bits above 1 ignored) and
/// writes the answer to `out`. Outside the DMA range: no translation and
/// error event `ERR_EVENT_OORANGE`; an access none of whose bits the page
/// allows (an unmapped page allows none): error event `ERR_EVENT_TPROTE`.
/// A mapped page is answered with the whole mapping it belongs to.
///
/// # Safety
/// `iommu` is null or a live handle from `zpci_rs_iommu_new`; `out` is
/// null or valid for one write of a `ZpciRsIommuTlbEntry`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_translate(
    iommu: *const ZpciRsIommu,
    addr: u64,
    flags: u32,
    out: *mut ZpciRsIommuTlbEntry,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid as the caller's contract says.
        let h = unsafe { arg(iommu)? };
        // SAFETY: null or valid as the caller's contract says.
        let out = unsafe { crate::out(out)? };
        let lookup = h.lock()?.translate(addr, Access::from_iommu_flags(flags));
        out.write(ZpciRsIommuTlbEntry {
            iova: lookup.entry.iova,
            translated_addr: lookup.entry.translated_addr,
            addr_mask: lookup.entry.addr_mask,
            perm: lookup.entry.perm.iommu_flags(),
            pec: lookup.error.map_or(0, |e| e.code.pec()),
        });
        Ok(())
    })
}

/// Writes the function's counters to `out`.
///
/// # Safety
/// `iommu` is null or a live handle from `zpci_rs_iommu_new`; `out` is
/// null or valid for one write of a `ZpciRsIommuStats`.
#[no_mangle]
pub unsafe extern "C" fn zpci_rs_iommu_stats(
    iommu: *const ZpciRsIommu,
    out: *mut Stats,
) -> ZpciRsStatus {
    status(|| {
        // SAFETY: null or valid as the caller's contract says.
        let h = unsafe { arg(iommu)? };
        // SAFETY: null or valid as the caller's contract says.
        let out = unsafe { crate::out(out)? };
        out.write(h.lock()?.stats());
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use zpci_core::iommu::VecMemory;

    const SDMA: u64 = 0x1_0000_0000;
    const EDMA: u64 = 0x01ff_ffff_ffff_ffff;
    const RT: u64 = 0x4000;
    const ST: u64 = 0x8000;
    const PT: u64 = 0xc000;
    const IOTA: u64 = RT | 0x804;

    /// The guest of a test: its memory, the events it received, and a
    /// handle its notify callback calls back into when `reenter` is set.
    struct Guest {
        mem: RefCell<VecMemory>,
        events: RefCell<Vec<ZpciRsIommuEvent>>,
        reenter: Cell<*const ZpciRsIommu>,
        reentered: Cell<Option<ZpciRsStatus>>,
    }

    impl Guest {
        fn new() -> Self {
            let mut mem = VecMemory::new(0x10_0000);
            mem.write_u64(RT + 16, ST | 7).unwrap();
            mem.write_u64(ST, PT).unwrap();
            for k in 0..4u64 {
                mem.write_u64(PT + k * 8, 0x2_0000 + k * 0x1000).unwrap();
            }
            mem.write_u64(PT + 4 * 8, 0x5_0000 | 0x200).unwrap(); // read-only
            mem.write_u64(PT + 5 * 8, 0x7_0000).unwrap(); // not contiguous
            Self {
                mem: RefCell::new(mem),
                events: RefCell::new(Vec::new()),
                reenter: Cell::new(std::ptr::null()),
                reentered: Cell::new(None),
            }
        }

        fn opaque(&self) -> *mut c_void {
            std::ptr::from_ref(self).cast_mut().cast()
        }
    }

    /// # Safety
    /// `opaque` is a live `Guest`; `buf` is valid for `len` bytes.
    unsafe extern "C" fn read_guest(
        opaque: *mut c_void,
        gpa: u64,
        buf: *mut u8,
        len: usize,
    ) -> c_int {
        // SAFETY: the tests pass a live Guest as opaque.
        let guest = unsafe { &*opaque.cast::<Guest>() };
        // SAFETY: the library passes a buffer valid for `len` bytes.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
        c_int::from(guest.mem.borrow().read(gpa, buf).is_err())
    }

    /// # Safety
    /// `opaque` is a live `Guest`; `start` and `end` are valid for writes.
    unsafe extern "C" fn ram_block(
        opaque: *mut c_void,
        gpa: u64,
        start: *mut u64,
        end: *mut u64,
    ) -> c_int {
        // SAFETY: the tests pass a live Guest as opaque.
        let guest = unsafe { &*opaque.cast::<Guest>() };
        let Some(r) = guest.mem.borrow().ram_block(gpa) else {
            return -1;
        };
        // SAFETY: valid for one write, by the callback's contract.
        unsafe { start.write(r.start) };
        // SAFETY: valid for one write, by the callback's contract.
        unsafe { end.write(r.end) };
        0
    }

    /// # Safety
    /// `opaque` is a live `Guest`; `event` is valid for one read.
    unsafe extern "C" fn notify(opaque: *mut c_void, event: *const ZpciRsIommuEvent) {
        // SAFETY: the tests pass a live Guest as opaque.
        let guest = unsafe { &*opaque.cast::<Guest>() };
        // SAFETY: valid for the call, by the callback's contract.
        guest.events.borrow_mut().push(unsafe { event.read() });
        let h = guest.reenter.get();
        if !h.is_null() {
            let mut out = std::mem::MaybeUninit::<ZpciRsIommuTlbEntry>::uninit();
            // SAFETY: `h` is the live handle running this callback.
            let rc = unsafe { zpci_rs_iommu_translate(h, SDMA, 1, out.as_mut_ptr()) };
            guest.reentered.set(Some(rc));
        }
    }

    const CALLBACKS: ZpciRsIommuCallbacks = ZpciRsIommuCallbacks {
        read_guest: Some(read_guest),
        ram_block: Some(ram_block),
        notify: Some(notify),
    };

    /// A handle on `guest`, freed when dropped.
    struct Handle(*mut ZpciRsIommu);

    impl Handle {
        fn new(guest: &Guest) -> Self {
            // SAFETY: the callbacks keep their contracts while `guest` lives,
            // which the tests make longer than the handle.
            let h = unsafe { zpci_rs_iommu_new(&CALLBACKS, guest.opaque()) };
            assert!(!h.is_null());
            Self(h)
        }

        fn register(&self, iota: u64, pba: u64, pal: u64, relaxed: bool) -> ZpciRsIoatAnswer {
            let req = ZpciRsIoatRequest { iota, pba, pal };
            let dma = ZpciRsFunctionDma {
                sdma: SDMA,
                edma: EDMA,
                relaxed_translation: u8::from(relaxed),
            };
            let mut out = ZpciRsIoatAnswer::done(ZpciRsIoatResult::NotRegistered);
            // SAFETY: a live handle and valid pointers.
            let rc = unsafe {
                zpci_rs_iommu_register_ioat(self.0, &raw const req, &raw const dma, &raw mut out)
            };
            assert_eq!(rc, ZpciRsStatus::Ok);
            out
        }

        fn deregister(&self, dma_avail: Option<&mut u32>) -> ZpciRsIoatAnswer {
            let avail = dma_avail.map_or(std::ptr::null_mut(), std::ptr::from_mut);
            let mut out = ZpciRsIoatAnswer::done(ZpciRsIoatResult::Translated);
            // SAFETY: a live handle and valid pointers.
            let rc = unsafe { zpci_rs_iommu_deregister_ioat(self.0, avail, &raw mut out) };
            assert_eq!(rc, ZpciRsStatus::Ok);
            out
        }

        fn rpcit(&self, start: u64, len: u64, dma_avail: Option<&mut u32>) -> ZpciRsRpcitAnswer {
            let avail = dma_avail.map_or(std::ptr::null_mut(), std::ptr::from_mut);
            let mut out = std::mem::MaybeUninit::<ZpciRsRpcitAnswer>::uninit();
            // SAFETY: a live handle and valid pointers.
            let rc = unsafe { zpci_rs_iommu_rpcit(self.0, start, len, avail, out.as_mut_ptr()) };
            assert_eq!(rc, ZpciRsStatus::Ok);
            // SAFETY: written by the call that answered Ok.
            unsafe { out.assume_init() }
        }

        fn translate(&self, addr: u64, flags: u32) -> ZpciRsIommuTlbEntry {
            let mut out = std::mem::MaybeUninit::<ZpciRsIommuTlbEntry>::uninit();
            // SAFETY: a live handle and a valid pointer.
            let rc = unsafe { zpci_rs_iommu_translate(self.0, addr, flags, out.as_mut_ptr()) };
            assert_eq!(rc, ZpciRsStatus::Ok);
            // SAFETY: written by the call that answered Ok.
            unsafe { out.assume_init() }
        }

        fn stats(&self) -> Stats {
            let mut out = Stats::default();
            // SAFETY: a live handle and a valid pointer.
            let rc = unsafe { zpci_rs_iommu_stats(self.0, &raw mut out) };
            assert_eq!(rc, ZpciRsStatus::Ok);
            out
        }
    }

    impl Drop for Handle {
        fn drop(&mut self) {
            // SAFETY: made by zpci_rs_iommu_new, freed once.
            unsafe { zpci_rs_iommu_free(self.0) };
        }
    }

    #[test]
    fn null_arguments_are_refused() {
        use std::ptr::null_mut;
        let null = ZpciRsStatus::NullArgument;
        // SAFETY: null is allowed everywhere.
        assert!(unsafe { zpci_rs_iommu_new(std::ptr::null(), std::ptr::null_mut()) }.is_null());
        for missing in 0..3 {
            let mut cb = CALLBACKS;
            match missing {
                0 => cb.read_guest = None,
                1 => cb.ram_block = None,
                _ => cb.notify = None,
            }
            // SAFETY: a valid table with a member missing.
            assert!(unsafe { zpci_rs_iommu_new(&raw const cb, std::ptr::null_mut()) }.is_null());
        }
        // SAFETY: null is allowed.
        unsafe { zpci_rs_iommu_free(std::ptr::null_mut()) };

        let guest = Guest::new();
        let h = Handle::new(&guest);
        let req = ZpciRsIoatRequest {
            iota: IOTA,
            pba: SDMA,
            pal: SDMA,
        };
        let dma = ZpciRsFunctionDma {
            sdma: SDMA,
            edma: EDMA,
            relaxed_translation: 0,
        };
        let mut ioat = ZpciRsIoatAnswer::done(ZpciRsIoatResult::Deregistered);
        let mut rpcit = std::mem::MaybeUninit::<ZpciRsRpcitAnswer>::uninit();
        let mut tlb = std::mem::MaybeUninit::<ZpciRsIommuTlbEntry>::uninit();
        let mut stats = Stats::default();
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe {
            zpci_rs_iommu_register_ioat(null_mut(), &raw const req, &raw const dma, &raw mut ioat)
        };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc =
            unsafe { zpci_rs_iommu_register_ioat(h.0, null_mut(), &raw const dma, &raw mut ioat) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc =
            unsafe { zpci_rs_iommu_register_ioat(h.0, &raw const req, null_mut(), &raw mut ioat) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc =
            unsafe { zpci_rs_iommu_register_ioat(h.0, &raw const req, &raw const dma, null_mut()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_deregister_ioat(null_mut(), null_mut(), &raw mut ioat) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_deregister_ioat(h.0, null_mut(), null_mut()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_rpcit(null_mut(), 0, 1, null_mut(), rpcit.as_mut_ptr()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_rpcit(h.0, 0, 1, null_mut(), null_mut()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_translate(null_mut(), 0, 0, tlb.as_mut_ptr()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_translate(h.0, 0, 0, null_mut()) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_stats(null_mut(), &raw mut stats) };
        assert_eq!(rc, null);
        // SAFETY: a null where a pointer is required; the others are valid.
        let rc = unsafe { zpci_rs_iommu_stats(h.0, null_mut()) };
        assert_eq!(rc, null);
        // nothing was registered by the refused calls (an empty IOTLB
        // still takes its root)
        let s = h.stats();
        assert_eq!(
            Stats {
                iotlb_bytes: 0,
                ..s
            },
            Stats::default()
        );
    }

    #[test]
    fn ioat_answers_are_qemus() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        let ok = h.register(IOTA, SDMA + 0x123, SDMA + 0xf_f000, false);
        assert_eq!(
            ok,
            ZpciRsIoatAnswer {
                iota: IOTA,
                pba: SDMA,
                pal: SDMA + 0xf_ffff,
                ..ZpciRsIoatAnswer::done(ZpciRsIoatResult::Translated)
            }
        );
        let again = h.register(IOTA, SDMA, SDMA, false);
        assert_eq!(
            (
                again.result,
                again.cc,
                again.status,
                again.operand_exception
            ),
            (ZpciRsIoatResult::AlreadyRegistered, 1, 24, 0)
        );
        assert_eq!(h.deregister(None).result, ZpciRsIoatResult::Deregistered);
        let none = h.deregister(None);
        assert_eq!(
            (none.result, none.cc, none.status, none.operand_exception),
            (ZpciRsIoatResult::NotRegistered, 1, 24, 0)
        );
        for (iota, pba, pal, result) in [
            (IOTA, SDMA - 0x1000, SDMA, ZpciRsIoatResult::Range),
            (IOTA, SDMA + 0x2000, SDMA + 0x1000, ZpciRsIoatResult::Range),
            (
                RT | 0x80c,
                SDMA,
                SDMA,
                ZpciRsIoatResult::UnsupportedDesignation,
            ),
            (RT, SDMA, SDMA, ZpciRsIoatResult::RelaxedNotAvailable),
        ] {
            let a = h.register(iota, pba, pal, false);
            assert_eq!(
                (a.result, a.cc, a.status, a.operand_exception),
                (result, 1, 16, 1)
            );
            assert_eq!((a.iota, a.pba, a.pal), (0, 0, 0));
        }
        let direct = h.register(RT, SDMA, SDMA + 0xffff, true);
        assert_eq!(direct.result, ZpciRsIoatResult::Direct);
        // no IOMMU region in direct mapping: nothing is translated
        let t = h.translate(SDMA, 1);
        assert_eq!((t.perm, t.pec, t.addr_mask), (0, 0, u64::MAX));
        let s = h.stats();
        assert_eq!(
            (s.ioat_registered, s.ioat_deregistered, s.ioat_refused),
            (2, 1, 6)
        );
    }

    #[test]
    fn rpcit_sends_events_and_translate_answers_whole_mappings() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        let a = h.rpcit(SDMA, 0x6000, None);
        assert_eq!((a.cc, a.status, a.pec), (0, 0, 0));
        assert_eq!((a.map_events, a.mapped_pages, a.unmap_events), (3, 6, 0));
        let events = guest.events.borrow().clone();
        assert_eq!(
            events,
            [
                ZpciRsIommuEvent {
                    iova: SDMA,
                    translated_addr: 0x2_0000,
                    addr_mask: 0x3fff,
                    perm: 3,
                    kind: ZpciRsIommuEventKind::Map
                },
                ZpciRsIommuEvent {
                    iova: SDMA + 0x4000,
                    translated_addr: 0x5_0000,
                    addr_mask: 0xfff,
                    perm: 1,
                    kind: ZpciRsIommuEventKind::Map
                },
                ZpciRsIommuEvent {
                    iova: SDMA + 0x5000,
                    translated_addr: 0x7_0000,
                    addr_mask: 0xfff,
                    perm: 3,
                    kind: ZpciRsIommuEventKind::Map
                },
            ]
        );
        // the page's whole mapping, for any access it allows
        let t = h.translate(SDMA + 0x2abc, 2);
        assert_eq!(
            t,
            ZpciRsIommuTlbEntry {
                iova: SDMA,
                translated_addr: 0x2_0000,
                addr_mask: 0x3fff,
                perm: 3,
                pec: 0
            }
        );
        // a write to the read-only page: its page and a protection error
        let t = h.translate(SDMA + 0x4008, 2);
        assert_eq!(
            (t.iova, t.translated_addr, t.addr_mask, t.perm, t.pec),
            (SDMA + 0x4000, 0x5_0000, 0xfff, 1, 4)
        );
        // unmapped inside the range: no permission; outside: out of range
        let t = h.translate(SDMA + 0x6000, 0);
        assert_eq!((t.iova, t.perm, t.pec), (SDMA + 0x6000, 0, 0));
        assert_eq!(h.translate(SDMA + 0x6000, 1).pec, 4);
        assert_eq!(h.translate(SDMA + 0x10_0000, 0).pec, 2);

        // invalidate two pages of the first mapping: it goes, the rest is
        // mapped again page by page
        guest.events.borrow_mut().clear();
        guest.mem.borrow_mut().write_u64(PT + 8, 0x400).unwrap();
        guest.mem.borrow_mut().write_u64(PT + 16, 0x400).unwrap();
        let a = h.rpcit(SDMA, 0x4000, None);
        assert_eq!((a.cc, a.unmap_events, a.map_events), (0, 1, 2));
        let events = guest.events.borrow().clone();
        assert_eq!(
            events[0],
            ZpciRsIommuEvent {
                iova: SDMA,
                translated_addr: 0,
                addr_mask: 0x3fff,
                perm: 0,
                kind: ZpciRsIommuEventKind::Unmap
            }
        );
        let maps: Vec<_> = events[1..]
            .iter()
            .map(|e| (e.iova, e.translated_addr))
            .collect();
        assert_eq!(maps, [(SDMA, 0x2_0000), (SDMA + 0x3000, 0x2_3000)]);
        assert!(events[1..]
            .iter()
            .all(|e| e.kind == ZpciRsIommuEventKind::Map && e.addr_mask == 0xfff && e.perm == 3));
        assert_eq!(h.translate(SDMA + 0x1000, 0).perm, 0);
        assert_eq!(h.translate(SDMA + 0x3000, 1).addr_mask, 0xfff);

        let s = h.stats();
        assert_eq!(
            (s.rpcit_calls, s.rpcit_cc0, s.map_events, s.unmap_events),
            (2, 2, 5, 1)
        );
        assert_eq!((s.pages_mapped, s.pages_unmapped), (8, 4));
        assert_eq!((s.mapped_pages_now, s.mappings_now), (4, 4));
        assert!(s.iotlb_bytes > 0, "an IOTLB with 4 pages takes memory");
        assert_eq!(
            (
                s.translate_calls,
                s.err_translation_protection,
                s.err_out_of_range
            ),
            (7, 2, 1)
        );
    }
    #[test]
    fn the_dma_budget_gives_cc1_status_16() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        let mut avail = 2u32;
        let a = h.rpcit(SDMA, 0x6000, Some(&mut avail));
        assert_eq!((a.cc, a.status, a.pec), (1, 16, 0));
        assert_eq!((avail, a.map_events, a.refused_pages), (0, 2, 1));
        // deregistration gives the two entries back
        let d = h.deregister(Some(&mut avail));
        assert_eq!(
            (d.result, d.dropped_mappings, avail),
            (ZpciRsIoatResult::Deregistered, 2, 2)
        );
        let s = h.stats();
        assert_eq!(
            (
                s.rpcit_insufficient_resources,
                s.pages_refused,
                s.dropped_mappings
            ),
            (1, 1, 2)
        );
        // enough entries: CC 0 and what is left
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        let mut avail = 10u32;
        let a = h.rpcit(SDMA, 0x6000, Some(&mut avail));
        assert_eq!((a.cc, avail), (0, 7));
    }

    #[test]
    fn rpcit_errors_are_qemus() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        // no IOAT: invalid address space at the start address
        let a = h.rpcit(SDMA + 0x10, 0x1000, None);
        assert_eq!((a.cc, a.status, a.pec, a.faddr), (1, 8, 1, SDMA + 0x10));
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        // out of range
        let a = h.rpcit(SDMA + 0x10_0000, 0x1000, None);
        assert_eq!(
            (a.cc, a.status, a.pec, a.faddr),
            (1, 8, 2, SDMA + 0x10_0000)
        );
        // a zero page table entry (QEMU: invalid table entry) at the page
        // the walk failed on, with the start's offset
        let a = h.rpcit(SDMA + 0x6010, 0x2000, None);
        assert_eq!((a.cc, a.status, a.pec, a.faddr), (1, 8, 7, SDMA + 0x6010));
        let s = h.stats();
        assert_eq!(
            (
                s.rpcit_errors,
                s.err_invalid_address_space,
                s.err_out_of_range,
                s.err_invalid_table_entry
            ),
            (3, 1, 1, 1)
        );
    }

    #[test]
    fn a_callback_calling_back_in_is_refused() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        guest.reenter.set(h.0);
        let a = h.rpcit(SDMA, 0x1000, None);
        assert_eq!((a.cc, a.map_events), (0, 1));
        assert_eq!(guest.reentered.get(), Some(ZpciRsStatus::Panic));
        guest.reenter.set(std::ptr::null());
        // the handle works on
        assert_eq!(h.translate(SDMA, 1).perm, 3);
    }

    /// A handle pointer to share with other threads in a test.
    #[derive(Clone, Copy)]
    struct Shared(*const ZpciRsIommu);
    // SAFETY: every export serializes on the handle's mutex; the callbacks
    // of these tests only read the guest memory, which is not changed.
    unsafe impl Send for Shared {}
    // SAFETY: as above.
    unsafe impl Sync for Shared {}

    #[test]
    fn calls_from_several_threads_are_serialized() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        let shared = Shared(h.0);
        std::thread::scope(|s| {
            s.spawn(move || {
                let shared = shared;
                for _ in 0..2000 {
                    let mut out = std::mem::MaybeUninit::<ZpciRsIommuTlbEntry>::uninit();
                    // SAFETY: a live handle and a valid pointer.
                    let rc =
                        unsafe { zpci_rs_iommu_translate(shared.0, SDMA, 1, out.as_mut_ptr()) };
                    assert_eq!(rc, ZpciRsStatus::Ok);
                }
            });
            for _ in 0..200 {
                let mut out = std::mem::MaybeUninit::<ZpciRsRpcitAnswer>::uninit();
                // SAFETY: a live handle and valid pointers.
                let rc = unsafe {
                    zpci_rs_iommu_rpcit(
                        shared.0,
                        SDMA,
                        0x6000,
                        std::ptr::null_mut(),
                        out.as_mut_ptr(),
                    )
                };
                assert_eq!(rc, ZpciRsStatus::Ok);
            }
        });
        let s = h.stats();
        assert_eq!((s.translate_calls, s.rpcit_calls), (2000, 200));
    }

    #[test]
    fn an_internal_error_is_recovered_by_deregistration() {
        let guest = Guest::new();
        let h = Handle::new(&guest);
        h.register(IOTA, SDMA, SDMA + 0xf_ffff, false);
        h.rpcit(SDMA, 0x6000, None);
        // SAFETY: a live handle.
        let handle = unsafe { arg(h.0) }.unwrap();
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _state = handle.state.lock();
            panic!("an internal error while locked");
        }));
        assert!(poisoned.is_err());
        let mut out = std::mem::MaybeUninit::<ZpciRsIommuTlbEntry>::uninit();
        // SAFETY: a live handle and a valid pointer.
        let rc = unsafe { zpci_rs_iommu_translate(h.0, SDMA, 1, out.as_mut_ptr()) };
        assert_eq!(rc, ZpciRsStatus::Panic);
        let mut avail = 5;
        let d = h.deregister(Some(&mut avail));
        assert_eq!(
            (d.result, d.dropped_mappings, avail),
            (ZpciRsIoatResult::Deregistered, 3, 8)
        );
        assert_eq!(
            h.register(IOTA, SDMA, SDMA + 0xf_ffff, false).result,
            ZpciRsIoatResult::Translated
        );
        assert_eq!(h.translate(SDMA, 1).perm, 0, "starts from nothing");
        assert_eq!(h.stats().rpcit_calls, 1, "counters are kept");
    }
}
