//! The `zpci-caps` binary on the checked-in host profiles, on damaged
//! copies of them made here, on bad command lines and on `--live` where
//! there is no such function.
//!
//! The values checked for `replay-sample.zpcihost` are the ones
//! `tests/fixtures/README.md` documents (and `crafted()` in
//! `rust/zpci-core/src/vfio/profile.rs` writes), not the ones the binary printed.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_zpci-caps");

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zpcihost"))
        .collect();
    v.sort();
    v
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zpci-caps-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ------------------------------------------------------------ JSON lookups

/// The JSON the binary printed, parsed by `serde_json`; keys keep their
/// order (`preserve_order`) and integers their exact value.
type J = serde_json::Value;

/// Lookups that name what is missing.
trait Lookup {
    fn key(&self, key: &str) -> &J;
    fn at(&self, path: &str) -> &J;
    fn u64(&self) -> u64;
    fn str(&self) -> &str;
    fn arr(&self) -> &[J];
}

impl Lookup for J {
    fn key(&self, key: &str) -> &J {
        self.as_object()
            .unwrap_or_else(|| panic!("not an object looking up {key}: {self:?}"))
            .get(key)
            .unwrap_or_else(|| panic!("no key {key} in {self:?}"))
    }
    fn at(&self, path: &str) -> &J {
        path.split('.')
            .fold(self, |j, k| match (j, k.parse::<usize>()) {
                (J::Array(a), Ok(i)) => &a[i],
                _ => j.key(k),
            })
    }
    fn u64(&self) -> u64 {
        self.as_u64()
            .unwrap_or_else(|| panic!("not a u64: {self:?}"))
    }
    fn str(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("not a string: {self:?}"))
    }
    fn arr(&self) -> &[J] {
        self.as_array()
            .unwrap_or_else(|| panic!("not an array: {self:?}"))
    }
}

fn parse_json(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn json_lookups_of_this_test_work() {
    let j = parse_json(r#" {"a": [1, -2, {"b": "x\"\\\u0041\n"}], "c": null, "d": true} "#);
    assert_eq!(j.at("a.0").u64(), 1);
    assert_eq!(j.at("a.1").as_i64(), Some(-2));
    assert_eq!(j.at("a.2.b").str(), "x\"\\A\n");
    assert_eq!(j.key("c"), &J::Null);
    assert_eq!(j.key("d"), &J::Bool(true));
}

// ------------------------------------------------------------ every fixture

fn keys_are_lowercase_with_dashes(j: &J, path: &str) {
    match j {
        J::Object(pairs) => {
            for (k, v) in pairs {
                assert!(
                    !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        && !k.starts_with('-')
                        && !k.ends_with('-'),
                    "key {path}.{k}"
                );
                keys_are_lowercase_with_dashes(v, &format!("{path}.{k}"));
            }
        }
        J::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                keys_are_lowercase_with_dashes(v, &format!("{path}.{i}"));
            }
        }
        _ => {}
    }
}

/// The value of `name` in the text output's "Query PCI Function" or
/// "Query PCI Function Group" section, and its provenance.
fn text_value<'a>(text: &'a str, section: &str, name: &str) -> (&'a str, &'a str) {
    let start = text
        .lines()
        .position(|l| l.starts_with(&format!("  {section}")))
        .unwrap_or_else(|| panic!("no section {section}"));
    let line = text
        .lines()
        .skip(start + 1)
        .take_while(|l| l.starts_with("    "))
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {section}"));
    let mut w = line.trim_start().splitn(2, ' ');
    w.next();
    let rest = w.next().unwrap().trim_start();
    let (value, prov) = rest.split_once("  ").unwrap_or((rest, ""));
    (value, prov.trim_start())
}

fn hex_or_dec(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

#[test]
fn every_fixture_is_inspected_in_text_and_json_alike() {
    let all = fixtures();
    assert!(all.len() >= 4, "fixtures: {all:?}");
    for f in &all {
        let t = run(&[f]);
        assert_eq!(t.code, Some(0), "{}: {}", f.display(), t.stderr);
        assert_eq!(t.stderr, "");
        assert!(t
            .stdout
            .starts_with(&format!("{}: host-profile, ", f.display())));
        assert!(t.stdout.contains("VFIO_DEVICE_GET_INFO answer, "));
        assert!(t.stdout.contains("\n  Query PCI Function:\n"));
        assert!(t.stdout.contains("\n  Query PCI Function Group 0x"));

        let j = run(&["--json".as_ref(), f.as_os_str()]);
        assert_eq!(j.code, Some(0), "{}", j.stderr);
        let doc = parse_json(&j.stdout);
        keys_are_lowercase_with_dashes(&doc, "");
        let caps = doc.key("captures").arr();
        assert_eq!(caps.len(), 1);
        let c = &caps[0];
        assert_eq!(c.key("name").str(), f.to_str().unwrap());
        assert_eq!(c.key("kind").str(), "host-profile");
        assert_eq!(c.at("clp.source").str(), "host-profile");
        // Every CLP value of the JSON is the text's, with the same words.
        for (section, key) in [
            ("Query PCI Function:", "clp.function"),
            ("Query PCI Function Group", "clp.group"),
        ] {
            let J::Object(values) = c.at(key) else {
                panic!()
            };
            assert!(values.len() >= 9, "{key}");
            for (name, v) in values {
                let (tv, tp) = text_value(&t.stdout, section, name);
                assert_eq!(v.key("provenance").str(), tp, "{name}");
                match v.key("value") {
                    J::Number(_) => assert_eq!(v.key("value").u64(), hex_or_dec(tv), "{name}"),
                    J::String(s) if s.is_empty() => assert_eq!(tv, "-"),
                    J::String(s) => assert_eq!(s, tv, "{name}"),
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
        // Every capability is listed with its header.
        for cap in c.at("device-info.capabilities").arr() {
            let line = format!(
                "  capability id {} at {:#x} ({} bytes): {} v{}: {}",
                cap.key("id").u64(),
                cap.key("offset").u64(),
                cap.key("size").u64(),
                cap.key("name").str(),
                cap.key("version").u64(),
                cap.key("status").str()
            );
            assert!(t.stdout.contains(&line), "{line}");
        }
    }

    // All at once: one JSON document, in order.
    let j = run(&all);
    assert_eq!(j.code, Some(0));
    let mut args = vec![PathBuf::from("--json")];
    args.extend(all.iter().cloned());
    let j = run(&args);
    let doc = parse_json(&j.stdout);
    let names: Vec<&str> = doc
        .key("captures")
        .arr()
        .iter()
        .map(|c| c.key("name").str())
        .collect();
    let want: Vec<&str> = all.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(names, want);
}

/// What `tests/fixtures/README.md` says `replay-sample.zpcihost` holds.
mod sample {
    pub const PCHID: u64 = 0x1c4;
    pub const VFN: u64 = 3;
    pub const HOST_PFT: u64 = 0x0a;
    pub const HOST_GROUP: u64 = 0x12;
    pub const SDMA: u64 = 0x2_0000_0000;
    pub const END_DMA: u64 = 0x3_ffff_ffff;
    pub const NOI: u64 = 2040;
    pub const MAXSTBL: u64 = 0x200;
    pub const MUI: u64 = 1000;
    pub const VERSION: u64 = 1;
    pub const DASM: u64 = 0x00ff_ffff_ffff_ffff;
    /// `crafted()`'s `msi_addr` (QEMU's `ZPCI_MSI_ADDR`).
    pub const MSIA: u64 = 0xfe00_0000_0000_0000;
    pub const DMA_AVAIL: u64 = 0x800;
    pub const UTIL: &str = "zpci-rs replay";
    pub const PFIP: &str = "11223344";
}

#[test]
fn replay_sample_shows_the_documented_values() {
    let f = fixture("replay-sample.zpcihost");
    let path = f.to_str().unwrap();
    let j = run(&["--json", path]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    assert_eq!(c.key("byte-order").str(), "big");

    // the capabilities, as the host reported them
    let dev = c.at("device-info.capabilities").arr();
    let ids: Vec<u64> = dev.iter().map(|c| c.key("id").u64()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert!(dev.iter().all(|c| c.key("status").str() == "used"));
    let base = &dev[0];
    assert_eq!(base.key("name").str(), "zPCI base");
    assert_eq!(base.key("version").u64(), 2);
    assert_eq!(base.at("fields.start-dma").u64(), sample::SDMA);
    assert_eq!(base.at("fields.end-dma").u64(), sample::END_DMA);
    assert_eq!(base.at("fields.pchid").u64(), sample::PCHID);
    assert_eq!(base.at("fields.vfn").u64(), sample::VFN);
    assert_eq!(base.at("fields.pft").u64(), sample::HOST_PFT);
    assert_eq!(base.at("fields.gid").u64(), sample::HOST_GROUP);
    let group = &dev[1];
    assert_eq!(group.at("fields.noi").u64(), sample::NOI);
    assert_eq!(group.at("fields.maxstbl").u64(), sample::MAXSTBL);
    assert_eq!(group.at("fields.mui").u64(), sample::MUI);
    assert_eq!(group.at("fields.pci-version").u64(), sample::VERSION);
    assert_eq!(group.at("fields.dasm").u64(), sample::DASM);
    assert_eq!(group.at("fields.msi-addr").u64(), sample::MSIA);
    assert_eq!(dev[2].at("fields.util-str-ebcdic").str(), sample::UTIL);
    assert_eq!(dev[3].at("fields.pfip").str(), sample::PFIP);
    let mmu = c.at("iommu-info.capabilities").arr();
    let avail = mmu
        .iter()
        .find(|c| c.key("name").str() == "DMA available")
        .unwrap();
    assert_eq!(avail.at("fields.avail").u64(), sample::DMA_AVAIL);

    // the CLP answers, as QEMU replays the profile
    let replayed = |cap: &str, id: u32| {
        format!("host zPCI {cap} capability (id {id}) v2, replayed from {path}")
    };
    let f = |name: &str| c.at(&format!("clp.function.{name}"));
    let g = |name: &str| c.at(&format!("clp.group.{name}"));
    assert_eq!(f("sdma").key("value").u64(), sample::SDMA);
    assert_eq!(f("sdma").key("provenance").str(), replayed("base", 1));
    // The DMA aperture shrunk to DMA_AVAIL 4 KiB mappings.
    assert_eq!(
        f("edma").key("value").u64(),
        sample::SDMA + sample::DMA_AVAIL * 4096 - 1
    );
    assert_eq!(
        f("edma").key("provenance").str(),
        "edma shrunk to the DMA limit"
    );
    assert_eq!(f("pchid").key("value").u64(), sample::PCHID);
    assert_eq!(f("pchid").key("provenance").str(), replayed("base", 1));
    assert_eq!(f("vfn").key("value").u64(), sample::VFN);
    assert_eq!(
        f("pft").key("value").u64(),
        0,
        "the host's type is kept apart"
    );
    assert_eq!(c.at("clp.host-pft").u64(), sample::HOST_PFT);
    assert_eq!(f("pfip").key("value").str(), sample::PFIP);
    assert_eq!(
        f("pfip").key("provenance").str(),
        format!("host zPCI function path capability (id 4) v1, replayed from {path}")
    );
    assert_eq!(f("fid").key("provenance").str(), "device property");
    // an intercepted function of host group 0x12: the first simulated group
    assert_eq!(c.at("clp.group-id").u64(), 0xf0);
    assert_eq!(f("pfgid").key("value").u64(), 0xf0);
    assert_eq!(g("noi").key("value").u64(), sample::NOI);
    assert_eq!(g("noi").key("provenance").str(), replayed("group", 2));
    assert_eq!(g("maxstbl").key("value").u64(), sample::MAXSTBL);
    assert_eq!(g("mui").key("value").u64(), sample::MUI);
    assert_eq!(g("version").key("value").u64(), sample::VERSION);
    assert_eq!(g("dasm").key("value").u64(), sample::DASM);
    assert_eq!(g("msia").key("value").u64(), sample::MSIA);
    assert_eq!(c.at("clp.dma-limit").u64(), sample::DMA_AVAIL);
    assert_eq!(c.key("warnings").arr().len(), 0);

    // and the text says the same
    let t = run(&[path]);
    assert_eq!(
        text_value(&t.stdout, "Query PCI Function:", "edma"),
        ("0x2007fffff", "edma shrunk to the DMA limit")
    );
    assert_eq!(
        text_value(&t.stdout, "Query PCI Function:", "pchid"),
        ("0x1c4", replayed("base", 1).as_str())
    );
    assert!(t
        .stdout
        .contains("    util-str-ebcdic        \"zpci-rs replay\"\n"));
    assert!(t.stdout.contains("DMA limit 2048 mappings"));
}

#[test]
fn fid_and_uid_are_the_ones_given() {
    let f = fixture("replay-sample.zpcihost");
    let j = run(&[
        "--json".as_ref(),
        "--fid".as_ref(),
        "0x20".as_ref(),
        "--uid".as_ref(),
        "33".as_ref(),
        f.as_os_str(),
    ]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    let doc = parse_json(&j.stdout);
    assert_eq!(doc.at("captures.0.clp.function.fid.value").u64(), 0x20);
    assert_eq!(doc.at("captures.0.clp.function.uid.value").u64(), 33);
}

#[test]
fn msia_above_2_pow_53_survives_python_json() {
    let Ok(out) = Command::new("python3").arg("--version").output() else {
        eprintln!("skipped: python3 is not installed");
        return;
    };
    assert!(out.status.success());
    let f = fixture("replay-sample.zpcihost");
    let j = run(&["--json".as_ref(), f.as_os_str()]);
    assert_eq!(j.code, Some(0));
    let mut py = Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             d = json.load(sys.stdin)\n\
             v = d['captures'][0]['clp']['group']['msia']['value']\n\
             assert type(v) is int, type(v)\n\
             print(v)\n\
             print(json.dumps(json.loads(json.dumps(d)) == d))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    py.stdin
        .take()
        .unwrap()
        .write_all(j.stdout.as_bytes())
        .unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\ntrue\n", sample::MSIA)
    );
}

// ------------------------------------------------------------ raw answers

/// The records of a profile, by the format of `tests/fixtures/README.md`.
fn records(bytes: &[u8]) -> Vec<(u16, std::ops::Range<usize>)> {
    assert_eq!(&bytes[..8], b"ZPCIHOST");
    let count = u32::from_be_bytes(bytes[12..16].try_into().unwrap());
    let mut off = 16;
    let mut out = Vec::new();
    for _ in 0..count {
        let tag = u16::from_be_bytes(bytes[off..off + 2].try_into().unwrap());
        let len = u32::from_be_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        out.push((tag, off + 8..off + 8 + len));
        off += 8 + len;
    }
    assert_eq!(off, bytes.len());
    out
}

fn record(bytes: &[u8], tag: u16) -> std::ops::Range<usize> {
    records(bytes)
        .into_iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, r)| r)
        .unwrap()
}

#[test]
fn raw_answers_are_a_vfio_pci_function() {
    let bytes = std::fs::read(fixture("replay-sample.zpcihost")).unwrap();
    let d = temp_dir("raw");
    let dev = d.join("device-info.bin");
    let mmu = d.join("iommu-info.bin");
    std::fs::write(&dev, &bytes[record(&bytes, 1)]).unwrap();
    std::fs::write(&mmu, &bytes[record(&bytes, 2)]).unwrap();
    let (dev, mmu) = (dev.to_str().unwrap(), mmu.to_str().unwrap());

    let j = run(&["--json", "--device-info", dev, "--iommu-info", mmu]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    assert_eq!(c.key("kind").str(), "vfio-answers");
    assert_eq!(c.at("clp.source").str(), "vfio");
    assert_eq!(
        c.at("clp.function.pchid.provenance").str(),
        "host zPCI base capability (id 1) v2"
    );
    // QEMU 10.0's default: relaxed translation, so the aperture is the host's
    assert_eq!(c.at("clp.function.edma.value").u64(), sample::END_DMA);
    assert_eq!(
        c.at("clp.function.edma.provenance").str(),
        "host zPCI base capability (id 1) v2"
    );
    assert_eq!(c.at("clp.group.rtr.value").u64(), 1);
    assert_eq!(c.at("clp.dma-limit").u64(), sample::DMA_AVAIL);
    assert_eq!(c.at("clp.group-id").u64(), 0xf0);

    // without it, shrunk to the DMA limit
    let j = run(&[
        "--json",
        "--relaxed-translation",
        "off",
        "--device-info",
        dev,
        "--iommu-info",
        mmu,
    ]);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    assert_eq!(
        c.at("clp.function.edma.value").u64(),
        sample::SDMA + sample::DMA_AVAIL * 4096 - 1
    );
    assert_eq!(c.at("clp.group.rtr.value").u64(), 0);

    // interpreted: the host's group, and imaxstbl
    let j = run(&[
        "--json",
        "--interpreted",
        "--device-info",
        dev,
        "--iommu-info",
        mmu,
    ]);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    assert_eq!(c.at("clp.interpreted"), &J::Bool(true));
    assert_eq!(c.at("clp.group-id").u64(), sample::HOST_GROUP);
    assert_eq!(c.at("clp.group.maxstbl.value").u64(), 0x800);
    assert_eq!(
        c.at("clp.group.maxstbl.provenance").str(),
        "interpreted function: imaxstbl of the group capability"
    );

    // without the IOMMU answer: no DMA limit, and a warning that says so
    let j = run(&["--json", "--device-info", dev, "--byte-order", "big"]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    assert_eq!(c.at("clp.function.edma.value").u64(), sample::END_DMA);
    assert_eq!(c.at("clp.dma-limit"), &J::Null);
    assert_eq!(c.key("iommu-info"), &J::Null);
    assert_eq!(c.key("iommu-info-missing").str(), "no --iommu-info given");
    assert_eq!(c.key("warnings").arr(), &[] as &[J]);

    // the wrong byte order: argsz is then far larger than the file
    let r = run(&["--device-info", dev, "--byte-order", "little"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r
        .stderr
        .starts_with(&format!("zpci-caps: {dev}: broken VFIO device info")));

    // a file no kernel would write
    let short = d.join("short.bin");
    std::fs::write(&short, [0u8; 12]).unwrap();
    let r = run(&["--device-info".as_ref(), short.as_os_str()]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "zpci-caps: {}: the VFIO_DEVICE_GET_INFO answer is 12 bytes long, not 16 to 65536\n",
            short.display()
        )
    );
    std::fs::remove_dir_all(&d).unwrap();
}

// ------------------------------------------------------------ bad captures

/// Runs on `bytes` written to a file, text and JSON: exit 1, one error
/// line naming the file and containing `what`, nothing on stdout.
fn refused(dir: &Path, name: &str, bytes: &[u8], what: &str) {
    let f = dir.join(name);
    std::fs::write(&f, bytes).unwrap();
    for json in [false, true] {
        let mut args = vec![f.clone().into_os_string()];
        if json {
            args.insert(0, "--json".into());
        }
        let r = run(&args);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}");
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        assert!(r.stderr.starts_with("zpci-caps: "), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(f.to_str().unwrap()),
            "{name}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(what),
            "{name}: want {what:?}: {}",
            r.stderr
        );
    }
}

fn put_be32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn malformed_captures_are_refused_with_the_reason() {
    let good = std::fs::read(fixture("replay-sample.zpcihost")).unwrap();
    let dev = record(&good, 1);
    let mmu = record(&good, 2);
    let d = temp_dir("bad");

    refused(&d, "empty.zpcihost", &[], "needs 8 bytes");
    refused(
        &d,
        "truncated.zpcihost",
        &good[..100],
        "needs 208 bytes, but the file has",
    );
    refused(&d, "header.zpcihost", &good[..10], "the header");
    let mut b = good.clone();
    b[0] = b'X';
    refused(&d, "magic.zpcihost", &b, "not a zPCI host profile");
    let mut b = good.clone();
    put_be32(&mut b, dev.start - 4, 0xffff_ffff);
    refused(&d, "length.zpcihost", &b, "needs 4294967295 bytes");
    let mut b = good.clone();
    b.push(0);
    refused(&d, "trailing.zpcihost", &b, "1 bytes after the last record");

    // The device chain: base at 0x18, group at 0x40, util at 0x70, pfip at 0xc0.
    let mut b = good.clone();
    put_be32(&mut b, dev.start + 0x40 + 4, 0x18);
    refused(&d, "loop.zpcihost", &b, "broken VFIO device info capability chain: zPCI group capability v2 at offset 0x40 links to offset 0x18, not past its header");
    let mut b = good.clone();
    put_be32(&mut b, dev.start + 0x40 + 4, 0x40);
    refused(
        &d,
        "self.zpcihost",
        &b,
        "links to offset 0x40, not past its header",
    );
    let mut b = good.clone();
    put_be32(&mut b, dev.start + 0x18 + 4, 0x1000);
    refused(
        &d,
        "beyond.zpcihost",
        &b,
        "links to offset 0x1000, beyond the 208 bytes returned",
    );
    let mut b = good.clone();
    put_be32(&mut b, dev.start + 16, 0x300);
    refused(
        &d,
        "start.zpcihost",
        &b,
        "chain starts at offset 0x300, beyond the 208 bytes",
    );
    let mut b = good.clone();
    put_be32(&mut b, dev.start + 16, 4);
    refused(&d, "inside.zpcihost", &b, "inside the first 20 bytes");
    let mut b = good.clone();
    put_be32(&mut b, dev.start, 4000);
    refused(
        &d,
        "argsz.zpcihost",
        &b,
        "needs 4000 bytes but only 208 were read",
    );
    let mut b = good.clone();
    put_be32(&mut b, dev.start, 12);
    refused(
        &d,
        "fixed.zpcihost",
        &b,
        "VFIO device info too short (12 < 20 bytes)",
    );

    // The IOMMU chain: migration at 0x18, DMA available at 0x38, IOVA at 0x48.
    let mut b = good;
    put_be32(&mut b, mmu.start + 0x38 + 4, 0x18);
    refused(&d, "iommu-loop.zpcihost", &b, "broken VFIO IOMMU info capability chain: DMA available capability v1 at offset 0x38 links to offset 0x18");

    // One bad file among good ones: nothing is printed.
    let bad = d.join("loop.zpcihost");
    let r = run(&[
        fixture("replay-sample.zpcihost"),
        bad.clone(),
        fixture("replay-sample.zpcihost"),
    ]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(r.stderr.contains(bad.to_str().unwrap()));

    let missing = d.join("missing.zpcihost");
    let r = run(&[&missing]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains(missing.to_str().unwrap()) && r.stderr.contains("No such file"));

    // Every bad file is named, in order.
    let r = run(&[&missing, &fixture("replay-sample.zpcihost"), &bad]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    assert!(lines[0].contains(missing.to_str().unwrap()));
    assert!(lines[1].contains(bad.to_str().unwrap()));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_ill_formed_capability_is_shown_not_hidden() {
    // The utility string's size set to 65 (over 64): the capability is
    // dropped, reported, and the answers are built without it.
    let good = std::fs::read(fixture("replay-sample.zpcihost")).unwrap();
    let dev = record(&good, 1);
    let mut b = good;
    put_be32(&mut b, dev.start + 0x70 + 8, 65);
    // and an unknown capability id in place of the function path
    b[dev.start + 0xc0..dev.start + 0xc2].copy_from_slice(&0x99u16.to_be_bytes());
    let d = temp_dir("ill");
    let f = d.join("ill.zpcihost");
    std::fs::write(&f, &b).unwrap();
    let j = run(&["--json".as_ref(), f.as_os_str()]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    let doc = parse_json(&j.stdout);
    let c = doc.at("captures.0");
    let caps = c.at("device-info.capabilities").arr();
    assert_eq!(caps.len(), 4);
    assert_eq!(caps[2].key("status").str(), "dropped");
    assert!(caps[2]
        .at("problems.0")
        .str()
        .contains("holds 65 bytes, more than 64"));
    assert_eq!(caps[3].key("status").str(), "skipped");
    assert_eq!(caps[3].key("id").u64(), 0x99);
    assert_eq!(caps[3].key("name").str(), "unknown");
    // QEMU's utility string, not the host's
    let util = c.at("clp.function.util-str.value").str();
    assert!(!util.starts_with("a99783896099a240"), "{util}");
    assert_eq!(c.at("clp.function.util-str.provenance").str(), "default");
    assert_eq!(c.at("clp.function.pfip.provenance").str(), "default");
    let w = c.key("warnings").arr();
    assert!(
        w.iter().any(|w| w.str().contains("holds 65 bytes")),
        "{w:?}"
    );

    let t = run(&[&f]);
    assert!(t.stdout.contains(": zPCI utility string v1: dropped\n"));
    assert!(t
        .stdout
        .contains("    problem: zPCI utility string capability v1 at offset 0x70 holds 65 bytes"));
    assert!(t
        .stdout
        .contains("  capability id 153 at 0xc0 (16 bytes): unknown v1: skipped\n"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn no_truncation_of_a_profile_makes_it_panic() {
    let good = std::fs::read(fixture("replay-sample.zpcihost")).unwrap();
    let d = temp_dir("cut");
    let f = d.join("cut.zpcihost");
    for len in (0..good.len()).step_by(7) {
        std::fs::write(&f, &good[..len]).unwrap();
        let r = run(&[&f]);
        assert_eq!(r.code, Some(1), "cut at {len}: {}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.lines().count(), 1);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

// ------------------------------------------------------------ the command line

#[test]
fn usage_errors_exit_2() {
    let f = fixture("replay-sample.zpcihost");
    let f = f.to_str().unwrap();
    for args in [
        vec![],
        vec!["--json"],
        vec!["--frobnicate", f],
        vec!["--fid"],
        vec!["--fid", "0x100000000", f],
        vec!["--uid", "65536", f],
        vec!["--uid", "x", f],
        vec!["--byte-order", "middle", "--device-info", f],
        vec!["--iommu-info", f],
        vec!["--byte-order", "big", f],
        vec!["--live", "0005:00:00.0", f],
        vec!["--live", "0005:00:00.0", "--device-info", f],
        vec!["--device-info", f, f],
        vec!["--live"],
        vec!["--interpreted", f],
        vec!["--relaxed-translation", "on", f],
        vec!["--relaxed-translation", "maybe", "--live", "0005:00:00.0"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(r.stderr.starts_with("zpci-caps: "), "{args:?}");
        assert!(r.stderr.contains("usage: zpci-caps"), "{args:?}");
    }
    let r = run(&["--help"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.starts_with("usage: zpci-caps"));
    // "--" ends the options
    let r = run(&["--", f]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn live_without_the_function_is_a_clear_error() {
    let addr = "0005:00:00.0";
    if Path::new("/sys/bus/pci/devices").join(addr).exists() {
        eprintln!("skipped: this host has a PCI function {addr}");
        return;
    }
    let r = run(&["--live", addr]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "zpci-caps: {addr}: no such PCI function (/sys/bus/pci/devices/{addr}: No such file \
             or directory (os error 2))\n"
        )
    );
    let r = run(&["--json", "--live", "../../../etc"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("'../../../etc' is not a PCI address"));
}
