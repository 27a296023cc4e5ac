//! `sen verify FILE…`: the verdict on signed results, offline.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sen_trust::Certificate;
use sen_trust::cert;
use sen_trust::verify::{self, Anchors, Input, Verdict};

use crate::DbArgs;

/// Trust anchors from PEM certificates and DER (or PEM) CRLs.
fn anchors_from_files(ca: &Path, crls: &[PathBuf]) -> anyhow::Result<Anchors> {
    let text = std::fs::read_to_string(ca).with_context(|| format!("cannot read {}", ca.display()))?;
    let mut anchors = Anchors::default();
    for block in text.split("-----END CERTIFICATE-----") {
        let Some(start) = block.find("-----BEGIN CERTIFICATE-----") else { continue };
        let body: String = block[start + 27..].split_whitespace().collect();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(body).context("bad PEM in --ca")?;
        let c = cert::cert_from_der(&der)?;
        if cert::signed_by(&c, &c) { anchors.roots.push(c) } else { anchors.cas.push(c) }
    }
    if anchors.roots.is_empty() {
        anyhow::bail!("--ca must hold the root certificate");
    }
    let issuers: Vec<Certificate> = anchors.cas.iter().chain(anchors.roots.iter()).cloned().collect();
    for path in crls {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let list = issuers
            .iter()
            .find_map(|i| cert::read_crl(&bytes, i).ok())
            .with_context(|| format!("{} is not a CRL signed by the given CAs", path.display()))?;
        for r in list {
            anchors.revoked.insert(r.serial_hex, (r.at, r.reason));
        }
    }
    Ok(anchors)
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub async fn run(
    db: &DbArgs,
    ca: Option<PathBuf>,
    crls: Vec<PathBuf>,
    json: bool,
    files: Vec<PathBuf>,
) -> anyhow::Result<i32> {
    let store = if ca.is_none() { Some(db.open().await?) } else { None };
    let anchors = match (&ca, &store) {
        (Some(ca), _) => anchors_from_files(ca, &crls)?,
        (None, Some(store)) => sen_web::trust::anchors_from(store).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None) => unreachable!("a store is opened without --ca"),
    };
    let now = chrono::Utc::now();
    let mut all_valid = true;
    let mut out = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
        let verdict: Verdict = if name.ends_with(".p7s") {
            let signed = PathBuf::from(name.trim_end_matches(".p7s"));
            let content = std::fs::read(&signed).ok();
            verify::verify(Input::Cms { signature: &bytes, content: content.as_deref() }, &anchors, now)
        } else if bytes.starts_with(b"%PDF") {
            let sidecar = with_suffix(file, ".p7s");
            if files.contains(&sidecar) {
                continue; // checked with its signature
            }
            let p7s = match std::fs::read(&sidecar) {
                Ok(s) => Some(s),
                Err(_) => match &store {
                    Some(store) => match store.result_by_pdf(&sen_store::dossiers::sha256_hex(&bytes)).await? {
                        Some(r) => Some(r.p7s),
                        None => None,
                    },
                    None => None,
                },
            };
            match p7s {
                Some(sig) => verify::verify(Input::Cms { signature: &sig, content: Some(&bytes) }, &anchors, now),
                None => verify::verify(Input::Cms { signature: &bytes, content: None }, &anchors, now),
            }
        } else {
            verify::verify(verify::detect(&bytes, None), &anchors, now)
        };
        all_valid &= verdict.valid;
        if json {
            out.push(serde_json::json!({"file": name, "verdict": verdict}));
        } else {
            print_verdict(&name, &verdict);
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if let Some(s) = store {
        s.close().await;
    }
    Ok(if all_valid { 0 } else { 1 })
}

fn print_verdict(name: &str, v: &Verdict) {
    if v.valid {
        println!("✔ {name}: valid ({})", v.format.unwrap_or("?"));
    } else {
        println!("✘ {name}: INVALID — {} ({})", v.reason.as_deref().unwrap_or(""), v.code);
    }
    if let Some(s) = &v.signer {
        println!("    signer: {} — {}", s.subject, s.organization.as_deref().unwrap_or(""));
        println!("    certificate: {}", s.serial);
    }
    if let Some(t) = v.signing_time {
        println!("    signing time (claimed): {}", t.to_rfc3339());
    }
    if let Some(t) = &v.timestamp {
        println!("    time-stamp: {} by {} (batch of {})", t.time.to_rfc3339(), t.authority, t.batch_size);
    }
    if let Some(c) = &v.certificate {
        let revoked = match (c.revoked_at, c.revocation_reason) {
            (Some(at), Some(r)) => format!(", revoked {} ({r})", at.to_rfc3339()),
            _ => String::new(),
        };
        println!("    certificate status at {}: {}{revoked}", c.checked_at.to_rfc3339(), c.status);
    }
    println!("    content intact: {}", if v.intact { "yes" } else { "no" });
}
