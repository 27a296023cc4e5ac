//! The gateway's message signer: natural batching (see [`sen_exchange::message`]).
//!
//! One task signs. It takes the first message waiting, lets the other tasks that are ready
//! run (those about to sign join the queue; again, a few times at most, while each turn
//! brings more), then signs everything waiting with one signature over their Merkle root. A
//! message that comes alone is signed at once and alone; under load a signature covers many
//! messages and costs each a few hashes.

use ed25519_dalek::SigningKey;
use sen_exchange::message;
use tokio::sync::{mpsc, oneshot};

/// Turns of the other tasks the signer waits for at most, while messages keep arriving.
const GATHER_TURNS: usize = 4;

struct Job {
    input: Vec<u8>,
    reply: oneshot::Sender<String>,
}

/// Signs messages in natural batches; cheap to share.
pub struct BatchSigner {
    jobs: mpsc::UnboundedSender<Job>,
    key: SigningKey,
}

impl BatchSigner {
    /// Starts the signing task (it ends when the signer is dropped).
    pub fn start(key: SigningKey) -> BatchSigner {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(key.clone(), rx));
        BatchSigner { jobs, key }
    }

    /// The signature of `input`, alone or in a batch.
    pub async fn sign(&self, input: &[u8]) -> String {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job { input: input.to_vec(), reply }).is_ok()
            && let Ok(signature) = answer.await
        {
            return signature;
        }
        // The task is gone (the runtime is stopping): sign here.
        message::sign(&self.key, input)
    }
}

async fn run(key: SigningKey, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(message::MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        // Let the tasks that are ready run first: those about to sign join this batch. While
        // each turn brings more (the gateway is busy), give them another, a few at most.
        for _ in 0..GATHER_TURNS {
            tokio::task::yield_now().await;
            let before = batch.len();
            while batch.len() < message::MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            if batch.len() == before || batch.len() == message::MAX_BATCH {
                break;
            }
        }
        let inputs: Vec<&[u8]> = batch.iter().map(|j| j.input.as_slice()).collect();
        let signatures = message::sign_batch(&key, &inputs);
        for (job, signature) in batch.drain(..).zip(signatures) {
            let _ = job.reply.send(signature);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sen_exchange::error::Origin;

    #[tokio::test(flavor = "current_thread")]
    async fn messages_waiting_together_share_a_signature_and_each_verifies() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let public = key.verifying_key();
        let signer = std::sync::Arc::new(BatchSigner::start(key));
        let inputs: Vec<Vec<u8>> = (0..20).map(|i| message::request_to_sign(&format!("h{i}"))).collect();
        let tasks: Vec<_> = inputs
            .iter()
            .map(|input| {
                let (signer, input) = (signer.clone(), input.clone());
                tokio::spawn(async move { signer.sign(&input).await })
            })
            .collect();
        let mut signatures = Vec::new();
        for t in tasks {
            signatures.push(t.await.unwrap());
        }
        for (input, s) in inputs.iter().zip(&signatures) {
            message::verify(&public, input, Some(s), Origin::ClientProxy).unwrap();
        }
        // They were ready together: batched (a batch signature is longer than a plain one).
        assert!(signatures.iter().all(|s| s.len() > 88), "{signatures:?}");
        // Alone, a message is signed alone.
        let alone = signer.sign(&inputs[0]).await;
        assert_eq!(alone, message::sign(&SigningKey::from_bytes(&[9; 32]), &inputs[0]));
    }
}
