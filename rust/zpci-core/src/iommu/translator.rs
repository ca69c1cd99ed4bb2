//! One PCI function's DMA translation as QEMU drives it: the [`Iommu`]
//! with its counters, started again from nothing after an internal error,
//! and translations widened to the whole mapping a page belongs to.
//!
//! The widening is the one difference from QEMU 10.0.2 besides those of
//! [`crate::iommu`]: the translation [`Translator::translate`] returns for
//! a mapped page covers the whole mapping the page belongs to (a naturally
//! aligned power of two of pages, inside one RAM block), where QEMU answers
//! page by page. QEMU's memory core then hands a device one contiguous
//! piece per mapping rather than one per 4 KiB page. Every consumer that
//! keeps translations (vhost's IOTLB) drops them on the unmap events, which
//! cover whole mappings.

use super::{Access, DmaBudget, ErrorCode, EventSink, FunctionDma, GuestMemory, Ioat, IoatError};
use super::{DmaLookup, IoatRequest, Iommu, RpcitAnswer, RpcitOutcome, TlbEntry};

/// Counters of one function's DMA translation, since its handle was made.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// RPCIT calls.
    pub rpcit_calls: u64,
    /// RPCIT answered CC 0.
    pub rpcit_cc0: u64,
    /// RPCIT answered CC 1 status 16 (insufficient resources: no DMA entry
    /// left, or the work bound was reached).
    pub rpcit_insufficient_resources: u64,
    /// RPCIT answered CC 1 status 8 (function in error).
    pub rpcit_errors: u64,
    /// RPCITs cut short by the work bound.
    pub rpcit_work_exhausted: u64,
    /// Map events sent.
    pub map_events: u64,
    /// Unmap events sent.
    pub unmap_events: u64,
    /// Pages mapped.
    pub pages_mapped: u64,
    /// Pages of mappings torn down (by RPCIT; a deregistration drops its
    /// mappings without events, see `dropped_mappings`).
    pub pages_unmapped: u64,
    /// Pages left unmapped for want of DMA entries.
    pub pages_refused: u64,
    /// Guest memory reads of the table walks.
    pub table_reads: u64,
    /// Translate callback calls.
    pub translate_calls: u64,
    /// IOAT registrations accepted.
    pub ioat_registered: u64,
    /// IOAT deregistrations.
    pub ioat_deregistered: u64,
    /// IOAT registrations and deregistrations refused.
    pub ioat_refused: u64,
    /// Mappings dropped by deregistrations.
    pub dropped_mappings: u64,
    /// Error events with code `ERR_EVENT_INVALAS` (RPCIT and translate).
    pub err_invalid_address_space: u64,
    /// Error events with code `ERR_EVENT_OORANGE`.
    pub err_out_of_range: u64,
    /// Error events with code `ERR_EVENT_TPROTE`.
    pub err_translation_protection: u64,
    /// Error events with code `ERR_EVENT_INVALTE`.
    pub err_invalid_table_entry: u64,
    /// Error events with code `ERR_EVENT_INVALTL`.
    pub err_invalid_table_length: u64,
    /// Error events with code `ERR_EVENT_TT`.
    pub err_translation_type: u64,
    /// Pages mapped now.
    pub mapped_pages_now: u64,
    /// Mappings now (the DMA entries they take in a VFIO container).
    pub mappings_now: u64,
    /// Bytes of memory the IOTLB takes now.
    pub iotlb_bytes: u64,
}

impl Stats {
    fn count_error(&mut self, code: ErrorCode) {
        let counter = match code {
            ErrorCode::InvalidAddressSpace => &mut self.err_invalid_address_space,
            ErrorCode::OutOfRange => &mut self.err_out_of_range,
            ErrorCode::TranslationProtection => &mut self.err_translation_protection,
            ErrorCode::InvalidTableEntry => &mut self.err_invalid_table_entry,
            ErrorCode::InvalidTableLength => &mut self.err_invalid_table_length,
            ErrorCode::TranslationType => &mut self.err_translation_type,
        };
        *counter = counter.saturating_add(1);
    }

    fn count_rpcit(&mut self, out: &RpcitOutcome) {
        let s = &out.stats;
        self.rpcit_calls = self.rpcit_calls.saturating_add(1);
        let answer = match out.answer {
            RpcitAnswer::Done => &mut self.rpcit_cc0,
            RpcitAnswer::InsufficientResources => &mut self.rpcit_insufficient_resources,
            RpcitAnswer::Error(_) => &mut self.rpcit_errors,
        };
        *answer = answer.saturating_add(1);
        if let Some(e) = out.answer.error() {
            self.count_error(e.code);
        }
        self.rpcit_work_exhausted = self
            .rpcit_work_exhausted
            .saturating_add(u64::from(s.work_exhausted));
        self.map_events = self.map_events.saturating_add(s.map_events);
        self.unmap_events = self.unmap_events.saturating_add(s.unmap_events);
        self.pages_mapped = self.pages_mapped.saturating_add(s.mapped_pages);
        self.pages_unmapped = self.pages_unmapped.saturating_add(s.unmapped_pages);
        self.pages_refused = self.pages_refused.saturating_add(s.refused_pages);
        self.table_reads = self.table_reads.saturating_add(s.table_reads);
    }
}

/// One function's DMA translation state and its counters.
#[derive(Debug, Default)]
pub struct Translator {
    iommu: Iommu,
    stats: Stats,
}

impl Translator {
    /// No IOAT registered, nothing mapped, every counter 0.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The translation state.
    #[must_use]
    pub const fn iommu(&self) -> &Iommu {
        &self.iommu
    }

    /// [`Iommu::register_ioat`], counted.
    ///
    /// # Errors
    ///
    /// An [`IoatError`]; [`IoatError::answer`] says what the guest gets.
    pub fn register_ioat(
        &mut self,
        req: IoatRequest,
        dma: &FunctionDma,
    ) -> Result<Ioat, IoatError> {
        let result = self.iommu.register_ioat(req, dma);
        let counter = match result {
            Ok(_) => &mut self.stats.ioat_registered,
            Err(_) => &mut self.stats.ioat_refused,
        };
        *counter = counter.saturating_add(1);
        result
    }

    /// [`Iommu::deregister_ioat`], counted. Returns how many mappings
    /// were dropped.
    ///
    /// # Errors
    ///
    /// [`IoatError::NotRegistered`].
    pub fn deregister_ioat(&mut self, budget: &mut DmaBudget) -> Result<u64, IoatError> {
        let result = self.iommu.deregister_ioat(budget);
        match result {
            Ok(n) => self.count_deregistration(n),
            Err(_) => self.stats.ioat_refused = self.stats.ioat_refused.saturating_add(1),
        }
        result
    }

    /// After an internal error left the state in doubt: starts it again
    /// from nothing, as a function reset does, gives the DMA entries of
    /// every mapping back to `budget` and counts it as a deregistration.
    /// The counters are kept. Returns how many mappings were dropped.
    pub fn restart(&mut self, budget: &mut DmaBudget) -> u64 {
        let dropped = self.iommu.iotlb().extents();
        self.iommu = Iommu::new();
        budget.give(dropped);
        self.count_deregistration(dropped);
        dropped
    }

    fn count_deregistration(&mut self, dropped: u64) {
        let s = &mut self.stats;
        s.ioat_deregistered = s.ioat_deregistered.saturating_add(1);
        s.dropped_mappings = s.dropped_mappings.saturating_add(dropped);
    }

    /// [`Iommu::rpcit`], counted.
    pub fn rpcit<M, S>(
        &mut self,
        mem: &M,
        start: u64,
        len: u64,
        budget: &mut DmaBudget,
        sink: &mut S,
    ) -> RpcitOutcome
    where
        M: GuestMemory + ?Sized,
        S: EventSink + ?Sized,
    {
        let outcome = self.iommu.rpcit(mem, start, len, budget, sink);
        self.stats.count_rpcit(&outcome);
        outcome
    }

    /// [`Iommu::dma_translate`], counted, with a mapped page's translation
    /// widened to the whole mapping it belongs to.
    pub fn translate(&mut self, addr: u64, access: Access) -> DmaLookup {
        self.stats.translate_calls = self.stats.translate_calls.saturating_add(1);
        let mut lookup = self.iommu.dma_translate(addr, access);
        match lookup.error {
            Some(e) => self.stats.count_error(e.code),
            None if lookup.entry.perm != Access::None => {
                if let Some(e) = self.iommu.iotlb().extent(addr).filter(|e| e.size() > 0) {
                    lookup.entry = TlbEntry {
                        iova: e.iova,
                        translated_addr: e.gpa,
                        addr_mask: e.size() - 1,
                        ..lookup.entry
                    };
                }
            }
            None => {}
        }
        lookup
    }

    /// The counters, with what is mapped now.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let iotlb = self.iommu.iotlb();
        Stats {
            mapped_pages_now: iotlb.mapped_pages(),
            mappings_now: iotlb.extents(),
            iotlb_bytes: u64::try_from(iotlb.heap_bytes()).unwrap_or(u64::MAX),
            ..self.stats
        }
    }
}
