//! Structure-aware fuzzing of tar header dialects. The input does not become bytes of a tar:
//! it chooses how each member of a real one-release bundle is written — the header pack writes,
//! or a `prefix` field (with version `00`, NUL or spaces), GNU or v7 magic, a PAX or GNU long
//! name header before it, base-256 or oddly terminated numbers, typeflag NUL, another type, a
//! changed field, a checksum in another style — plus members dropped, repeated or added, end
//! blocks and trailing bytes, and the compression around it all.
//!
//! The oracle: whatever sigbundle accepts, a reader with the union of GNU tar's and Python's
//! rules (prefix applied whenever set, PAX `path`/`size`, GNU long names, base-256 numbers,
//! typeflag NUL with a trailing slash a directory, v7 headers) must read as the same regular
//! files with the same names and sizes — so extracting a verified bundle as a signature store
//! puts every signature where sigbundle checked it and nothing else anywhere.
#![no_main]
use std::io::Write;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sigbundle::bundle::{read_bundle, CheckOptions, Limits};
use sigbundle::digest::Digest;
use sigbundle::manifest::{signature_path, Manifest, Member, Release, SignatureEntry, FORMAT_V1, UNSIGNED};
use sigbundle::verify::trust::ReleaseTrust;

const SIG: &[u8] = include_bytes!(
    "../../tests/fixtures/stores/redhat/sha256=0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363/signature-1"
);
const DIGEST: &str = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";

static RING: std::sync::OnceLock<ReleaseTrust> = std::sync::OnceLock::new();
static BASE: std::sync::OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = std::sync::OnceLock::new();

/// The members of a real bundle: its manifest and its one (valid) signature.
fn base() -> &'static [(Vec<u8>, Vec<u8>)] {
    BASE.get_or_init(|| {
        use sha2::Digest as _;
        let d = Digest::parse(DIGEST).unwrap();
        let path = signature_path(&d, 1);
        let sha = hex::encode(sha2::Sha256::digest(SIG));
        let m = Manifest {
            format: FORMAT_V1.into(),
            tool: "sigbundle 0.1.0".into(),
            created: "2024-02-26T00:00:00Z".into(),
            packer: UNSIGNED.into(),
            releases: vec![Release {
                digest: d,
                requested: vec![DIGEST.into()],
                store: "fuzz".into(),
                signatures: vec![SignatureEntry {
                    path: path.clone(),
                    size: SIG.len() as u64,
                    sha256: sha.clone(),
                    verdict: "valid".into(),
                    signer: None,
                    signer_cert: None,
                    created: None,
                    identity: None,
                    creator: None,
                    satisfies: vec![],
                }],
                incomplete: vec![],
            }],
            missing: vec![],
            reduced_against: vec![],
            members: vec![Member {
                path: path.clone(),
                size: SIG.len() as u64,
                sha256: sha,
            }],
        };
        vec![
            (b"manifest.json".to_vec(), m.to_bytes()),
            (path.into_bytes(), SIG.to_vec()),
        ]
    })
}

/// The header pack writes, as raw bytes.
fn canonical(name: &[u8], size: u64, mtime: u64) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        old.name = [0; 100];
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
    }
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_username("").unwrap();
    h.set_groupname("").unwrap();
    h.set_cksum();
    *h.as_bytes()
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}", w = field.len() - 1);
    let s = s.as_bytes();
    let n = s.len().min(field.len() - 1);
    field[..n].copy_from_slice(&s[s.len() - n..]);
    field[field.len() - 1] = 0;
}

fn base256(field: &mut [u8], v: u64) {
    field.fill(0);
    field[0] = 0x80;
    let n = field.len();
    field[n - 8..].copy_from_slice(&v.to_be_bytes());
}

/// Set the checksum in one of the styles readers meet.
fn checksum(h: &mut [u8; 512], style: u8) {
    h[148..156].fill(b' ');
    let unsigned: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let signed: i32 = h.iter().map(|&b| i32::from(b as i8)).sum();
    match style % 5 {
        0 => {
            // tar-rs (pack): 7 octal digits, NUL.
            h[148..155].copy_from_slice(format!("{unsigned:07o}").as_bytes());
            h[155] = 0;
        }
        1 => {
            // GNU tar: 6 octal digits, NUL, space.
            h[148..154].copy_from_slice(format!("{unsigned:06o}").as_bytes());
            h[154] = 0;
        }
        2 => {
            h[148..154].copy_from_slice(format!("{:06o}", signed as u32 & 0o777777).as_bytes());
            h[154] = 0;
        }
        3 => h[148..156].copy_from_slice(format!("{unsigned:07o} ").as_bytes()),
        _ => h[148..154].copy_from_slice(format!("{:06o}", unsigned.wrapping_add(1) & 0o777777).as_bytes()),
    }
}

fn block_pad(out: &mut Vec<u8>) {
    let pad = (512 - out.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

/// An extension header ('x', 'g', 'L', 'K') with its data, before a member.
fn extension(out: &mut Vec<u8>, kind: u8, name: &[u8], data: &[u8], u: &mut Unstructured) -> Result<()> {
    let mut h = canonical(name, data.len() as u64, 0);
    h[156] = kind;
    if kind == b'L' || kind == b'K' {
        h[257..265].copy_from_slice(b"ustar  \0");
    }
    checksum(&mut h, u.int_in_range(0..=1)?);
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    block_pad(out);
    Ok(())
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3;
    let mut len = body_len + 1;
    while len.to_string().len() + body_len != len {
        len = len.to_string().len() + body_len;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// Write one member in the dialect the input chooses.
fn member(out: &mut Vec<u8>, u: &mut Unstructured, name: &[u8], data: &[u8]) -> Result<()> {
    let mtime = if u.ratio(1, 4)? {
        u.int_in_range(0..=0o7777777)?
    } else {
        0
    };
    let mut h = canonical(name, data.len() as u64, mtime);
    let mut style = 0u8;
    let dialect: u8 = u.int_in_range(0..=24)?;
    match dialect {
        // Most members as pack writes them, so whole bundles are accepted often.
        0..=9 => {}
        10 => {
            // Split the name into prefix and name, as a ustar writer may.
            let at = name.iter().rposition(|&b| b == b'/').unwrap_or(0);
            h[..100].fill(0);
            let (dir, file) = name.split_at(at);
            let file = file.strip_prefix(b"/").unwrap_or(file);
            h[..file.len().min(100)].copy_from_slice(&file[..file.len().min(100)]);
            h[345..345 + dir.len().min(155)].copy_from_slice(&dir[..dir.len().min(155)]);
        }
        11 => {
            let p: Vec<u8> = u
                .choose(&[&b"evil"[..], b"/tmp", b"..", b"signatures", b"x/y"])?
                .to_vec();
            h[345..345 + p.len()].copy_from_slice(&p);
            let v: &[u8] = u.choose(&[&b"00"[..], b"\0\0", b"  ", b" \0"])?;
            h[263..265].copy_from_slice(v);
        }
        12 => h[257..265].copy_from_slice(b"ustar  \0"),
        13 => h[257..265].fill(0),
        14 => {
            // A PAX header before it, perhaps naming it otherwise or sizing it otherwise.
            let mut recs = Vec::new();
            if u.ratio(3, 4)? {
                let p: Vec<u8> = if u.ratio(1, 2)? {
                    name.to_vec()
                } else {
                    b"signatures/other".to_vec()
                };
                recs.extend(pax_record("path", &p));
            }
            if u.ratio(1, 3)? {
                recs.extend(pax_record("size", data.len().to_string().as_bytes()));
            }
            let kind = if u.ratio(1, 5)? { b'g' } else { b'x' };
            extension(out, kind, b"PaxHeaders/x", &recs, u)?;
            if u.ratio(1, 2)? {
                h[..100].fill(0);
                h[..5].copy_from_slice(b"short");
            }
        }
        15 => {
            let mut long = name.to_vec();
            long.push(0);
            extension(out, b'L', b"././@LongLink", &long, u)?;
            if u.ratio(1, 2)? {
                h[..100].fill(0);
                h[..5].copy_from_slice(b"short");
            }
        }
        16 => base256(&mut h[124..136], data.len() as u64),
        17 => {
            h[156] = 0;
            if u.ratio(1, 2)? {
                let end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
                if end < 100 {
                    h[end] = b'/';
                }
            }
        }
        18 => {
            // Numbers terminated or padded as other writers do.
            let f: &[(usize, usize)] = &[(100, 108), (108, 116), (116, 124), (124, 136), (136, 148)];
            let (a, b) = *u.choose(f)?;
            let v = u64::from_str_radix(
                std::str::from_utf8(&h[a..b - 1])
                    .unwrap_or("0")
                    .trim_matches(|c: char| c == '\0' || c == ' '),
                8,
            )
            .unwrap_or(0);
            match u.int_in_range(0..=2)? {
                0 => {
                    let s = format!("{v:o} ");
                    h[a..b].fill(b' ');
                    h[b - s.len()..b].copy_from_slice(s.as_bytes());
                }
                1 => {
                    octal(&mut h[a..b], v);
                    h[b - 1] = b' ';
                }
                _ => {
                    let s = format!("{v:0w$o}", w = b - a);
                    h[a..b].copy_from_slice(&s.as_bytes()[s.len() - (b - a)..]);
                }
            }
        }
        19 => style = u.int_in_range(1..=4)?,
        20 => {
            h[156] = *u.choose(&[
                b'1', b'2', b'3', b'5', b'7', b'S', b'K', b'L', b'x', b'g', b'V', b'M', b'D',
            ])?
        }
        21 => {
            // Bytes after the name's NUL, or a name of exactly 100 bytes.
            let end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
            if end + 2 < 100 {
                h[end + 1] = u.arbitrary()?;
            }
        }
        22 => {
            let fields: &[(usize, usize)] = &[
                (100, 108),
                (108, 116),
                (116, 124),
                (157, 257),
                (265, 297),
                (297, 329),
                (329, 337),
                (337, 345),
                (500, 512),
            ];
            let (a, b) = *u.choose(fields)?;
            let i = u.int_in_range(a..=b - 1)?;
            h[i] = u.arbitrary()?;
        }
        _ => {
            let i = u.int_in_range(0..=511)?;
            h[i] = u.arbitrary()?;
        }
    }
    checksum(&mut h, style);
    out.extend_from_slice(&h);
    let body = if dialect == 16 || u.ratio(15, 16)? {
        data.to_vec()
    } else {
        let mut d = data.to_vec();
        d.truncate(u.int_in_range(0..=d.len())?);
        d
    };
    out.extend_from_slice(&body);
    block_pad(out);
    Ok(())
}

/// The tar the input describes.
fn generate(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut members: Vec<(Vec<u8>, Vec<u8>)> = base().to_vec();
    if u.ratio(1, 8)? {
        let i = u.int_in_range(0..=members.len() - 1)?;
        members.insert(i, members[i].clone());
    }
    if u.ratio(1, 8)? {
        let name: Vec<u8> = u
            .choose(&[
                &b"signatures/x"[..],
                b"manifest.json.asc",
                b"../x",
                b"signatures/sha256=0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363/signature-2",
            ])?
            .to_vec();
        let at = u.int_in_range(0..=members.len())?;
        members.insert(at, (name, b"x".to_vec()));
    }
    if u.ratio(1, 16)? && members.len() > 1 {
        members.remove(1);
    }
    let mut out = Vec::new();
    for (name, data) in &members {
        member(&mut out, u, name, data)?;
    }
    let zero_blocks = *u.choose(&[2usize, 2, 2, 1, 0, 3, 20])?;
    out.extend(std::iter::repeat_n(0u8, zero_blocks * 512));
    if u.ratio(1, 16)? {
        out.push(u.arbitrary()?);
    }
    Ok(out)
}

fn parse_num(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(f[0] & 0x7f);
        for &b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: String = f.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn nts(f: &[u8]) -> Vec<u8> {
    f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())].to_vec()
}

/// What the most permissive of GNU tar and Python's tarfile reads: (name, typeflag, size) of
/// each member, or `None` where one of them would stop with an error.
fn other_reader(tar: &[u8]) -> Option<Vec<(Vec<u8>, u8, u64)>> {
    let mut out = Vec::new();
    let mut at = 0;
    let (mut next_name, mut next_size): (Option<Vec<u8>>, Option<u64>) = (None, None);
    let (mut global_name, mut global_size): (Option<Vec<u8>>, Option<u64>) = (None, None);
    while at + 512 <= tar.len() {
        let h = &tar[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let stored = parse_num(&h[148..156])?;
        let mut blank = h.to_vec();
        blank[148..156].fill(b' ');
        let unsigned: u64 = blank.iter().map(|&b| u64::from(b)).sum();
        let signed: i64 = blank.iter().map(|&b| i64::from(b as i8)).sum();
        if stored != unsigned && stored as i64 != signed {
            return None;
        }
        let mut name = nts(&h[..100]);
        let prefix = nts(&h[345..500]);
        let kind = h[156];
        let gnu = &h[257..265] == b"ustar  \0";
        if !prefix.is_empty() && !gnu {
            let mut p = prefix;
            p.push(b'/');
            p.extend_from_slice(&name);
            name = p;
        }
        let mut size = parse_num(&h[124..136])?;
        at += 512;
        let data_end = at.checked_add(usize::try_from(size).ok()?.div_ceil(512) * 512)?;
        match kind {
            b'x' | b'g' => {
                let data = tar.get(at..at + size as usize)?;
                let mut rest = data;
                while !rest.is_empty() {
                    let sp = rest.iter().position(|&b| b == b' ')?;
                    let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
                    let rec = rest.get(sp + 1..len)?;
                    let eq = rec.iter().position(|&b| b == b'=')?;
                    let (k, v) = (&rec[..eq], &rec[eq + 1..rec.len().saturating_sub(1)]);
                    let (n, s) = if kind == b'x' {
                        (&mut next_name, &mut next_size)
                    } else {
                        (&mut global_name, &mut global_size)
                    };
                    match k {
                        b"path" => *n = Some(v.to_vec()),
                        b"size" => *s = Some(std::str::from_utf8(v).ok()?.parse().ok()?),
                        _ => {}
                    }
                    rest = &rest[len..];
                }
                at = data_end;
                continue;
            }
            b'L' => {
                next_name = Some(nts(tar.get(at..at + size as usize)?));
                at = data_end;
                continue;
            }
            b'K' => {
                at = data_end;
                continue;
            }
            _ => {}
        }
        if let Some(n) = next_name.take().or_else(|| global_name.clone()) {
            name = n;
        }
        if let Some(s) = next_size.take().or(global_size) {
            size = s;
        }
        let mut kind = kind;
        if (kind == 0 || kind == b'0') && name.ends_with(b"/") {
            kind = b'5';
        }
        if kind == 0 || kind == b'7' {
            kind = b'0';
        }
        out.push((name, kind, size));
        let skip = if matches!(kind, b'0') { size } else { 0 };
        at = at.checked_add(usize::try_from(skip).ok()?.div_ceil(512) * 512)?;
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(tar) = generate(&mut u) else { return };
    let bundle = match u.int_in_range(0..=7u8).unwrap_or(0) {
        0 => {
            let mut z = zstd::Encoder::new(Vec::new(), 1).unwrap();
            z.include_checksum(true).unwrap();
            z.write_all(&tar).unwrap();
            z.finish().unwrap()
        }
        1 => {
            let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            g.write_all(&tar).unwrap();
            g.finish().unwrap()
        }
        _ => tar.clone(),
    };
    let opts = CheckOptions {
        packer_keys: None,
        allow_unsigned: true,
        release_keys: RING.get_or_init(ReleaseTrust::default_release).clone(),
        strict: false,
        now: std::time::SystemTime::now(),
        limits: Limits {
            max_total: 8 << 20,
            ..Limits::default()
        },
        keep_bodies: false,
        progress: None,
        require_signers: 1,
    };
    let Ok(b) = read_bundle(&bundle[..], &opts, None) else {
        return;
    };
    let mut ours: Vec<(Vec<u8>, u8, u64)> = vec![(b"manifest.json".to_vec(), b'0', base()[0].1.len() as u64)];
    let theirs = other_reader(&tar);
    if matches!(b.packer, sigbundle::bundle::PackerStatus::NotChecked { .. }) {
        // A packer signature sigbundle was given no key to check (--allow-unsigned): second.
        let size = theirs.as_ref().and_then(|t| t.get(1)).map_or(0, |t| t.2);
        ours.push((b"manifest.json.asc".to_vec(), b'0', size));
    }
    ours.extend(
        b.manifest
            .members
            .iter()
            .map(|m| (m.path.clone().into_bytes(), b'0', m.size)),
    );
    assert_eq!(
        theirs.as_ref(),
        Some(&ours),
        "sigbundle accepted members that another tar reader reads otherwise"
    );
});
