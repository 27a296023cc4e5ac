//! `sen bench-trust`: the trust layer's budgets, measured in process (no server):
//! signatures per second on all cores with batched time-stamping, signed result PDFs per
//! second, result verification latency, log appends per second and inclusion-proof
//! latency at the log's size.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use sen_store::{Store, StoreConfig};
use sen_trust::cert::{self, CertKind, Issuer, PublicUrls, Subject};
use sen_trust::{Certificate, SigningKey, batch, cades, jades, keys, verify};

#[derive(Args)]
pub struct BenchTrustArgs {
    /// Signatures to make for the signing figure.
    #[arg(long, default_value_t = 100_000)]
    signatures: usize,
    /// Result PDFs to render and sign.
    #[arg(long, default_value_t = 2_000)]
    pdfs: usize,
    /// Log entries to append (the inclusion proofs are measured at this size).
    #[arg(long, default_value_t = 200_000)]
    log_entries: u64,
    /// Database for the log figures (default: a new SQLite file in a temporary folder).
    #[arg(long)]
    database_url: Option<String>,
    /// Worker threads for signing (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

struct Pki {
    issuing: Certificate,
    seal: (Certificate, SigningKey),
    tsa: (Certificate, SigningKey),
    anchors: verify::Anchors,
}

fn pki() -> anyhow::Result<Pki> {
    let urls = PublicUrls { base: "http://127.0.0.1:8080".into() };
    let subject = |cn: &str| Subject { common_name: cn.into(), organization: "Sen bench".into(), unit: None };
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let root_key = keys::generate();
    let root = cert::issue_root(&subject("Bench Root"), &root_key, now)?;
    let issuing_key = keys::generate();
    let issuing = cert::issue(
        CertKind::Issuing,
        &subject("Bench Issuing"),
        issuing_key.verifying_key(),
        Some(Issuer { cert: &root, key: &root_key }),
        now,
        &urls,
    )?;
    let leaf = |kind, cn: &str| -> anyhow::Result<(Certificate, SigningKey)> {
        let k = keys::generate();
        Ok((
            cert::issue(
                kind,
                &subject(cn),
                k.verifying_key(),
                Some(Issuer { cert: &issuing, key: &issuing_key }),
                now,
                &urls,
            )?,
            k,
        ))
    };
    let seal = leaf(CertKind::Seal, "Bench seal")?;
    let tsa = leaf(CertKind::Tsa, "Bench TSA")?;
    let anchors = verify::Anchors::new(vec![root.clone()], vec![issuing.clone()], Default::default());
    Ok(Pki { issuing, seal, tsa, anchors })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Signs `n` documents on `threads` threads; every 4,096 signatures share one time-stamp token.
fn sign_run(p: &Pki, n: usize, threads: usize, cms: bool) -> anyhow::Result<f64> {
    let chain = vec![p.seal.0.clone(), p.issuing.clone()];
    let tsa_chain = vec![p.tsa.0.clone(), p.issuing.clone()];
    let started = Instant::now();
    let per = n / threads;
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for t in 0..threads {
            let (chain, tsa_chain) = (&chain, &tsa_chain);
            handles.push(s.spawn(move || -> anyhow::Result<()> {
                let mut pending: Vec<Vec<u8>> = Vec::with_capacity(4096);
                for i in 0..per {
                    let doc = format!("{{\"dossier\":\"BENCH-{t}-{i}\",\"result\":\"Giấy khai sinh\"}}");
                    let now = chrono::Utc::now();
                    let sig = if cms {
                        let info = cades::sign(
                            cades::CmsContent {
                                content_type: sen_trust::const_oid::db::rfc5911::ID_DATA,
                                bytes: doc.as_bytes(),
                                embed: false,
                                with_certificates: true,
                            },
                            &p.seal.1,
                            chain,
                            Some(now),
                        )?;
                        use sen_trust::der::Encode;
                        let der = info.to_der()?;
                        der[der.len() - 72..].to_vec()
                    } else {
                        jades::sign(doc.as_bytes(), &p.seal.1, chain, now)?.signature_bytes()?
                    };
                    pending.push(sig);
                    if pending.len() == 4096 || i + 1 == per {
                        let refs: Vec<&[u8]> = pending.iter().map(|v| v.as_slice()).collect();
                        batch::stamp(&refs, i as u64, now, &p.tsa.1, tsa_chain)?;
                        pending.clear();
                    }
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join().expect("signing thread")?;
        }
        Ok(())
    })?;
    Ok((per * threads) as f64 / started.elapsed().as_secs_f64())
}

fn pdf_run(p: &Pki, n: usize, threads: usize) -> anyhow::Result<f64> {
    let chain = vec![p.seal.0.clone(), p.issuing.clone()];
    let started = Instant::now();
    let per = n / threads;
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let chain = &chain;
                s.spawn(move || -> anyhow::Result<()> {
                    for i in 0..per {
                        let sheet = sen_pdf::ResultSheet {
                            agency: "Ủy ban nhân dân Phường Hoàn Kiếm".into(),
                            title: "Giấy khai sinh".into(),
                            dossier_code: format!("X00004.UB-261127-{t:04}{i:04}"),
                            procedure: "Đăng ký khai sinh".into(),
                            applicant: "Nguyễn Thị Hằng".into(),
                            decision: "Chấp thuận".into(),
                            lines: vec![
                                ("Họ và tên".into(), "Trần Minh Đức".into()),
                                ("Ngày sinh".into(), "20/11/2026".into()),
                            ],
                            place_and_date: "Hà Nội, ngày 27 tháng 11 năm 2026".into(),
                            verification_code: "7Q2M-9XKD-4HTA".into(),
                            verify_url: "http://127.0.0.1:8080/verify/7Q2M-9XKD-4HTA".into(),
                        };
                        let pdf = sen_pdf::render(&sheet);
                        cades::sign(
                            cades::CmsContent {
                                content_type: sen_trust::const_oid::db::rfc5911::ID_DATA,
                                bytes: &pdf,
                                embed: false,
                                with_certificates: true,
                            },
                            &p.seal.1,
                            chain,
                            Some(chrono::Utc::now()),
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("pdf thread")?;
        }
        Ok(())
    })?;
    Ok((per * threads) as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(args: BenchTrustArgs) -> anyhow::Result<()> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let p = pki()?;
    println!("trust benchmark on {threads} threads");

    let jws_rate = sign_run(&p, args.signatures, threads, false)?;
    println!("JWS (JAdES) signatures with batched time-stamps: {jws_rate:.0}/s");
    let cms_rate = sign_run(&p, args.signatures / 2, threads, true)?;
    println!("CMS (CAdES) signatures with batched time-stamps: {cms_rate:.0}/s");
    let pdf_rate = pdf_run(&p, args.pdfs, threads)?;
    println!("signed result PDFs (render + CAdES): {pdf_rate:.0}/s");

    // Verifying a time-stamped result JWS, as the verify endpoint does.
    let chain = vec![p.seal.0.clone(), p.issuing.clone()];
    let now = chrono::Utc::now();
    let jws = jades::sign(br#"{"result":"Giay khai sinh"}"#, &p.seal.1, &chain, now)?;
    let sig = jws.signature_bytes()?;
    let others: Vec<Vec<u8>> = (0..4095u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let mut all: Vec<&[u8]> = others.iter().map(|v| v.as_slice()).collect();
    all.push(&sig);
    let stamps = batch::stamp(&all, 1, now, &p.tsa.1, &[p.tsa.0.clone(), p.issuing.clone()])?;
    let text = jws.with_batch_stamp(&stamps[4095]).to_json();
    let mut times = Vec::new();
    for _ in 0..2_000 {
        let t = Instant::now();
        let v = verify::verify(verify::Input::Jws(text.as_bytes()), &p.anchors, chrono::Utc::now());
        times.push(t.elapsed());
        anyhow::ensure!(v.valid, "the benchmark result must verify");
    }
    times.sort();
    println!(
        "verify a time-stamped result JWS: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    // The log: append, then prove inclusion at that size.
    let tmp = std::env::temp_dir().join(format!("sen-bench-log-{}", std::process::id()));
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&tmp)?;
            StoreConfig::sqlite_in(&tmp).url
        }
    };
    let store = Store::connect(&StoreConfig::new(&url)).await.context("cannot open the benchmark database")?;
    store.migrate().await?;
    let (start_size, _) = store.log_head().await?;
    let mut appended = 0u64;
    let mut sequencing = Duration::ZERO;
    while appended < args.log_entries {
        let n = (args.log_entries - appended).min(50_000);
        let bodies: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                serde_json::json!({"type": "dossier.read", "at": chrono::Utc::now(), "actor": {"user_id": i % 2000},
                "subject": {"type": "dossier", "id": (start_size + appended + i).to_string()}, "detail": {}})
            })
            .collect();
        // Timed from the write: on SQLite the writer sequences at commit, on PostgreSQL the
        // sequencer does it afterwards; both are in the figure.
        let t = Instant::now();
        store.enqueue_log_entries(&bodies).await?;
        loop {
            if store.sequence_log(sen_store::log::SEQUENCE_BATCH).await? == 0 {
                break;
            }
        }
        sequencing += t.elapsed();
        appended += n;
        if appended.is_multiple_of(1_000_000) {
            println!("  … {appended} appended");
        }
    }
    println!(
        "log appends (written and sequenced, {}): {:.0}/s",
        store.backend().as_str(),
        appended as f64 / sequencing.as_secs_f64()
    );
    let (size, root) = store.log_head().await?;
    let mut times = Vec::new();
    for i in 0..2_000u64 {
        let index = (i * 7_919_993) % size;
        let t = Instant::now();
        let (leaf, path) = store.inclusion_proof(index, size).await?;
        times.push(t.elapsed());
        anyhow::ensure!(sen_trust::merkle::verify_inclusion(index, size, &leaf, &path, &root), "proof must verify");
    }
    times.sort();
    println!(
        "inclusion proof at {size} entries: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    store.close().await;
    if args.database_url.is_none() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    Ok(())
}
