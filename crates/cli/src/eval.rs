//! `sen eval assistant FILE.jsonl`: the assistant's retrieval judged on questions with their
//! expected procedures (issue #5). Each line is `{"question": …, "expected": [names]}`; an empty
//! `expected` is a question the catalogue does not answer. Prints hit@1 (the first source is
//! expected), hit@3, the share of out-of-scope questions answered `grounded: false`, and the
//! latency percentiles. Runs on the demo catalogue, the one `sen demo` serves.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use sen_domain::assistant::Source;
use serde::Deserialize;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Judge the assistant's sources on a JSONL file of questions.
    Assistant {
        file: PathBuf,
        /// Print every miss.
        #[arg(long)]
        verbose: bool,
        /// Print the best match's score and coverage for every question (for tuning).
        #[arg(long)]
        scores: bool,
        /// A sentence-embedding model directory (config.json, vocab.txt, model.safetensors):
        /// judge the assistant with the re-ranker too, side by side.
        #[arg(long, env = "SEN_ASSISTANT_MODEL")]
        model: Option<PathBuf>,
        /// The re-ranker's weight (default: the one Sen uses).
        #[arg(long)]
        rerank_weight: Option<f64>,
    },
    /// Train the petition router on the demo corpus and judge it on held-out petitions:
    /// accuracy and macro-F1, on a random split and on problems never seen in training.
    Routing {
        /// Petitions per sector in the corpus.
        #[arg(long, default_value_t = 200)]
        per_sector: usize,
    },
    /// Train the delay-risk model on a seeded demo history and judge it on the newest fifth
    /// of the closed dossiers: AUC and Brier score, against the procedure's late rate alone.
    Delay {
        /// Dossiers of seeded history.
        #[arg(long, default_value_t = 6000)]
        dossiers: usize,
    },
    /// Train "people who did this also needed" on a seeded demo history and judge it on the
    /// newest fifth: for each applicant's first dossier after the cut, is its procedure among
    /// the first three suggested from their earlier dossiers (hit@3)? Against popularity.
    Recommend {
        /// Dossiers of seeded history.
        #[arg(long, default_value_t = 20000)]
        dossiers: usize,
        /// People in the seeded population (most apply once or twice in the period).
        #[arg(long, default_value_t = 20000)]
        citizens: usize,
    },
}

#[derive(Deserialize)]
struct Case {
    question: String,
    expected: Vec<String>,
}

pub async fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    let (file, verbose, scores, model, weight) = match cmd {
        EvalCommand::Assistant { file, verbose, scores, model, rerank_weight } => {
            (file, verbose, scores, model, rerank_weight)
        }
        EvalCommand::Routing { per_sector } => return routing(per_sector),
        EvalCommand::Delay { dossiers } => return delay(dossiers).await,
        EvalCommand::Recommend { dossiers, citizens } => return recommend(dossiers, citizens).await,
    };
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {} is not a question", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let catalogue = sen_demo::catalogue::procedures();
    let specs: Vec<(i64, &sen_domain::procedure::ProcedureSpec)> =
        catalogue.iter().enumerate().map(|(i, (p, _))| (i as i64, p)).collect();
    let mut assistant =
        sen_domain::assistant::Assistant::new(specs.iter().copied(), sen_domain::assistant::shipped_faqs());
    let names: Vec<&str> = catalogue.iter().map(|(p, _)| p.name.as_str()).collect();
    println!("{} questions on {} procedures and {} FAQs", cases.len(), catalogue.len(), assistant.faqs().len());
    judge("retrieval", &assistant, &names, &cases, None, verbose, scores);
    if let Some(dir) = model {
        let started = Instant::now();
        let embedder = sen_ai::embed::Embedder::load(&dir).with_context(|| format!("cannot load {}", dir.display()))?;
        let weight = weight.unwrap_or(sen_domain::assistant::RERANK_WEIGHT);
        assistant.set_vectors(sen_ai::embed::document_vectors(&embedder, &assistant, weight)?);
        println!("re-ranker loaded from {} in {:.1} s", dir.display(), started.elapsed().as_secs_f64());
        let embed = |q: &str| embedder.embed(&[q]).ok().and_then(|mut v| v.pop());
        judge(
            &format!("retrieval + re-ranker (weight {weight})"),
            &assistant,
            &names,
            &cases,
            Some(&embed),
            verbose,
            false,
        );
    }
    Ok(())
}

/// A question's embedding for the re-ranker.
type EmbedQuestion<'a> = dyn Fn(&str) -> Option<Vec<f32>> + 'a;

/// Judges the assistant's sources on `cases`, with the questions' embeddings if given.
fn judge(
    label: &str,
    assistant: &sen_domain::assistant::Assistant,
    names: &[&str],
    cases: &[Case],
    embed: Option<&EmbedQuestion>,
    verbose: bool,
    scores: bool,
) {
    // A source's name: the procedure's, or an FAQ's question (never an expected name).
    let name = |s: &Source| match s {
        Source::Procedure { id, .. } => names[*id as usize],
        Source::Faq { index, .. } => assistant.faqs()[*index].question.as_str(),
    };
    let (mut in_scope, mut hit1, mut hit3, mut out_scope, mut refused) = (0, 0, 0, 0, 0);
    let mut times = Vec::with_capacity(cases.len());
    for c in cases {
        let t = Instant::now();
        let vector = embed.and_then(|e| e(&c.question));
        let sources = assistant.answer_sources_with(&c.question, 3, vector.as_deref());
        times.push(t.elapsed());
        let got: Vec<&str> = sources.iter().map(name).collect();
        if scores {
            let e = assistant.explain(&c.question);
            println!("{:.2} {:.2} {:?}", e.map(|e| e.1).unwrap_or(0.0), e.map(|e| e.2).unwrap_or(0.0), c.question);
        }
        if c.expected.is_empty() {
            out_scope += 1;
            if got.is_empty() {
                refused += 1;
            } else if verbose {
                println!("answered out of scope: {:?} → {got:?}", c.question);
            }
            continue;
        }
        in_scope += 1;
        let first = got.first().is_some_and(|n| c.expected.iter().any(|e| e == n));
        let top3 = got.iter().any(|n| c.expected.iter().any(|e| e == n));
        hit1 += usize::from(first);
        hit3 += usize::from(top3);
        if verbose && !first {
            println!("miss: {:?} expected {:?} got {got:?}", c.question, c.expected);
        }
    }
    times.sort();
    let pct = |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).map(|d| d.as_secs_f64() * 1e3);
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!("{label}: {in_scope} in scope, {out_scope} out of scope");
    println!(
        "hit@1 {:.1}%  hit@3 {:.1}%  out of scope answered grounded=false {:.1}%",
        share(hit1, in_scope),
        share(hit3, in_scope),
        share(refused, out_scope)
    );
    println!(
        "latency p50 {:.3} ms  p99 {:.3} ms (retrieval{}, no LLM)",
        pct(0.5).unwrap_or(0.0),
        pct(0.99).unwrap_or(0.0),
        if embed.is_some() { ", the question's embedding and re-ranking" } else { "" }
    );
}

fn routing(per_sector: usize) -> anyhow::Result<()> {
    use sen_domain::routing::{Model, evaluate, split};
    let corpus = sen_demo::petitions::corpus(2026, per_sector.max(10));
    let (train, test) = split(&corpus, 5);
    let started = Instant::now();
    let model = Model::train(&train);
    let trained = started.elapsed();
    let e = evaluate(&model, &test);
    println!(
        "routing: {} sectors, trained on {} petitions in {:.1} ms; held out {} (every 5th)",
        model.labels().len(),
        train.len(),
        trained.as_secs_f64() * 1e3,
        e.examples
    );
    println!("  random split:   accuracy {:.1}%  macro-F1 {:.3}", e.accuracy * 100.0, e.macro_f1);
    let (train2, test2) = sen_demo::petitions::split_by_problem(2026, per_sector.max(10), 3);
    let e2 = evaluate(&Model::train(&train2), &test2);
    println!(
        "  unseen problems ({} petitions about problems absent from training): accuracy {:.1}%  macro-F1 {:.3}",
        e2.examples,
        e2.accuracy * 100.0,
        e2.macro_f1
    );
    for (label, (p, r, f1, n)) in &e2.per_label {
        println!("    {label:<50} P {p:.2}  R {r:.2}  F1 {f1:.2}  ({n})");
    }
    let started = Instant::now();
    for t in &test {
        std::hint::black_box(model.predict(&t.text));
    }
    println!("  {:.1} µs per petition routed", started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64);
    Ok(())
}

async fn recommend(dossiers: usize, citizens: usize) -> anyhow::Result<()> {
    use sen_domain::recommend::evaluate;
    let dir = std::env::temp_dir().join(format!("sen-eval-recommend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let store = sen_store::Store::connect(&sen_store::StoreConfig::sqlite_in(&dir)).await?;
    store.migrate().await?;
    let opts =
        sen_demo::SeedOptions { seed: 17, citizens, businesses: citizens / 20, dossiers, now: sen_demo::fixed_now() };
    sen_demo::seed(&store, &opts).await?;
    let rows = store.procedure_visits(chrono::DateTime::<chrono::Utc>::MIN_UTC, u64::MAX >> 1).await?;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let mut visits: Vec<_> = rows.iter().map(sen_web::recommend_http::visit).collect();
    visits.sort_by_key(|v| v.day);
    anyhow::ensure!(visits.len() >= 100, "too little history ({} dossiers)", visits.len());
    // Learn from the past, judge on the future: the newest fifth of the days is held out.
    let cut = visits[visits.len() * 4 / 5].day;
    let started = std::time::Instant::now();
    let (cases, hits, base) = evaluate(&visits, cut, 3);
    anyhow::ensure!(cases > 0, "no applicant has a dossier on both sides of the cut");
    println!("recommend: {} dossiers, judged on {} applicants' first dossier after the cut", visits.len(), cases);
    println!(
        "  hit@3 {:.1}%   (the three most asked-for services: {:.1}%)   {:.0} ms",
        hits as f64 * 100.0 / cases as f64,
        base as f64 * 100.0 / cases as f64,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

async fn delay(dossiers: usize) -> anyhow::Result<()> {
    use sen_domain::delay::{Case, Model, auc};
    let dir = std::env::temp_dir().join(format!("sen-eval-delay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let store = sen_store::Store::connect(&sen_store::StoreConfig::sqlite_in(&dir)).await?;
    store.migrate().await?;
    let opts = sen_demo::SeedOptions { seed: 11, citizens: 2000, businesses: 50, dossiers, now: sen_demo::fixed_now() };
    sen_demo::seed(&store, &opts).await?;
    let rows = store.delay_history(1_000_000).await?;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let cases: Vec<Case> = rows.iter().map(sen_web::delay_case).collect();
    anyhow::ensure!(cases.len() >= 50, "too little closed history ({} dossiers)", cases.len());
    // Learn from the past, judge on the future: the newest fifth is held out.
    let cut = cases.len() * 4 / 5;
    let (train, test) = cases.split_at(cut);
    let model = Model::train(train);
    let scored: Vec<(f64, bool)> = test.iter().map(|c| (model.risk(c), c.late)).collect();
    let brier = scored.iter().map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2)).sum::<f64>() / scored.len() as f64;
    // Baseline: the procedure's late rate in training.
    let mut rates: std::collections::HashMap<i64, (f64, f64)> = Default::default();
    for c in train {
        let r = rates.entry(c.procedure_id).or_default();
        r.0 += 1.0;
        r.1 += f64::from(u8::from(c.late));
    }
    let base: Vec<(f64, bool)> =
        test.iter().map(|c| (rates.get(&c.procedure_id).map(|r| r.1 / r.0).unwrap_or(0.0), c.late)).collect();
    let late = test.iter().filter(|c| c.late).count();
    println!("delay: trained on {} closed dossiers, judged on the newest {} ({} late)", train.len(), test.len(), late);
    println!(
        "  AUC {:.3}  Brier {:.3}   (procedure late rate alone: AUC {:.3})",
        auc(&scored).unwrap_or(f64::NAN),
        brier,
        auc(&base).unwrap_or(f64::NAN)
    );
    Ok(())
}
