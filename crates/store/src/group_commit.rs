//! Group commit for dossier submissions.
//!
//! A disk flush costs milliseconds; one commit per submission would cap throughput at the
//! disk's flush rate. Instead one writer task takes every submission waiting at that moment,
//! writes them all in one transaction (each inside a savepoint, so one bad submission does not
//! sink the others) and commits once. A submission is acknowledged only after that commit
//! returned, so with `synchronous=FULL` every acknowledged dossier is on disk.

use crate::dossiers::{NewDossier, Submitted, insert_submission};
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

async fn write_batch(db: &Db, batch: &[Job]) -> Vec<Result<Submitted>> {
    let fail_all = |e: &StoreError| {
        batch.iter().map(|_| Err(StoreError::Invalid(format!("the commit failed: {e}")))).collect::<Vec<_>>()
    };
    let mut tx = match db.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "group commit could not begin");
            return fail_all(&e);
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let r = async {
            tx.savepoint().await?;
            match insert_submission(&mut tx, &job.new).await {
                Ok(s) => {
                    tx.release_savepoint().await?;
                    Ok(s)
                }
                Err(e) => {
                    tx.rollback_to_savepoint().await?;
                    Err(e)
                }
            }
        }
        .await;
        results.push(r);
    }
    match tx.commit().await {
        Ok(()) => {
            tracing::debug!(size = batch.len(), "group commit");
            results
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            fail_all(&e)
        }
    }
}
