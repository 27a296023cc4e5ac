//! Registry change events between nodes (issue #4).
//!
//! The store writes every change event into its transactional outbox in the transaction of
//! the change ([`sen_store::outbox`]). The [`Relay`] takes pending events in order and
//! hands each to
//! - the consumers running in the same process (one node), and
//! - NATS JetStream (several nodes), on subject `sen.events.<topic>`, with the event id as
//!   `Nats-Msg-Id` so that the stream drops a re-publication inside its duplicate window;
//!
//! and marks the events published only once every sink acknowledged them. A crash in between
//! publishes them again: delivery is at least once, and consumers are idempotent
//! ([`sen_store::Store::apply_event`] writes the consumer's effect and its `processed_events`
//! row in one transaction). [`consume`] runs a durable JetStream consumer for another node:
//! it acknowledges a message only after its effect is committed, so a consumer that dies
//! mid-way gets the message again.

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures_util::StreamExt;
use sen_store::Store;
use sen_store::outbox::{Applied, Event};
use std::time::Duration;

/// Where events travel on NATS: a JetStream stream and the subject prefix it captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `SEN_EVENTS` by default.
    pub stream: String,
    /// `sen.events` by default: subjects are `<prefix>.<topic>`.
    pub prefix: String,
}

impl Default for Names {
    fn default() -> Self {
        Names { stream: "SEN_EVENTS".into(), prefix: "sen.events".into() }
    }
}

impl Names {
    /// The subject an event of `topic` is published on.
    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }
}

/// A connection to JetStream with the names events use there.
#[derive(Clone)]
pub struct Bus {
    pub js: jetstream::Context,
    pub names: Names,
}
/// How long the stream remembers event ids to drop re-publications.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How many pending events one relay round takes.
pub const RELAY_BATCH: u64 = 200;
/// How long JetStream waits for a consumer's acknowledgement before delivering again.
pub const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("storage: {0}")]
    Store(#[from] sen_store::StoreError),
    #[error("NATS: {0}")]
    Nats(String),
}

fn nats(e: impl std::fmt::Display) -> EventsError {
    EventsError::Nats(e.to_string())
}

pub type Result<T> = std::result::Result<T, EventsError>;

/// Connects to NATS and makes sure the events stream exists.
pub async fn connect(url: &str, names: Names) -> Result<Bus> {
    let client = async_nats::ConnectOptions::new()
        .name("sen")
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(nats)?;
    let js = jetstream::new(client);
    js.get_or_create_stream(stream::Config {
        name: names.stream.clone(),
        subjects: vec![format!("{}.>", names.prefix)],
        duplicate_window: DUPLICATE_WINDOW,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(nats)?;
    Ok(Bus { js, names })
}

/// Moves events from a store's outbox to their consumers.
#[derive(Clone)]
pub struct Relay {
    store: Store,
    /// Consumers in this process, applied directly.
    local: Vec<String>,
    bus: Option<Bus>,
}

impl Relay {
    pub fn new(store: Store) -> Self {
        Relay { store, local: vec![], bus: None }
    }

    /// Also applies every event for `consumer` in this process.
    pub fn with_local_consumer(mut self, consumer: &str) -> Self {
        self.local.push(consumer.to_string());
        self
    }

    /// Also publishes every event on JetStream.
    pub fn with_jetstream(mut self, bus: Bus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// One round: publishes the pending events (at most [`RELAY_BATCH`]) in order and marks
    /// those every sink acknowledged. Returns how many were published. An event that a sink
    /// refuses stops the round there, so that order is kept; it is tried again next round.
    pub async fn publish_pending(&self) -> Result<usize> {
        let pending = self.store.outbox_pending(RELAY_BATCH).await?;
        let mut done = Vec::with_capacity(pending.len());
        let mut failure = None;
        for row in &pending {
            let event = row.event();
            match self.deliver(&event).await {
                Ok(_) => done.push(row.id),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        self.store.mark_published(&done, chrono::Utc::now()).await?;
        match failure {
            Some(e) if done.is_empty() => Err(e),
            Some(e) => {
                tracing::warn!(error = %e, "an event could not be published; it will be tried again");
                Ok(done.len())
            }
            None => Ok(done.len()),
        }
    }

    /// Hands one event to every sink. Returns whether JetStream had it already (a
    /// re-publication inside the duplicate window, which it dropped).
    pub async fn deliver(&self, event: &Event) -> Result<bool> {
        for consumer in &self.local {
            self.store.apply_event(consumer, event).await?;
        }
        match &self.bus {
            Some(bus) => publish(bus, event, &event.event_id).await,
            None => Ok(false),
        }
    }

    /// Runs rounds every `every` until `stop` turns true; a failed round is logged and
    /// retried.
    pub fn spawn(self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                loop {
                    match self.publish_pending().await {
                        Ok(n) if n as u64 == RELAY_BATCH => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "event relay round failed");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    return;
                }
            }
        })
    }
}

/// Publishes `event` with `message_id` as its `Nats-Msg-Id` and waits for the stream's
/// acknowledgement; true when the stream had that id already.
pub async fn publish(bus: &Bus, event: &Event, message_id: &str) -> Result<bool> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
    let body = serde_json::to_vec(event).expect("serialises");
    let ack = bus
        .js
        .publish_with_headers(bus.names.subject(&event.topic), headers, body.into())
        .await
        .map_err(nats)?
        .await
        .map_err(nats)?;
    Ok(ack.duplicate)
}

/// Runs the durable JetStream consumer `consumer` (its name on the stream is
/// `sen-<consumer>`), applying each event to `store` until `stop` turns true. A message is
/// acknowledged once its effect is committed; a failure asks for redelivery after a pause;
/// a message that is not an event is terminated (logged, never retried).
pub async fn consume(
    bus: &Bus,
    store: &Store,
    consumer: &str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<u64> {
    let stream = bus.js.get_stream(&bus.names.stream).await.map_err(nats)?;
    let name = format!("sen-{consumer}");
    let c = stream
        .get_or_create_consumer(
            &name,
            pull::Config {
                durable_name: Some(name.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                ..Default::default()
            },
        )
        .await
        .map_err(nats)?;
    let mut messages = c.messages().await.map_err(nats)?;
    let mut applied = 0;
    loop {
        let next = tokio::select! {
            m = messages.next() => m,
            _ = stop.changed() => None,
        };
        let Some(message) = next else { return Ok(applied) };
        let message = message.map_err(nats)?;
        let event: Event = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "not a Sen event: dropped");
                message.ack_with(AckKind::Term).await.map_err(nats)?;
                continue;
            }
        };
        match store.apply_event(consumer, &event).await {
            Ok(outcome) => {
                message.ack().await.map_err(nats)?;
                if outcome == Applied::Done {
                    applied += 1;
                }
            }
            Err(e) => {
                tracing::warn!(event = %event.event_id, error = %e, "event not applied; asked again");
                message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await.map_err(nats)?;
            }
        }
        if *stop.borrow() {
            return Ok(applied);
        }
    }
}
