//! A hostile guest: its whole memory image, its IOAT registration and its
//! RPCIT ranges come from the fuzzer. Registration, two RPCITs with table
//! edits between them and deregistration must answer without panicking,
//! every DMA entry must come back, and every translation left must point
//! inside guest RAM.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zpci_core::iommu::{
    DmaBudget, Event, FunctionDma, GuestMemory, Iommu, IoatRequest, Limits, VecMemory,
};

/// Guest RAM the fuzzer fills (the rest of the input past the header).
const RAM: usize = 1 << 20;

fn u64_at(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = data.get(i * 8..i * 8 + 8) {
        b.copy_from_slice(s);
    }
    u64::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    // Header: iota, pba, pal, start1, len1, start2, len2, edit, avail.
    let header = 9 * 8;
    let mut image = data.get(header..).unwrap_or_default().to_vec();
    image.resize(RAM, 0);
    let mut mem = VecMemory::from_bytes(image);
    let avail = u32::try_from(u64_at(data, 8) % 512).unwrap_or(0);
    let mut budget = DmaBudget::limited(avail);
    // Small limits keep one input fast while still reaching the bounds.
    let mut iommu = Iommu::with_limits(Limits { max_work: 1 << 16, max_order: 12 });
    let dma = FunctionDma { sdma: 0x1_0000_0000, edma: 0x01ff_ffff_ffff_ffff, relaxed_translation: true };
    let req = IoatRequest { iota: u64_at(data, 0), pba: u64_at(data, 1), pal: u64_at(data, 2) };
    if iommu.register_ioat(req, &dma).is_err() {
        return;
    }
    let mut events: Vec<Event> = Vec::new();
    let _ = iommu.rpcit(&mem, u64_at(data, 3), u64_at(data, 4), &mut budget, &mut events);
    // The guest edits one table entry somewhere in RAM, then refreshes.
    let edit = u64_at(data, 7);
    let _ = mem.write_u64((edit >> 32) % (RAM as u64) & !7, edit << 32);
    let _ = iommu.rpcit(&mem, u64_at(data, 5), u64_at(data, 6), &mut budget, &mut events);
    for e in &events {
        if let Event::Map { gpa, size, .. } = *e {
            let end = gpa.checked_add(size).expect("mapping wraps");
            assert!(mem.ram_block(gpa).is_some_and(|r| end <= r.end), "map outside RAM");
        }
    }
    let _ = iommu.deregister_ioat(&mut budget);
    assert_eq!(budget, DmaBudget::limited(avail), "DMA entries lost");
});
