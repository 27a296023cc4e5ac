//! Group commit for dossier submissions.
//!
//! A disk flush costs milliseconds; one commit per submission would cap throughput at the
//! disk's flush rate. Instead one writer task takes every submission waiting at that moment,
//! writes them all in one transaction and commits once (see [`write_batch`] for how one bad
//! submission is kept from sinking the others). A submission is acknowledged only after that commit
//! returned, so with `synchronous=FULL` every acknowledged dossier is on disk.

use crate::dossiers::{NewDossier, Submitted, insert_submissions};
use crate::exec::Db;
use crate::{Result, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

struct Job {
    new: NewDossier,
    reply: oneshot::Sender<Result<Submitted>>,
}

pub struct Submitter {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// How many submissions may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 8192;

impl Submitter {
    pub(crate) fn start(db: Db, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::spawn(writer(db, rx, max_batch.max(1)));
        Submitter { queue: Mutex::new(Some(tx)), task: Mutex::new(Some(task)) }
    }

    /// Queues a submission and waits until it is durably committed (or refused).
    pub async fn submit(&self, new: NewDossier) -> Result<Submitted> {
        let sender = self.queue.lock().await.clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender.send(Job { new, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops taking submissions and waits for the queued ones to be written.
    pub async fn close(&self) {
        self.queue.lock().await.take();
        if let Some(t) = self.task.lock().await.take() {
            let _ = t.await;
        }
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let results = write_batch(&db, &batch).await;
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Writes a batch in one transaction. An item that is refused before writing anything (a reused
/// idempotency key) is answered alone; an unexpected database error aborts the shared
/// transaction, and the batch is then written again one transaction per item, so one bad item
/// never sinks the others.
async fn write_batch(db: &Db, batch: &[Job]) -> Vec<Result<Submitted>> {
    match try_batch(db, batch).await {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "group commit failed; writing items one by one");
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                results.push(write_one(db, &job.new).await);
            }
            results
        }
    }
}

async fn try_batch(db: &Db, batch: &[Job]) -> Result<Vec<Result<Submitted>>> {
    let mut tx = db.begin_write().await?;
    let news: Vec<&NewDossier> = batch.iter().map(|j| &j.new).collect();
    // Refusals happen before anything is written: only a database error spoils the batch.
    let results = match insert_submissions(&mut tx, &news).await {
        Ok(results) => results,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    tx.commit().await?;
    tracing::debug!(size = batch.len(), "group commit");
    Ok(results)
}

async fn write_one(db: &Db, new: &NewDossier) -> Result<Submitted> {
    let mut tx = db.begin_write().await?;
    match insert_submissions(&mut tx, &[new]).await {
        Ok(mut results) => {
            let result = results.pop().unwrap_or(Err(StoreError::Invalid("no result".into())));
            if result.is_ok() {
                tx.commit().await?;
            } else {
                let _ = tx.rollback().await;
            }
            result
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}
