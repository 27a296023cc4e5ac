//! A write-ahead journal in front of the database, for records that must be durable before
//! they are acknowledged, arrive by the thousand per second, and are read back later: an
//! exchange gateway's message records (issue #4).
//!
//! A database commit is an expensive way to make a few hundred bytes durable: on SQLite it
//! writes every page it touched (table, indexes, log leaves and tiles) and flushes; measured
//! here at 0.2–0.5 ms of CPU per commit, most of a gateway's cost per message. The journal
//! makes each batch durable with one write and one `fdatasync` of a file written in place
//! (~40 µs of CPU), acknowledges it, and an importer moves what was journaled into the
//! database in large transactions (every [`IMPORT_EVERY`], up to [`IMPORT_MAX`] records
//! each), where the same rows cost a fraction of what they cost a few at a time.
//!
//! Exactly once: the importer stores how far it got (`journal_positions`) in the transaction
//! that writes the records, so a crash before or after that commit imports each record once.
//! On opening, the records past that position are read back from the files and imported
//! before anything new is taken.
//!
//! # The files
//! Segments of [`SEGMENT_BYTES`] named by their index (`000000000000002a.journal`), created
//! full of zeros ahead of use, so that a flush never changes a file's size or layout (a flush
//! of data alone). A record is a frame: length (`u32`, little-endian), CRC-32 of the frame's
//! absolute offset, length and payload, then the payload (the record as JSON). A frame never
//! crosses a segment: the writer closes a full segment with an end frame and flushes it
//! before it writes to the next one. Reading back stops at the first frame that is not whole
//! and valid; since the CRC covers the offset, bytes left from another position can never
//! pass for a frame. After a crash the rest of the last segment is zeroed before writing
//! goes on, so nothing unacknowledged can be read back later.
//!
//! Two gateways never share a journal: a lock file is held while it is open.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, oneshot};

use crate::exec::Db;
use crate::group_commit::Batched;
use crate::{Result, StoreError};

/// Size of a segment file.
pub const SEGMENT_BYTES: u64 = 1 << 20;
/// The largest record a journal takes.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Records that may be journaled but not yet imported (or waiting to be journaled) before
/// new ones are refused: the bound on the journal's memory while the database is away.
pub const MAX_WAITING: usize = 100_000;
/// How often the importer moves journaled records into the database.
pub const IMPORT_EVERY: Duration = Duration::from_millis(200);
/// Records per import transaction, at most.
pub const IMPORT_MAX: usize = 2_000;
/// Records the writer takes into one flush, at most.
const WRITE_MAX: usize = 1_024;
/// Under load (the last flush carried several records), how long the writer waits for more
/// before it flushes: a flush costs about as much CPU as a hundred records' frames, so a
/// tenth of a millisecond more per record buys several times fewer flushes (PostgreSQL's
/// `commit_delay`, for the same reason). A record that comes alone is flushed at once.
const GATHER: Duration = Duration::from_micros(200);

const HEADER: usize = 8;
/// The end frame's length field.
const END: u32 = u32::MAX;
/// Room kept at the end of every segment for its end frame.
const END_ROOM: u64 = HEADER as u64;

fn crc(offset: u64, len: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&offset.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends the frame of `payload` at absolute `offset` to `buf`.
fn encode(offset: u64, payload: &[u8], buf: &mut Vec<u8>) {
    let len = payload.len() as u32;
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&crc(offset, len, payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

fn end_frame(offset: u64) -> [u8; HEADER] {
    let mut f = [0u8; HEADER];
    f[..4].copy_from_slice(&END.to_le_bytes());
    f[4..].copy_from_slice(&crc(offset, END, &[]).to_le_bytes());
    f
}

/// Whether a frame of `payload_len` bytes still fits in the segment at `offset`.
fn fits(offset: u64, payload_len: usize) -> bool {
    offset % SEGMENT_BYTES + (HEADER + payload_len) as u64 <= SEGMENT_BYTES - END_ROOM
}

/// How reading a segment back ended.
#[derive(Debug, PartialEq, Eq)]
enum SegmentEnd {
    /// A valid end frame: the writer went on in the next segment.
    Closed,
    /// No valid frame at `at` (zeros, a torn write or old bytes): writing stopped there.
    Open { at: u64 },
}

/// The frames of a segment (`bytes`, starting at absolute `base`) from absolute `from` on:
/// each payload with the offset just after it.
fn scan(bytes: &[u8], base: u64, from: u64) -> (Vec<(Vec<u8>, u64)>, SegmentEnd) {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let i = (at - base) as usize;
        let Some(head) = bytes.get(i..i + HEADER) else { return (out, SegmentEnd::Open { at }) };
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let sum = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if len == END {
            if sum == crc(at, END, &[]) {
                return (out, SegmentEnd::Closed);
            }
            return (out, SegmentEnd::Open { at });
        }
        let payload = match bytes.get(i + HEADER..i + HEADER + len as usize) {
            Some(p) if len > 0 && len as usize <= MAX_RECORD_BYTES && fits(at, len as usize) => p,
            _ => return (out, SegmentEnd::Open { at }),
        };
        if sum != crc(at, len, payload) {
            return (out, SegmentEnd::Open { at });
        }
        at += (HEADER + payload.len()) as u64;
        out.push((payload.to_vec(), at));
    }
}

fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:016x}.journal"))
}

/// The segment indexes present in `dir`, in order.
fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(hex) = name.strip_suffix(".journal")
            && let Ok(i) = u64::from_str_radix(hex, 16)
        {
            out.push(i);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates segment `index` full of zeros and flushed, under its final name only once whole.
fn create_segment(dir: &Path, index: u64) -> io::Result<File> {
    let tmp = dir.join(format!("{index:016x}.tmp"));
    let f = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&tmp)?;
    f.write_all_at(&vec![0u8; SEGMENT_BYTES as usize], 0)?;
    f.sync_all()?;
    std::fs::rename(&tmp, segment_path(dir, index))?;
    sync_dir(dir)?;
    Ok(f)
}

fn open_segment(dir: &Path, index: u64) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(segment_path(dir, index))
}

fn stopped() -> StoreError {
    StoreError::Journal("the journal's writer has stopped (a write failed); restart to go on".into())
}

fn journal_error(what: &str, e: io::Error) -> StoreError {
    StoreError::Journal(format!("{what}: {e}"))
}

struct Job<T> {
    payload: Vec<u8>,
    item: T,
    reply: oneshot::Sender<Result<()>>,
}

/// What the writer and the importer share.
struct Shared<T> {
    /// Journaled records not yet imported, each with the offset just after it.
    waiting: Mutex<VecDeque<(T, u64)>>,
    /// Records taken and not yet imported (or refused): bounded by [`MAX_WAITING`].
    in_flight: AtomicUsize,
    /// Wakes the importer early (many records waiting, a flush asked for, the writer gone).
    wake: Notify,
    /// The writer has stopped (the journal was dropped, or a write failed).
    stopped: AtomicBool,
    /// One import at a time (the periodic one, or a flush).
    importing: tokio::sync::Mutex<()>,
    db: Db,
    name: String,
    dir: PathBuf,
    /// Held until the writer and the importer have both stopped.
    _lock: File,
}

/// A journal of `T` records, imported into the database by `T`'s [`Batched`] insert.
pub struct Journal<T: Batched> {
    jobs: mpsc::Sender<Job<T>>,
    shared: Arc<Shared<T>>,
}

impl<T: Batched + Serialize + DeserializeOwned> Journal<T> {
    /// Opens (or creates) the journal in `dir`, known to the database as `name`: records left
    /// by an earlier run past the imported position are imported first; then a writer thread
    /// and an importer task start.
    pub(crate) async fn open(db: Db, dir: &Path, name: &str) -> Result<Journal<T>> {
        std::fs::create_dir_all(dir).map_err(|e| journal_error("cannot create the journal folder", e))?;
        let lock = take_lock(dir).await?;
        let position = stored_position(&db, name).await?;
        let dir2 = dir.to_path_buf();
        let recovered = tokio::task::spawn_blocking(move || recover(&dir2, position))
            .await
            .map_err(|e| StoreError::Journal(format!("recovery stopped: {e}")))?
            .map_err(|e| journal_error("cannot read the journal back", e))?;
        let shared = Arc::new(Shared {
            waiting: Mutex::new(VecDeque::new()),
            in_flight: AtomicUsize::new(0),
            wake: Notify::new(),
            stopped: AtomicBool::new(false),
            importing: tokio::sync::Mutex::new(()),
            db,
            name: name.to_string(),
            dir: dir.to_path_buf(),
            _lock: lock,
        });
        {
            let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
            for (payload, end) in &recovered.records {
                let item: T = serde_json::from_slice(payload)
                    .map_err(|e| StoreError::Journal(format!("a journaled record cannot be read: {e}")))?;
                waiting.push_back((item, *end));
            }
        }
        if !recovered.records.is_empty() {
            tracing::info!(
                records = recovered.records.len(),
                journal = name,
                "importing records journaled before a stop"
            );
        }
        shared.import_all().await?;
        let (jobs, rx) = mpsc::channel();
        let writer = Writer { dir: dir.to_path_buf(), file: recovered.file, at: recovered.at, next: None };
        let for_writer = shared.clone();
        std::thread::Builder::new()
            .name("sen-journal".into())
            .spawn(move || writer.run(rx, for_writer))
            .map_err(|e| journal_error("cannot start the journal's writer", e))?;
        tokio::spawn(importer(shared.clone()));
        Ok(Journal { jobs, shared })
    }

    /// Journals `item` and returns once it is on disk (it reaches the database later).
    pub async fn append(&self, item: T) -> Result<()> {
        let payload = serde_json::to_vec(&item).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if payload.len() > MAX_RECORD_BYTES {
            return Err(StoreError::Invalid(format!("a journal record is larger than {MAX_RECORD_BYTES} bytes")));
        }
        // Counted until imported: the bound on what may wait in memory.
        if self.shared.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Journal(format!("{MAX_WAITING} records wait for the database; refusing more")));
        }
        let (reply, answer) = oneshot::channel();
        let result = match self.jobs.send(Job { payload, item, reply }) {
            Ok(()) => answer.await.unwrap_or_else(|_| Err(stopped())),
            Err(_) => Err(stopped()),
        };
        if result.is_err() {
            self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        result
    }

    /// Returns once every record acknowledged before the call is in the database.
    pub async fn flush(&self) -> Result<()> {
        self.shared.import_all().await.map(|_| ())
    }

    /// Records journaled and not yet in the database.
    pub fn waiting(&self) -> usize {
        self.shared.waiting.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Takes the journal's lock file, waiting a while for a previous holder in this process
/// (a gateway being restarted) to let go.
async fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| journal_error("cannot open the journal's lock file", e))?;
    for _ in 0..100 {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(std::fs::TryLockError::Error(e)) => return Err(journal_error("cannot lock the journal", e)),
        }
    }
    Err(StoreError::Journal(format!("the journal in {} is in use by another process", dir.display())))
}

#[derive(sqlx::FromRow)]
struct PositionRow {
    position: i64,
}

async fn stored_position(db: &Db, name: &str) -> Result<u64> {
    let row: Option<PositionRow> = db
        .fetch_optional(
            &Query::select()
                .column("position")
                .from("journal_positions")
                .and_where(Expr::col("name").eq(name))
                .to_owned(),
        )
        .await?;
    Ok(row.map(|r| r.position as u64).unwrap_or(0))
}

/// What was read back on opening, and where writing goes on.
struct Recovered {
    records: Vec<(Vec<u8>, u64)>,
    file: File,
    at: u64,
}

/// Reads back the records from `position` on, drops the segments before it and after the
/// last one written, and zeroes the rest of the last one.
fn recover(dir: &Path, position: u64) -> io::Result<Recovered> {
    let present = segments(dir)?;
    let first = position / SEGMENT_BYTES;
    for &i in present.iter().filter(|&&i| i < first) {
        std::fs::remove_file(segment_path(dir, i))?;
    }
    let mut records = Vec::new();
    let (mut index, mut from) = (first, position);
    let at = loop {
        if !present.contains(&index) {
            // Nothing was ever written here (or it was imported and removed): start afresh.
            break from;
        }
        let mut bytes = Vec::with_capacity(SEGMENT_BYTES as usize);
        File::open(segment_path(dir, index))?.read_to_end(&mut bytes)?;
        let (found, end) = scan(&bytes, index * SEGMENT_BYTES, from);
        records.extend(found);
        match end {
            SegmentEnd::Closed => {
                index += 1;
                from = index * SEGMENT_BYTES;
            }
            SegmentEnd::Open { at } => break at,
        }
    };
    let current = at / SEGMENT_BYTES;
    for &i in present.iter().filter(|&&i| i > current) {
        std::fs::remove_file(segment_path(dir, i))?;
    }
    let file = if present.contains(&current) {
        let f = open_segment(dir, current)?;
        let rest = (SEGMENT_BYTES - at % SEGMENT_BYTES) as usize;
        f.write_all_at(&vec![0u8; rest], at % SEGMENT_BYTES)?;
        f.sync_data()?;
        f
    } else {
        create_segment(dir, current)?
    };
    Ok(Recovered { records, file, at })
}

/// The writer thread: takes every record waiting, writes their frames, flushes, answers.
struct Writer {
    dir: PathBuf,
    file: File,
    /// Absolute offset of the next frame.
    at: u64,
    /// The next segment, being created.
    next: Option<std::thread::JoinHandle<io::Result<File>>>,
}

impl Writer {
    fn run<T: Batched>(mut self, rx: mpsc::Receiver<Job<T>>, shared: Arc<Shared<T>>) {
        self.prepare_next();
        let mut batch: Vec<Job<T>> = Vec::with_capacity(WRITE_MAX);
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut ends = Vec::with_capacity(WRITE_MAX);
        let mut last_batch = 0;
        while let Ok(first) = rx.recv() {
            batch.push(first);
            if last_batch > 1 {
                // Asleep rather than waiting on the queue: one wake-up for the whole batch,
                // not one per record.
                std::thread::sleep(GATHER);
            }
            while batch.len() < WRITE_MAX {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            last_batch = batch.len();
            ends.clear();
            let written = self.write(&batch, &mut buf, &mut ends);
            match written {
                Ok(()) => {
                    let mut waiting = shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
                    for (job, end) in batch.drain(..).zip(&ends) {
                        waiting.push_back((job.item, *end));
                        let _ = job.reply.send(Ok(()));
                    }
                    if waiting.len() >= IMPORT_MAX {
                        shared.wake.notify_one();
                    }
                }
                Err(e) => {
                    // After a failed flush the file's state is unknown: stop taking records.
                    tracing::error!(error = %e, "the journal could not be written; refusing records until restarted");
                    for job in batch.drain(..) {
                        let _ = job.reply.send(Err(journal_error("the journal could not be written", e.kind().into())));
                    }
                    break;
                }
            }
        }
        shared.stopped.store(true, Ordering::SeqCst);
        shared.wake.notify_one();
    }

    fn prepare_next(&mut self) {
        let (dir, index) = (self.dir.clone(), self.at / SEGMENT_BYTES + 1);
        self.next = Some(std::thread::spawn(move || create_segment(&dir, index)));
    }

    /// Writes the batch's frames (closing and flushing a full segment on the way) and
    /// flushes; `ends` gets each record's end offset.
    fn write<T>(&mut self, batch: &[Job<T>], buf: &mut Vec<u8>, ends: &mut Vec<u64>) -> io::Result<()> {
        buf.clear();
        let mut start = self.at;
        for job in batch {
            if !fits(self.at, job.payload.len()) {
                buf.extend_from_slice(&end_frame(self.at));
                self.file.write_all_at(buf, start % SEGMENT_BYTES)?;
                // The full segment is on disk before anything goes to the next one.
                self.file.sync_data()?;
                buf.clear();
                let next = self.next.take().map(|h| h.join());
                self.file = match next {
                    Some(Ok(Ok(f))) => f,
                    _ => create_segment(&self.dir, self.at / SEGMENT_BYTES + 1)?,
                };
                self.at = (self.at / SEGMENT_BYTES + 1) * SEGMENT_BYTES;
                start = self.at;
                self.prepare_next();
            }
            encode(self.at, &job.payload, buf);
            self.at += (HEADER + job.payload.len()) as u64;
            ends.push(self.at);
        }
        self.file.write_all_at(buf, start % SEGMENT_BYTES)?;
        self.file.sync_data()
    }
}

impl<T: Batched> Shared<T> {
    /// Imports everything waiting now, [`IMPORT_MAX`] records per transaction. Returns how
    /// many records were imported.
    async fn import_all(&self) -> Result<usize> {
        let _turn = self.importing.lock().await;
        let mut total = 0;
        loop {
            let batch: Vec<(T, u64)> = {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                let n = waiting.len().min(IMPORT_MAX);
                waiting.drain(..n).collect()
            };
            let Some(&(_, end)) = batch.last() else { return Ok(total) };
            if let Err(e) = self.import(&batch, end).await {
                // Put them back, in order, for the next try.
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                for item in batch.into_iter().rev() {
                    waiting.push_front(item);
                }
                return Err(e);
            }
            total += batch.len();
            // Records read back on opening were never counted in.
            let _ = self
                .in_flight
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(batch.len())));
            self.remove_imported(end);
        }
    }

    async fn import(&self, batch: &[(T, u64)], end: u64) -> Result<()> {
        let items: Vec<&T> = batch.iter().map(|(t, _)| t).collect();
        let mut tx = self.db.begin_write().await?;
        for (i, r) in T::insert(&mut tx, &items).await?.into_iter().enumerate() {
            if let Err(e) = r {
                tracing::error!(error = %e, journal = %self.name, record = i, "a journaled record was refused by the database");
            }
        }
        tx.execute(
            &Query::insert()
                .into_table("journal_positions")
                .columns(["name", "position"])
                .values_panic([self.name.clone().into(), (end as i64).into()])
                .on_conflict(OnConflict::column("name").update_column("position").to_owned())
                .to_owned(),
        )
        .await?;
        tx.commit().await
    }

    /// Removes the segments wholly imported.
    fn remove_imported(&self, position: u64) {
        let first_kept = position / SEGMENT_BYTES;
        let Ok(present) = segments(&self.dir) else { return };
        for i in present.into_iter().take_while(|&i| i < first_kept) {
            if let Err(e) = std::fs::remove_file(segment_path(&self.dir, i)) {
                tracing::warn!(error = %e, segment = i, "an imported journal segment could not be removed");
            }
        }
    }
}

/// Imports every [`IMPORT_EVERY`], or sooner when many records wait; ends after the writer,
/// once nothing waits.
async fn importer<T: Batched>(shared: Arc<Shared<T>>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(IMPORT_EVERY) => {}
            _ = shared.wake.notified() => {}
        }
        let stopped = shared.stopped.load(Ordering::SeqCst);
        if let Err(e) = shared.import_all().await {
            tracing::warn!(error = %e, journal = %shared.name, "journal import failed; retrying");
            if stopped {
                // The records stay in the files; the next opening imports them.
                return;
            }
            tokio::time::sleep(IMPORT_EVERY).await;
            continue;
        }
        if stopped {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(start: u64, payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut seg = vec![0u8; SEGMENT_BYTES as usize];
        let mut buf = Vec::new();
        let mut at = start;
        for p in payloads {
            encode(at, p, &mut buf);
            at += (HEADER + p.len()) as u64;
        }
        let i = (start % SEGMENT_BYTES) as usize;
        seg[i..i + buf.len()].copy_from_slice(&buf);
        seg
    }

    #[test]
    fn frames_are_read_back_in_order_up_to_the_first_gap() {
        let payloads = vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()];
        let seg = frames(0, &payloads);
        let (found, end) = scan(&seg, 0, 0);
        assert_eq!(found.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), payloads);
        assert_eq!(found[0].1, 11);
        assert_eq!(end, SegmentEnd::Open { at: 11 + 11 + 13 });
        // From a later position: only what follows.
        let (found, _) = scan(&seg, 0, 11);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn a_frame_moved_to_another_offset_is_not_a_frame() {
        // The same bytes, written for offset 0, found at offset 100 of the next segment.
        let mut seg = vec![0u8; SEGMENT_BYTES as usize];
        let mut buf = Vec::new();
        encode(0, b"stale", &mut buf);
        seg[100..100 + buf.len()].copy_from_slice(&buf);
        let base = SEGMENT_BYTES;
        let (found, end) = scan(&seg, base, base + 100);
        assert!(found.is_empty());
        assert_eq!(end, SegmentEnd::Open { at: base + 100 });
    }

    #[test]
    fn a_closed_segment_says_so() {
        let mut seg = frames(0, &[b"a".to_vec()]);
        seg[9..9 + HEADER].copy_from_slice(&end_frame(9));
        assert_eq!(scan(&seg, 0, 0).1, SegmentEnd::Closed);
        // An end frame written for another offset does not close it.
        seg[9..9 + HEADER].copy_from_slice(&end_frame(10));
        assert_eq!(scan(&seg, 0, 0).1, SegmentEnd::Open { at: 9 });
    }

    fn temp_dir(what: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("sen-journal-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_segment(dir: &Path, index: u64, bytes: &[u8]) {
        std::fs::write(segment_path(dir, index), bytes).unwrap();
    }

    #[test]
    fn recovery_reads_whole_frames_across_segments_and_zeroes_a_torn_tail() {
        let dir = temp_dir("recover");
        // Segment 0: imported long ago. Segment 1: two records, closed. Segment 2: one
        // record, then a torn frame. Segment 3: created ahead, never written.
        write_segment(&dir, 0, &frames(0, &[b"old".to_vec()]));
        let base1 = SEGMENT_BYTES;
        let mut seg1 = frames(base1, &[b"first".to_vec(), b"second".to_vec()]);
        let end1 = HEADER + 5 + HEADER + 6;
        seg1[end1..end1 + HEADER].copy_from_slice(&end_frame(base1 + end1 as u64));
        write_segment(&dir, 1, &seg1);
        let base2 = 2 * SEGMENT_BYTES;
        let mut seg2 = frames(base2, &[b"third".to_vec()]);
        let torn = HEADER + 5;
        let mut tail = Vec::new();
        encode(base2 + torn as u64, b"unacknowledged", &mut tail);
        seg2[torn..torn + 10].copy_from_slice(&tail[..10]);
        write_segment(&dir, 2, &seg2);
        write_segment(&dir, 3, &vec![0u8; SEGMENT_BYTES as usize]);

        let r = recover(&dir, base1).unwrap();
        let payloads: Vec<&[u8]> = r.records.iter().map(|(p, _)| p.as_slice()).collect();
        assert_eq!(payloads, [b"first".as_slice(), b"second", b"third"]);
        assert_eq!(r.records.last().unwrap().1, base2 + torn as u64);
        assert_eq!(r.at, base2 + torn as u64);
        // Segment 0 was imported, segment 3 was never written: both gone.
        assert_eq!(segments(&dir).unwrap(), vec![1, 2]);
        // The torn bytes are zeroed: nothing unacknowledged can be read back later.
        let seg2 = std::fs::read(segment_path(&dir, 2)).unwrap();
        assert!(seg2[torn..].iter().all(|b| *b == 0));
        // Reading back again from the end finds nothing more.
        let r = recover(&dir, base2 + torn as u64).unwrap();
        assert!(r.records.is_empty());
        assert_eq!(segments(&dir).unwrap(), vec![2]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fresh_journal_starts_at_zero_with_a_segment_ready() {
        let dir = temp_dir("fresh");
        let r = recover(&dir, 0).unwrap();
        assert!(r.records.is_empty());
        assert_eq!(r.at, 0);
        assert_eq!(segments(&dir).unwrap(), vec![0]);
        assert_eq!(std::fs::metadata(segment_path(&dir, 0)).unwrap().len(), SEGMENT_BYTES);
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest! {
        /// Whatever a crash leaves of the last write (any prefix of it, any byte of it
        /// damaged), reading back yields exactly the frames written whole before the damage.
        #[test]
        fn reading_back_stops_exactly_at_damage(
            lens in proptest::collection::vec(1usize..300, 1..40),
            cut in 0usize..20_000,
            flip in proptest::option::of(0usize..20_000),
        ) {
            let payloads: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, n)| vec![i as u8 + 1; *n]).collect();
            let mut seg = frames(0, &payloads);
            let total: usize = payloads.iter().map(|p| p.len() + HEADER).sum();
            let cut = cut.min(total);
            seg[cut..total].iter_mut().for_each(|b| *b = 0);
            let damaged = flip.filter(|&f| f < cut);
            if let Some(f) = damaged {
                seg[f] ^= 0x5a;
            }
            let limit = damaged.unwrap_or(cut);
            let (found, _) = scan(&seg, 0, 0);
            // Every frame ending at or before the first damaged byte, and no other.
            let mut at = 0;
            let mut whole = 0;
            for p in &payloads {
                if at + HEADER + p.len() <= limit { whole += 1; at += HEADER + p.len(); } else { break; }
            }
            prop_assert_eq!(found.len(), whole);
            for (f, p) in found.iter().zip(&payloads) {
                prop_assert_eq!(&f.0, p);
            }
        }
    }
}
