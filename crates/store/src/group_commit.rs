//! Group commit: many writers, one durable commit.
//!
//! A disk flush costs milliseconds; one commit per item would cap throughput at the disk's
//! flush rate. Instead one writer task takes every item waiting at that moment, writes them
//! all in one transaction and commits once (see [`write_batch`] for how one bad item is kept
//! from sinking the others). An item is acknowledged only after that commit returned, so
//! with `synchronous=FULL` every acknowledged item is on disk. Dossier submissions and the
//! exchange gateways' message records go through it.

use std::future::Future;

use crate::exec::{Db, Tx};
use crate::{Result, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Something written in groups: how a batch of them goes into one transaction.
pub trait Batched: Send + Sync + 'static {
    type Out: Send + 'static;
    /// Writes `items` in `tx`; a refusal of one item is its own `Err`, a database error the
    /// outer one (and then the batch is written again one item at a time).
    fn insert<'a>(
        tx: &'a mut Tx,
        items: &'a [&'a Self],
    ) -> impl Future<Output = Result<Vec<Result<Self::Out>>>> + Send + 'a;
}

struct Job<T: Batched> {
    item: T,
    reply: oneshot::Sender<Result<T::Out>>,
}

pub(crate) struct GroupCommit<T: Batched> {
    queue: Mutex<Option<mpsc::Sender<Job<T>>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// How many items may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 8192;

impl<T: Batched> GroupCommit<T> {
    pub(crate) fn start(db: Db, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::spawn(writer(db, rx, max_batch.max(1)));
        GroupCommit { queue: Mutex::new(Some(tx)), task: Mutex::new(Some(task)) }
    }

    /// Queues an item and waits until it is durably committed (or refused).
    pub(crate) async fn submit(&self, item: T) -> Result<T::Out> {
        let sender = self.queue.lock().await.clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender.send(Job { item, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops taking items and waits for the queued ones to be written.
    pub(crate) async fn close(&self) {
        self.queue.lock().await.take();
        if let Some(t) = self.task.lock().await.take() {
            let _ = t.await;
        }
    }
}

async fn writer<T: Batched>(db: Db, mut rx: mpsc::Receiver<Job<T>>, max_batch: usize) {
    let mut batch: Vec<Job<T>> = Vec::with_capacity(max_batch);
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
async fn write_batch<T: Batched>(db: &Db, batch: &[Job<T>]) -> Vec<Result<T::Out>> {
    let items: Vec<&T> = batch.iter().map(|j| &j.item).collect();
    match try_batch(db, &items).await {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "group commit failed; writing items one by one");
            let mut results = Vec::with_capacity(batch.len());
            for item in items {
                results.push(write_one(db, item).await);
            }
            results
        }
    }
}

async fn try_batch<T: Batched>(db: &Db, items: &[&T]) -> Result<Vec<Result<T::Out>>> {
    let mut tx = db.begin_write().await?;
    // Refusals happen before anything is written: only a database error spoils the batch.
    let results = match T::insert(&mut tx, items).await {
        Ok(results) => results,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    tx.commit().await?;
    tracing::debug!(size = items.len(), "group commit");
    Ok(results)
}

async fn write_one<T: Batched>(db: &Db, item: &T) -> Result<T::Out> {
    let mut tx = db.begin_write().await?;
    match T::insert(&mut tx, &[item]).await {
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
